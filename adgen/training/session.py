"""The parts of a training run the one loop (adgen/training/loop.py) is made of, written once.

The loop drives a model's `Trainer` through these; a model's `train.py` meets them only in its
`build(session)` (`write_options`, `require_same_options`, `say`) and its hooks (`on_main`,
`stats`, `records`). A `Session` is one run dir on this process's rank:

- the run dir: the runtime (device, AMP, DDP), `log.txt` / `stats.jsonl`, `training_options.json`;
- resume: the newest valid checkpoint, refused in one line when it is another model's or another
  network's (`CheckpointKind`), stats past it dropped, the "resumed from …" line;
- the DDP rank rule, here and nowhere else: every rank calls every method; only rank 0 writes
  checkpoints, stats, log lines, sample grids and metrics;
- the final checkpoint, the metrics json / info / loss csv, and the process group's end.

`Tick` keeps a tick's loss sums in the checkpoint (a resumed tick averages the same), `Schedule`
says when periodic work is due in the trainer's own unit; a checkpoint to sample from is read by
adgen.training.checkpoints.load.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adgen.errors import UserError
from adgen.training import checkpoint, dist, rundir


@dataclass(frozen=True)
class CheckpointKind:
    """How a model's checkpoints are recognised: `mark` (key, value) in new ones, else `keys` they
    all hold; `architecture` params keys that must match to resume; `what` as messages say it."""

    model: str  # the registry name: `adgen train <model>`
    what: str  # "a DCGAN checkpoint", "an SF-GAN checkpoint"
    mark: tuple[str, str] | None = None  # ("model", "dcgan"), ("format", "adgen-stgan/1")
    keys: tuple[str, ...] = ()  # held by every checkpoint of this model (the older ones carry no mark)
    architecture: tuple[str, ...] = ()  # params keys fixing the network shapes

    @property
    def label(self) -> str:
        """`what` without its article ("DCGAN checkpoint"), as checkpoint messages name the file."""
        return self.what.split(" ", 1)[1]

    def check(self, path: Path, state: Any) -> None:
        """One line naming the model a foreign checkpoint is from, when it is not this model's."""
        if isinstance(state, dict):
            if self.mark is not None and state.get(self.mark[0]) == self.mark[1]:
                return
            if self.keys and all(k in state for k in self.keys) and owner(state) is None:
                return
        other = owner(state) if isinstance(state, dict) else None
        from_ = f": a {other} checkpoint" if other else ""
        raise UserError(f"{path}: not {self.what}{from_}, expected one from `adgen train {self.model}`")

    def check_same_network(self, saved: Any, params: Any, run_dir: Path) -> None:
        """Resuming with another network shape would fail deep in load_state_dict: say it in one line."""
        saved = saved if isinstance(saved, dict) else {}
        now = params.model_dump(mode="json")
        for key in self.architecture:
            if key in saved and saved[key] != now[key]:
                raise UserError(
                    f"{run_dir}: this run was trained with {key}={saved[key]}, params say {now[key]}; "
                    "resume with the same settings or start a new run dir"
                )


def owner(state: Mapping[str, Any]) -> str | None:
    """The model a checkpoint says it is from ("model": "dcgan", or "format": "adgen-stgan/1")."""
    model, fmt = state.get("model"), state.get("format")
    if isinstance(model, str):
        return model
    if isinstance(fmt, str) and fmt.startswith("adgen-"):
        return fmt.removeprefix("adgen-").split("/")[0]
    return None


def crossed(before: float, after: float, every: float) -> bool:
    """Did a step from `before` to `after` pass a multiple of `every` (0: never)?"""
    return every > 0 and math.floor(after / every) > math.floor(before / every)


@dataclass(frozen=True)
class Schedule:
    """When periodic work is due, in the model's own unit: every `every[what]` units, and at each of
    `ends` (the run's end, a phase's end), where everything is due."""

    every: Mapping[str, float]
    ends: Sequence[float]

    def at_end(self, before: float, after: float) -> bool:
        return any(before < end <= after for end in self.ends)

    def due(self, what: str, before: float, after: float) -> bool:
        return self.at_end(before, after) or crossed(before, after, self.every[what])


class Tick:
    """Sums of a tick's stats, kept in checkpoints so that a resumed tick averages the same.

    `start_key` names where the tick started in the checkpoint ("start_step", "start_nimg").
    """

    def __init__(self, start_key: str, state: Mapping[str, Any] | None = None):
        state = state or {}
        self.start_key = start_key
        self.sums: dict[str, float] = dict(state.get("sums", {}))
        if "counts" in state:
            self.counts: dict[str, int] = dict(state["counts"])
        else:  # one count for every stat (DCGAN's checkpoints before this module)
            self.counts = dict.fromkeys(self.sums, int(state.get("count", 0)))
        self.start: float = state.get(start_key, 0)
        self.started = time.time()  # wall clock: not kept (a resumed tick times from the resume)

    def add(self, values: Mapping[str, float]) -> None:
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
            self.counts[k] = self.counts.get(k, 0) + 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums}

    def close(self, at: float) -> tuple[dict[str, float], float, float]:
        """(means, seconds, units) of the tick ending at `at`; the next tick starts there."""
        now = time.time()
        result = self.means(), now - self.started, at - self.start
        self.sums, self.counts, self.start, self.started = {}, {}, at, now
        return result

    def state(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "counts": dict(self.counts), self.start_key: self.start}


class Session:
    """One training run in `run_dir` on this process's rank; see the module doc for what it owns."""

    def __init__(self, run_dir: Path, runtime: dist.Runtime, echo: bool = True):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.rt = runtime
        self.log = rundir.RunLog(self.run_dir, echo=echo and runtime.is_main)

    @classmethod
    @contextlib.contextmanager
    def open(
        cls,
        run_dir: Path,
        device: str = "auto",
        amp: bool = True,
        cpu_bf16: bool = False,
        echo: bool = True,
    ) -> Iterator[Session]:
        """Set up the runtime (joining the process group under torchrun); leave it at the end."""
        runtime = dist.setup(device, amp, cpu_bf16)
        try:
            yield cls(run_dir, runtime, echo)
        finally:
            dist.teardown()

    @property
    def is_main(self) -> bool:
        return self.rt.is_main

    # --- the run dir --------------------------------------------------------------------------
    def write_options(self, options: Mapping[str, Any]) -> None:
        """training_options.json, once: a resumed run keeps the one it started with."""
        if self.is_main and not (self.run_dir / "training_options.json").exists():
            rundir.write_options(self.run_dir, dict(options))

    def require_same_options(self, params: Any, root: Path | None = None) -> None:
        """Refuse to resume a run that was started with other params (training_options.json).

        With the project `root`, paths are compared relative to it (`rundir.portable`, as the
        options are written), so a moved or copied workspace resumes its runs."""
        path = self.run_dir / "training_options.json"
        old = rundir.read_options(self.run_dir) if path.exists() else None
        if old is not None and rundir.portable(old["params"], root) != rundir.portable(
            params.model_dump(mode="json"), root
        ):
            raise UserError(
                f"{self.run_dir}: holds a run with different params; resume with the same params or pick a new --run-dir"
            )

    def say(self, message: str) -> None:
        """A log.txt line (and stdout when echoing), written by rank 0."""
        if self.is_main:
            self.log.info(message)

    def stats(self, record: Mapping[str, Any]) -> None:
        """A stats.jsonl record, written by rank 0."""
        if self.is_main:
            self.log.stats(dict(record))

    def records(self) -> list[dict[str, Any]]:
        """Every stats.jsonl record (rank 0; the others did not write them and get none)."""
        return self.log.read_stats() if self.is_main else []

    def on_main(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`write(...)` on rank 0 only (sample grids, sheets): its result there, None elsewhere."""
        return write(*args, **kwargs) if self.is_main else None

    @contextlib.contextmanager
    def progress(self, label: str, total: float, done: float = 0) -> Iterator[Callable[[float], None]]:
        """The project's progress bar; yields `show(done)`."""
        from adgen.progress import bar

        with bar() as shown:
            task = shown.add_task(label, total=total, completed=done)
            yield lambda now: shown.update(task, completed=now)

    # --- resume -------------------------------------------------------------------------------
    def newest_checkpoint(
        self, kind: CheckpointKind, params: Any = None, map_location: Any = None
    ) -> tuple[Path, dict[str, Any]] | None:
        """The newest checkpoint of the run dir that loads (damaged newer ones passed over with a
        warning), checked to be `kind`'s and, with `params`, of the same network; RNG untouched."""
        found = checkpoint.newest_valid(
            self.run_dir,
            map_location=self.rt.device if map_location is None else map_location,
            restore_rng=False,
            what=kind.label,
        )
        if found is None:
            return None
        path, state = found
        kind.check(path, state)
        if params is not None:
            kind.check_same_network(state.get("params"), params, self.run_dir)
        return path, state

    def resumed(
        self,
        path: Path,
        state: Mapping[str, Any],
        at: int,
        where: str,
        rng: bool = True,
        key: str = "step",
    ) -> None:
        """After the model loaded `state`: its RNG states back (`rng`), stats records whose `key`
        ("step", "iteration") is past `at` dropped, and the "resumed from <file> at <where>" line."""
        if rng and "rng" in state:
            checkpoint.set_rng_state(state["rng"])
        if self.is_main:
            self.log.truncate_stats(key, at)
        self.say(f"resumed from {path.name} at {where}")

    # --- checkpoints and outputs --------------------------------------------------------------
    def save(self, step: int, state: Mapping[str, Any], keep: int | None = None) -> Path | None:
        """checkpoint-<step>.pt, written by rank 0 (its path there, None on the other ranks): another
        rank's BatchNorm statistics and RNG streams are its own and would break an exact resume."""
        if not self.is_main:
            return None
        return checkpoint.save(checkpoint.path_for(self.run_dir, step), dict(state), keep=keep)

    def final_checkpoint(self, last: Path | None, step: int, state: Callable[[], Mapping[str, Any]]) -> Path:
        """The run's final checkpoint: `last` saved, else (a run already finished before this call,
        or a rank > 0) the one of `step`, written by rank 0 from `state()` when missing."""
        if last is not None and self.is_main:
            return last
        path = checkpoint.path_for(self.run_dir, step)
        if self.is_main and not path.is_file():
            checkpoint.save(path, dict(state()))
        return path

    def write_outputs(
        self,
        metrics_dir: Path | str | None,
        name: str,
        values: Mapping[str, Any],
        records: Sequence[Mapping[str, Any]] = (),
        loss_columns: Sequence[str] = (),
        step_key: str = "step",
    ) -> dict[str, Path] | None:
        """`<name>.json`, `.info.json` and `_loss.csv` for DVC (rank 0, when a metrics dir is given)."""
        if not self.is_main or metrics_dir is None:
            return None
        from adgen.stage_metrics import write_training_outputs

        return write_training_outputs(metrics_dir, name, values, records, loss_columns, step_key)


def check_finite(stats: Mapping[str, float], step: int) -> None:
    """A non-finite loss stops the run: training diverged."""
    for k, v in stats.items():
        if not math.isfinite(v):
            raise RuntimeError(f"step {step}: {k} is {v}; training diverged")
