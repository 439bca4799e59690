"""What every `adgen train <model>` does around the model's own steps: choose the run dir (the
torchrun rule included) and describe a dry run with the parameter count of every network.

Model-agnostic (it imports no model): adgen/models/cli.py calls it with what a model declares, so a
new model brings only its own train steps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from adgen.errors import UserError


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


def dry_run(model: str, networks: dict[str, Any], options: Any, run_dir: Path | None) -> dict[str, Any]:
    """What `--dry-run` prints: the resolved options and the parameter count of every network."""
    return {
        "model": model,
        "run_dir": str(run_dir) if run_dir else None,
        "parameters": parameter_counts(networks),
        "options": options.model_dump(mode="json"),
    }
