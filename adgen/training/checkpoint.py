"""Checkpoints that resume exactly, even after kill -9, and that never run code when loaded.

A checkpoint is one file written atomically (temp + fsync + rename), holding the step, every model
and optimizer state, the grad scaler, and all RNG states (python, numpy, torch CPU/CUDA), plus any
extra state a trainer needs (e.g. ST-GAN's history buffer). `latest` finds the newest file;
`newest_valid` the newest one that loads, saying which damaged ones it passed over.

`read` is the project's one `torch.load`: `weights_only=True`, so a file holds tensors, numbers,
strings and plain containers only (RNG states are stored as such; nothing is registered as safe),
and a crafted pickle is refused with one line instead of running its payload. A file that is cut
short or not a torch file at all is a `DamagedCheckpoint`; one holding other Python objects is an
`UnsafeCheckpoint`, never loaded and never skipped silently.
"""

from __future__ import annotations

import pickle
import random
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adgen import atomic
from adgen.errors import UserError

_CKPT = re.compile(r"^checkpoint-(\d+)\.pt$")


class DamagedCheckpoint(UserError):
    """Cut short (a kill during a copy), empty, or not a torch file: an older one may stand in."""


class UnsafeCheckpoint(UserError):
    """Holds Python objects beyond tensors/numbers/strings/containers: refused, never executed."""


def rng_state() -> dict[str, Any]:
    """Every RNG state as tensors, ints, floats and strings (loadable with weights_only=True)."""
    version, mt, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": {"version": int(version), "state": torch.tensor(mt, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    py, npy = state["python"], state["numpy"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    np.random.set_state(
        (
            npy["name"],
            npy["keys"].numpy().astype(np.uint32),
            npy["pos"],
            npy["has_gauss"],
            npy["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def step_seed(seed: int, rank: int, step: int) -> int:
    """A 64-bit seed for one rank's one step. Drawing a step's randomness from it makes the step a
    pure function of (seed, rank, step): under DDP only rank 0 writes checkpoints, so RNG states
    restored from one would give every rank rank 0's streams after a resume."""
    key = np.random.SeedSequence([seed, rank, step]).generate_state(2)
    return int(key[0]) << 32 | int(key[1])


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


def read(
    path: str | Path, what: str = "checkpoint", map_location: str | torch.device = "cpu", mmap: bool = False
) -> Any:
    """The one `torch.load` of the project: weights only, every failure one line naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path} not found")
    try:
        with warnings.catch_warnings():  # "pickle protocol 4" notes from crafted files: the error says it all
            warnings.simplefilter("ignore")
            try:
                return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
            except RuntimeError as exc:
                if not (mmap and "mmap can only be used" in str(exc)):
                    raise
                # a legacy (pre-zip) torch file cannot be memory-mapped: read it whole
                return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [line.strip() for line in str(exc).splitlines()]
        detail = next((ln for ln in lines if "GLOBAL" in ln or "Unsupported" in ln), "")
        if "weights only load failed" in str(exc).lower():
            raise UnsafeCheckpoint(
                f"{what} {path} holds more than tensors, numbers and strings "
                f"({detail[:100] or 'refused by the weights-only loader'}); it was not loaded: "
                "use checkpoints written by adgen or official weight files only (docs/security.md)"
            ) from None
        raise DamagedCheckpoint(f"{what} {path} is damaged ({_one_line(exc)})") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise DamagedCheckpoint(f"{what} {path} is damaged or not a torch file ({_one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:120]}" if text else type(exc).__name__


def load(
    path: str | Path,
    map_location: str | torch.device = "cpu",
    restore_rng: bool = True,
    what: str = "checkpoint",
) -> dict[str, Any]:
    state = read(path, what, map_location)
    if not isinstance(state, dict):
        raise DamagedCheckpoint(f"{what} {path} holds a {type(state).__name__}, not a checkpoint")
    if restore_rng and "rng" in state:
        set_rng_state(state["rng"])
    return state


def newest_valid_path(run_dir: str | Path, what: str = "checkpoint") -> Path | None:
    """The newest checkpoint of `run_dir` that loads, checked cheaply (memory-mapped, no tensor read);
    damaged newer ones are passed over with a warning line, as in `newest_valid`."""
    for path in reversed(list_checkpoints(run_dir)):
        try:
            state = read(path, what, mmap=True)
            if not isinstance(state, dict):
                raise DamagedCheckpoint(f"{what} {path} holds a {type(state).__name__}, not a checkpoint")
        except DamagedCheckpoint as exc:
            print(f"adgen: warning: {exc}; trying the previous checkpoint", file=sys.stderr)
            continue
        return path
    return None


def newest_valid(
    run_dir: str | Path,
    map_location: str | torch.device = "cpu",
    restore_rng: bool = True,
    what: str = "checkpoint",
    accept: Any = None,
) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint of `run_dir` that loads (path, state), or None when there is none.

    A damaged newer one (cut short by a kill during a copy, a full disk) is passed over with one
    warning line on stderr; an unsafe one stops everything (`UnsafeCheckpoint`). `accept(state)`
    may refuse a state that loads but is not what the caller needs (raise `DamagedCheckpoint`).
    """
    for path in reversed(list_checkpoints(run_dir)):
        try:
            state = load(path, map_location, restore_rng=False, what=what)
            if accept is not None:
                accept(path, state)
        except DamagedCheckpoint as exc:
            print(f"adgen: warning: {exc}; trying the previous checkpoint", file=sys.stderr)
            continue
        if restore_rng and "rng" in state:
            set_rng_state(state["rng"])
        return path, state
    return None


def load_weights(module: torch.nn.Module, state: Any, where: str) -> None:
    """`module.load_state_dict(state)` with a mismatch said in one line (a checkpoint of another
    model or configuration), instead of torch's many-line key listing."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{where}: holds no weights for this network (a checkpoint of another model?)")
    expected = module.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = [f"{len(missing)} missing (e.g. {missing[0]})"] if missing else []
        parts += [f"{len(unexpected)} unexpected (e.g. {unexpected[0]})"] if unexpected else []
        raise UserError(
            f"{where}: weights do not match this network: {', '.join(parts)} (a checkpoint of another model?)"
        )
    for key, value in state.items():
        if expected[key].shape != value.shape:
            raise UserError(
                f"{where}: {key} has shape {tuple(value.shape)}, the network needs {tuple(expected[key].shape)} "
                "(a checkpoint of another configuration?)"
            )
    module.load_state_dict(state, strict=True)


def params_from(model: Any, saved: Any, where: str) -> Any:
    """Validate the params stored in a checkpoint with the model's params class, one line if they don't fit."""
    from pydantic import ValidationError

    if not isinstance(saved, dict):
        raise UserError(f"{where}: holds no params (a checkpoint of another model?)")
    try:
        return model.model_validate(saved)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise UserError(
            f"{where}: its params do not fit this model ({loc}: {first['msg']}); a checkpoint of another model?"
        ) from None
