"""The base every params section derives from: unknown keys are errors, not silent typos."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


S = TypeVar("S", bound=Section)


def apply_preset(params: S, presets: dict[str, dict[str, Any]], preset: str | None, label: str) -> S:
    """A model's named preset, overlaid by every key set explicitly in `params`.

    `preset` (e.g. from `--preset`) replaces `params.preset`. Shared by every trainer so that
    `train.<model>.<key>` in params.yaml means the same thing for all of them.
    """
    from adgen.errors import UserError

    name = preset or params.preset
    if name not in presets:
        raise UserError(f"unknown {label} preset {name!r}; choose one of: {', '.join(presets)}")
    explicit = {k: getattr(params, k) for k in params.model_fields_set if k != "preset"}
    return type(params).model_validate({**presets[name], **explicit, "preset": name})
