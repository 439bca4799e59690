"""Numbered run directories (`00003-stgan-exp2`), as in NVlabs' training code.

A run dir holds the resolved options, `log.txt`, `stats.jsonl`, samples and checkpoints, so any
result can be traced back to its exact configuration.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adgen import atomic

_NUMBERED = re.compile(r"^(\d{5})-")


def next_run_dir(root: str | Path, desc: str) -> Path:
    """Create and return `<root>/<NNNNN>-<desc>` with the next free number."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(1)) for p in root.iterdir() if (m := _NUMBERED.match(p.name))]
    n = max(taken, default=-1) + 1
    while True:
        run = root / f"{n:05d}-{desc}"
        try:
            run.mkdir()
            return run
        except FileExistsError:  # another process took it
            n += 1


# What a trainer leaves in a run dir: ST-GAN also keeps one file per finished warp.
CHECKPOINT_GLOBS = ("checkpoint-*.pt", "warp-*.pt")


def _checkpoints_in(run: Path) -> bool:
    return any(next(run.rglob(pattern), None) is not None for pattern in CHECKPOINT_GLOBS)


def existing(*paths: Path) -> set[Path]:
    """The given paths and their parents that exist now (what a failed start must not remove)."""
    return {q for p in paths for q in (Path(p), *Path(p).parents) if q.exists()}


@contextlib.contextmanager
def removed_on_failure(run: Path, existed: set[Path]) -> Iterator[None]:
    """Run a training (or `adgen generate`) writing into `run`; if it fails before writing any
    checkpoint, remove `run` and the empty directories above it that were made for it (those not in
    `existed`), so a failed start leaves no run dir holding only `training_options.json` and a failed
    generate no output dir holding only `bag.png`. A run dir with a checkpoint stays: it resumes."""
    try:
        yield
    except BaseException:
        run = Path(run)
        if run not in existed and run.is_dir() and not _checkpoints_in(run):
            shutil.rmtree(run, ignore_errors=True)
            for parent in run.parents:  # the model root made for this run, if now empty
                if parent in existed or not parent.is_dir() or any(parent.iterdir()):
                    break
                parent.rmdir()
        raise


def newest_run(model_root: str | Path, globs: tuple[str, ...] = CHECKPOINT_GLOBS) -> Path | None:
    """The run dir under `model_root` holding the most recently written checkpoint, or None.

    Any run dir counts, numbered (`00003-…`) or named (the DVC stage's `dvc`), so a model trained by
    `dvc repro` is found as readily as one trained by hand.
    """
    model_root = Path(model_root)
    if not model_root.is_dir():
        return None
    best: tuple[float, Path] | None = None
    for run in model_root.iterdir():
        if not run.is_dir():
            continue
        for pattern in globs:
            for ckpt in run.glob(pattern):
                mtime = ckpt.stat().st_mtime
                if best is None or mtime > best[0]:
                    best = (mtime, run)
    return best[1] if best else None


def portable(options: Any, root: Path | None) -> Any:
    """`options` with every absolute path inside the project `root` written relative to it, so a
    run's training_options.json still matches after the workspace is moved or copied (paths
    outside the project stay absolute; `root` None changes nothing)."""
    if root is None:
        return options
    if isinstance(options, dict):
        return {k: portable(v, root) for k, v in options.items()}
    if isinstance(options, list):
        return [portable(v, root) for v in options]
    if isinstance(options, str) and options.startswith("/"):
        base, path = Path(root).resolve(), Path(options)
        if path == base or base in path.parents:
            return path.relative_to(base).as_posix() or "."
    return options


def write_options(run_dir: Path, options: dict[str, Any]) -> None:
    atomic.write_json(run_dir / "training_options.json", options)


def read_options(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "training_options.json").read_text())


class RunLog:
    """`log.txt` (human) and `stats.jsonl` (machine) of a run; each line flushed as written.

    On resume, stats past the resumed step are dropped so the file reads as one clean run.
    """

    def __init__(self, run_dir: Path, echo: bool = True):
        self.run_dir = Path(run_dir)
        self.echo = echo

    def info(self, message: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
        with open(self.run_dir / "log.txt", "a") as fh:
            fh.write(line + "\n")
        if self.echo:
            print(line, flush=True)

    def stats(self, record: dict[str, Any]) -> None:
        with open(self.run_dir / "stats.jsonl", "a") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")

    def read_stats(self) -> list[dict[str, Any]]:
        """Every record; a line cut short by a kill (the last one, half written) is left out."""
        path = self.run_dir / "stats.jsonl"
        if not path.exists():
            return []
        records = []
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records

    def truncate_stats(self, key: str, upto: int) -> None:
        """Keep only records with record[key] <= upto (after a resume from step `upto`); a line cut
        short by a kill is dropped too."""
        kept = [r for r in self.read_stats() if r.get(key, 0) <= upto]
        atomic.write_text(
            self.run_dir / "stats.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept)
        )
