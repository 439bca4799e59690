"""Issue 27, case 11 (bounds everywhere): every number in params.yaml is refused at load, in one line
naming it, when it is not finite, negative where that means nothing, or out of its range.

Before the fix `train.stylegan2.r1_gamma: .inf`, `train.dpig.seed: -1` and
`train.sfgan.adam_betas_app: [-1, 5]` were accepted and training died with a traceback after
making a run dir. The walk below is generic: it finds every int/float field (and every list or
tuple of them) of every section the loaded params type has, the models' `train.<name>` sections
and any section added later included, so a new knob without bounds fails here.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import adgen  # noqa: F401 - the composition root plugs the models' sections into the params type
from adgen import config
from adgen.errors import UserError

from .conftest import adgen as run_adgen
from .conftest import error_line, write_params

# Fields where a negative number means something, with the reason. Everything else refuses -1.
NEGATIVE_MEANS_SOMETHING: dict[str, str] = {}

# A valid entry for each mapping of sections (name -> section) whose section has required keys.
MAPPING_EXAMPLES: dict[str, dict[str, Any]] = {
    "SiteParams": {"spider": "123rf"},
}

# Numbers a seed can be: NumPy's generators take 0 … 2**32 - 1.
SEED_MAX = 2**32 - 1


def _args(annotation: Any) -> tuple[Any, ...]:
    """The members of `X | None` / `Optional[X]` (or the annotation alone), `Annotated` unwrapped."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _args(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(a for a in typing.get_args(annotation) if a is not type(None))
    return (annotation,)


def _number_kind(annotation: Any) -> str | None:
    for arg in _args(annotation):
        if arg is bool:
            return None
        if arg in (int, float):
            return arg.__name__
    return None


def _sequence_kinds(annotation: Any) -> list[str] | None:
    """For list[int] / tuple[float, float] / tuple[int, ...]: the element kinds (one, if any length)."""
    for arg in _args(annotation):
        origin = typing.get_origin(arg)
        if origin not in (list, tuple):
            continue
        kinds = [_number_kind(a) for a in typing.get_args(arg) if a is not Ellipsis]
        if kinds and all(kinds):
            return kinds
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for arg in _args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _mapping_model(annotation: Any) -> type[BaseModel] | None:
    for arg in _args(annotation):
        if typing.get_origin(arg) is dict:
            return _model_of(typing.get_args(arg)[1])
    return None


def numeric_fields(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """(key path, annotation, default) of every number (or list of numbers) below `model`."""
    for name, field in model.model_fields.items():
        path = (*prefix, name)
        annotation = field.annotation
        if (sub := _model_of(annotation)) is not None:
            yield from numeric_fields(sub, path)
        elif (sub := _mapping_model(annotation)) is not None:
            assert sub.__name__ in MAPPING_EXAMPLES or not any(
                f.is_required() for f in sub.model_fields.values()
            ), f"{'.'.join(path)}: add an example {sub.__name__} entry to MAPPING_EXAMPLES"
            yield from numeric_fields(sub, (*path, "example"))
        elif _number_kind(annotation) or _sequence_kinds(annotation):
            yield path, annotation, field.get_default(call_default_factory=True)


def _data(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A params mapping setting only `path` to `value` (with an example entry inside mappings)."""
    data: dict[str, Any] = {}
    node = data
    model: type[BaseModel] = config.params_type()
    for key in path[:-1]:
        if key == "example":
            node[key] = dict(MAPPING_EXAMPLES.get(model.__name__, {}))
        else:
            node[key] = {}
            annotation = model.model_fields[key].annotation
            model = _model_of(annotation) or _mapping_model(annotation)  # type: ignore[assignment]
        node = node[key]
    node[path[-1]] = value
    return data


def _bad_values(path: tuple[str, ...], annotation: Any, default: Any) -> list[tuple[str, Any]]:
    """(what, value) pairs the field must refuse."""
    key = ".".join(path)
    kind = _number_kind(annotation)
    if kind is not None:
        bad: list[tuple[str, Any]] = []
        if kind == "float":
            bad += [("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf)]
        else:
            bad += [("inf", math.inf), ("huge", 10**40), ("2**53", 2**53)]
        if key not in NEGATIVE_MEANS_SOMETHING:
            bad.append(("negative", -1))
        if path[-1] == "seed" or path[-1].endswith("_seed"):
            bad.append(("over 2**32-1", SEED_MAX + 1))
        return bad
    kinds = _sequence_kinds(annotation)
    length = len(default) if isinstance(default, list | tuple) and default else max(len(kinds), 2)
    good = list(default) if isinstance(default, list | tuple) and default else [1] * length
    bad = []
    for i in range(length):
        element_kind = kinds[min(i, len(kinds) - 1)]
        for what, value in ([("nan", math.nan), ("inf", math.inf)] if element_kind == "float" else []) + [
            ("negative", -1)
        ]:
            if what == "negative" and key in NEGATIVE_MEANS_SOMETHING:
                continue
            bad.append((f"[{i}] {what}", [*good[:i], value, *good[i + 1 :]]))
    return bad


CASES = [
    (".".join(path), what, _data(path, value))
    for path, annotation, default in numeric_fields(config.params_type())
    for what, value in _bad_values(path, annotation, default)
]


def test_the_walk_finds_every_models_section_and_stage() -> None:
    keys = {case[0] for case in CASES}
    for section in ("train.stylegan2.", "train.dpig.", "train.sfgan.", "train.stgan.", "train.gfla.",
                    "crawl.", "detect.", "strip.", "datasets.", "review.", "generate."):  # fmt: skip
        assert any(k.startswith(section) for k in keys), section
    assert {"train.stylegan2.r1_gamma", "train.dpig.seed", "train.sfgan.adam_betas_app"} <= keys


@pytest.mark.parametrize(("key", "what", "data"), CASES, ids=[f"{k} {w}" for k, w, _ in CASES])
def test_every_number_out_of_its_bounds_is_refused_at_load_in_one_line(
    key: str, what: str, data: dict
) -> None:
    with pytest.raises(UserError) as refused:
        config.from_dict(data, source="params.yaml")
    message = str(refused.value)
    assert "\n" not in message and len(message) < 400, message
    assert f"params.yaml: {key}" in message, message


BETAS_OUT_OF_RANGE = [[-1, 5], [0.5, 5], [0.5, 1.0], [1.0, 0.9]]


@pytest.mark.parametrize("betas", BETAS_OUT_OF_RANGE, ids=str)
def test_adam_betas_outside_0_1_are_refused(betas: list[float]) -> None:
    fields = [path for path, _, _ in numeric_fields(config.params_type()) if "betas" in path[-1]]
    assert len(fields) >= 2  # train.stgan.adam_betas, train.sfgan.adam_betas_app
    for path in fields:
        with pytest.raises(UserError, match=".".join(path)):
            config.from_dict(_data(path, betas), source="params.yaml")


ISSUE_CASES = [
    ("train.stylegan2.r1_gamma", "stylegan2", {"r1_gamma": math.inf}),
    ("train.dpig.seed", "dpig", {"seed": -1}),
    ("train.sfgan.adam_betas_app", "sfgan", {"adam_betas_app": [-1, 5]}),
]


@pytest.mark.parametrize(("key", "model", "section"), ISSUE_CASES, ids=[k for k, _, _ in ISSUE_CASES])
def test_the_issue_s_bad_values_stop_training_before_a_run_dir_is_made(
    key: str, model: str, section: dict, tmp_path: Path
) -> None:
    write_params(tmp_path, {"paths": {"models": "models"}, "train": {model: {"preset": "demo", **section}}})
    line = error_line(run_adgen("train", model, cwd=tmp_path))
    assert key in line
    assert not (tmp_path / "models").exists()
