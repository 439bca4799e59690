"""The base every params section derives from: unknown keys are errors, not silent typos, and no
number is absurd whatever its field says.

Every float must be finite (`.inf` / `.nan` are YAML floats, and NaN passes every `ge`/`le` check)
and every int must fit in a double (|n| < 2**53; no count, size or seed in a params file comes
near it, and a bigger one makes loops and shapes that hang or crash far from the file). Each field
adds its own range on top (`Field(ge=…, le=…)`); `tests/hostile/test_bounds.py` walks them all.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

# Where torch runs, as params and --device take it; adgen.training.dist.resolve_device turns it into
# the device of this machine (auto: a GPU when there is one) and refuses a GPU that is not here.
DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?)$"
Device = Annotated[str, StringConstraints(pattern=DEVICE_PATTERN)]

# The largest int a params value may have (in absolute value): 2**53 - 1, the largest a float holds exactly.
MAX_INT = 2**53 - 1


def _sane(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise ValueError(f"at most {MAX_INT} in absolute value")
    if isinstance(value, list | tuple):
        for item in value:
            _sane(item)
    return value


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_absurd_int(cls, value: Any) -> Any:
        return _sane(value)


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
