"""What every `adgen train <model>` does around the model's own steps: choose the run dir (the
torchrun rule included), print a dry run with the parameter count of every network, report the result.

Model-agnostic: it gets the model's declaration (adgen/models/registry.py `ModelSpec`) as an
argument, so a new model brings only its own train steps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adgen.errors import UserError

if TYPE_CHECKING:
    from adgen.models.registry import ModelSpec, TrainJob


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def choose_run_dir(model_root: Path, description: str, run_dir: Path | None) -> Path:
    """`run_dir` as given (a new run or one to resume), else a new numbered `<model_root>/NNNNN-<description>`.

    Under torchrun every rank must write to one run dir, and each rank would number its own: there
    `--run-dir` is required.
    """
    if run_dir is not None:
        return Path(run_dir)
    if world_size() > 1:
        raise UserError("under torchrun pass --run-dir, so that every rank writes to the same run dir")
    from adgen.training import rundir

    return rundir.next_run_dir(model_root, description)


def parameter_counts(networks: dict[str, Any]) -> dict[str, int]:
    """{"G": 1234, ...}: the number of parameters of each network (sub-networks as named)."""
    return {name: sum(p.numel() for p in net.parameters()) for name, net in networks.items()}


def dry_run(spec: ModelSpec, options: Any, run_dir: Path | None) -> dict[str, Any]:
    """What `--dry-run` prints: the resolved options and the parameter count of every network."""
    return {
        "model": spec.name,
        "run_dir": str(run_dir) if run_dir else None,
        "parameters": parameter_counts(dict(spec.networks(options))),
        "options": options.model_dump(mode="json"),
    }


def train(spec: ModelSpec, params: Any, options: Any, run_dir: Path | None) -> Any:
    """Preflight, run dir, train: one-line errors come before any run dir is made."""
    from adgen.models.registry import TrainJob

    models_root = params.path(params.paths.models) / spec.name
    metrics_dir = params.path(params.paths.metrics)
    if spec.preflight is not None:  # no run dir yet: the one given, else the model's root
        spec.preflight(TrainJob(params, options, Path(run_dir) if run_dir else models_root, metrics_dir))
    chosen = choose_run_dir(models_root, spec.run_name(options), run_dir)
    job: TrainJob = TrainJob(params, options, chosen, metrics_dir)
    result = spec.train(job)
    checkpoint = getattr(result, "checkpoint", None)
    if is_main_process() and checkpoint is not None:
        print(f"{spec.label}: run dir {chosen}\ncheckpoint: {checkpoint}")
    return result
