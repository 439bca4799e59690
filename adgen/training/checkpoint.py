"""Checkpoints that resume exactly, even after kill -9.

A checkpoint is one file written atomically (temp + rename), holding the step, every model and
optimizer state, the grad scaler, and all RNG states (python, numpy, torch CPU/CUDA), plus any
extra state a trainer needs (e.g. ST-GAN's history buffer). `latest` finds the newest complete one.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adgen import atomic

_CKPT = re.compile(r"^checkpoint-(\d+)\.pt$")


def rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def save(path: str | Path, state: dict[str, Any], keep: int | None = None) -> Path:
    """Write `state` (with RNG states added) atomically; optionally keep only the newest `keep`."""
    path = Path(path)
    state = dict(state)
    state.setdefault("rng", rng_state())
    with atomic.atomic_path(path) as tmp:
        torch.save(state, tmp)
    if keep is not None:
        for old in list_checkpoints(path.parent)[:-keep]:
            old.unlink(missing_ok=True)
    return path


def path_for(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / f"checkpoint-{step:09d}.pt"


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in run_dir.iterdir() if (m := _CKPT.match(p.name))]
    return [p for _, p in sorted(found)]


def latest(run_dir: str | Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def load(
    path: str | Path, map_location: str | torch.device = "cpu", restore_rng: bool = True
) -> dict[str, Any]:
    state = torch.load(path, map_location=map_location, weights_only=False)
    if restore_rng and "rng" in state:
        set_rng_state(state["rng"])
    return state
