"""One declaration per model: everything the rest of the project needs to know about a generator.

Each model package `adgen/models/<name>/` holds a `spec.py` with `SPEC = ModelSpec(...)`. The CLI
(`adgen train NAME`, `adgen sample NAME`, `--dry-run`), the `train.<name>` params section, the report's
model panels and the DVC/Prefect consistency test are all derived from these declarations, so adding
a model is one folder and touches no core file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TrainJob:
    """What a model's train entry gets: options resolved, run dir chosen, outputs located."""

    params: Any  # the whole validated Params (paths, metrics weights, datasets)
    options: Any  # train.<name>: the preset applied, path options resolved against the project root
    run_dir: Path
    metrics_dir: Path


@dataclass(frozen=True)
class ModelSpec:
    """A model as the project sees it. Names derive from `name`: CLI `adgen train <name>`, params
    `train.<name>`, DVC stage `train_<name>`, Prefect deployment `train-<name>/gpu`, metrics
    `<paths.metrics>/<name>.json` and `<name>_loss.csv`."""

    name: str
    summary: str  # one line: --help and the report panel's heading
    params_section: type  # the pydantic Section class of train.<name>; it has a `preset` field
    presets: Mapping[str, Mapping[str, Any]]  # preset name -> values (params.yaml keys win over them)
    networks: Callable[[Any], Mapping[str, Any]]  # options -> {"G": module, ...}, for --dry-run counts
    train: Callable[[TrainJob], Any]  # trains or resumes; returns an object with `.checkpoint`
    run_name: Callable[[Any], str]  # options -> run dir description, e.g. "dcgan-64x64-demo"
    loss_columns: tuple[str, ...]  # columns of <name>_loss.csv: DVC plots and the report's curves
    path_options: tuple[str, ...] = ()  # option keys holding paths, resolved against the project root
    preflight: Callable[[TrainJob], None] | None = None  # one-line UserError before a run dir exists
    sample_command: Callable[..., None] | None = None  # typer command: `adgen sample <name>`
    extra_commands: Callable[[Any], None] | None = None  # register(groups) for model-specific commands
    sample_globs: tuple[str, ...] = ("samples/*.png", "*.png")  # report: newest match = sample grid
    phase_column: str | None = None  # a stats column marking phases (report markers), e.g. "stage"
    extras: Mapping[str, Any] = field(default_factory=dict)


def _discover() -> dict[str, ModelSpec]:
    import adgen.models as pkg

    found: dict[str, ModelSpec] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(f"adgen.models.{info.name}.spec")
        except ModuleNotFoundError as exc:
            if exc.name == f"adgen.models.{info.name}.spec":
                continue
            raise
        spec = module.SPEC
        if spec.name != info.name:
            raise RuntimeError(f"adgen/models/{info.name}/spec.py declares name {spec.name!r}")
        found[spec.name] = spec
    return found


_MODELS: dict[str, ModelSpec] | None = None


def models() -> dict[str, ModelSpec]:
    """Every declared model, by name (sorted), discovered once from `adgen/models/*/spec.py`."""
    global _MODELS
    if _MODELS is None:
        _MODELS = _discover()
    return _MODELS


def get(name: str) -> ModelSpec:
    from adgen.errors import UserError

    found = models()
    if name not in found:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(found)}")
    return found[name]
