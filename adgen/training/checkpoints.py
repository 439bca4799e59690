"""Which checkpoint a command uses: "a file or a run dir" turned into one checkpoint file, written once.

`adgen generate`, `adgen sample`, `adgen evaluate compare` and every model's loader take a checkpoint
the same way: a file as given; a run dir stands for its newest checkpoint that loads (a damaged newer
one is passed over with a warning); nothing given, the newest run under `<paths.models>/<model>`. A
model whose run dir keeps finished files besides the periodic ones (ST-GAN's `warp-<k>.pt`, the state
at the end of each warp) names their pattern in `finals`: the newest that loads wins over
`checkpoint-*.pt`. Every refusal is one line naming the path and the command that trains one.

`find` and `resolve` only locate (a run dir's files are checked memory-mapped, no tensor is read);
`load` also reads the state and refuses another model's checkpoint (`CheckpointKind.check`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adgen.errors import UserError
from adgen.training import checkpoint, rundir


def _trained_by(kind: Any) -> str:
    return f"`adgen train {kind.model}`"


def _newest_final(run_dir: Path, finals: Sequence[str], label: str) -> Path | None:
    """The newest of the run dir's finished files (numbered `<name>-<k>.pt`) that loads."""

    def number(p: Path) -> int:
        tail = p.stem.rsplit("-", 1)[-1]
        return int(tail) if tail.isdigit() else -1

    found = sorted({p for pattern in finals for p in run_dir.glob(pattern)}, key=number)
    for path in reversed(found):
        try:
            checkpoint.read(path, label, mmap=True)
        except checkpoint.DamagedCheckpoint as exc:
            print(f"adgen: warning: {exc}; trying the previous checkpoint", file=sys.stderr)
            continue
        return path
    return None


def in_run_dir(run_dir: Path | str, kind: Any, finals: Sequence[str] = ()) -> Path | None:
    """The checkpoint a run dir stands for: its newest finished file (`finals`) that loads, else its
    newest `checkpoint-*.pt` that loads; None when it holds none."""
    run_dir = Path(run_dir)
    return _newest_final(run_dir, finals, kind.label) or checkpoint.newest_valid_path(run_dir, kind.label)


def find(path: Path | str, kind: Any, finals: Sequence[str] = (), setting: str | None = None) -> Path:
    """`path` as a checkpoint file, or the one its run dir stands for; a one-line UserError (prefixed
    with `setting`, the params key or option that named it) when there is none."""
    path = Path(path)
    where = f"{setting}: " if setting else ""
    if path.is_dir():
        found = in_run_dir(path, kind, finals)
        if found is None:
            raise UserError(
                f"{where}{path}: no {kind.label} in this run dir (no checkpoint-*.pt that loads; "
                f"train one with {_trained_by(kind)})"
            )
        return found
    if not path.is_file():
        raise UserError(
            f"{where}{path}: {kind.label} not found (train one with {_trained_by(kind)} or fix the path)"
        )
    return path


def resolve(
    explicit: Path | str | None,
    models_root: Path | str,
    kind: Any,
    finals: Sequence[str] = (),
    setting: str | None = None,
) -> Path:
    """`explicit` (a file or run dir, see `find`), or when None the checkpoint of the run under
    `<models_root>/<kind.model>` that wrote a checkpoint last (numbered or DVC's `dvc`)."""
    if explicit is not None:
        return find(explicit, kind, finals, setting)
    root = Path(models_root) / kind.model
    run = rundir.newest_run(root, ("checkpoint-*.pt", *finals))
    if run is None:
        hint = f" or set {setting}" if setting else ""
        raise UserError(f"no trained {kind.model} under {root}: train one with {_trained_by(kind)}{hint}")
    return find(run, kind, finals, setting)


def load(
    path: Path | str, kind: Any, device: Any = "cpu", finals: Sequence[str] = ()
) -> tuple[Path, dict[str, Any]]:
    """A checkpoint to sample from (`find`), read weights-only and checked to be `kind`'s: (file, state).
    RNG untouched."""
    path = find(path, kind, finals)
    try:
        state = checkpoint.load(path, map_location=device, restore_rng=False, what=kind.label)
    except (checkpoint.DamagedCheckpoint, checkpoint.UnsafeCheckpoint) as exc:
        raise UserError(f"{path}: not a readable checkpoint: {exc}") from None
    kind.check(path, state)
    return path, state
