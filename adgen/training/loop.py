"""The one training loop: every model's `train.py` provides a `Trainer`, this module runs it.

A model says *what* one step is and *what* its state is; the loop owns *how* a run goes, the same
for all of them: resume, ticks, stats.jsonl, checkpoints, periodic samples, the progress bar, the
DDP rank-0 rule, the loss CSV and metrics, and the `TrainResult`.

Converting a model (or writing a new one)
-----------------------------------------
Subclass `Trainer` and set, in `__init__` (the `build(session)` you give `run` constructs it):

- `name` (metrics file `<name>.json`), `label` (progress bar), `kind` (its `CheckpointKind`);
- `unit`: the schedule's unit ("step", "nimg", "iteration"); the tick's start is kept in the
  checkpoint as `start_<unit>`. `step_key`: the stats.jsonl / loss CSV field holding `steps`
  ("step", or "iteration" for ST-GAN) — a resume drops the records past it;
- `total` (in `unit`) and `schedule` (a `Schedule` in `unit`): its key "tick" writes a stats record
  and a log line, "checkpoint" a checkpoint, every other key calls `periodic(key, …)` (sample grids,
  sheets, phase-end evaluations); everything is due at each of `schedule.ends` (phase ends, the end);
- `keep_checkpoints` (None: keep all), `loss_columns` (the loss CSV's columns);
- the properties `steps` (optimiser steps done: `checkpoint-<steps>.pt`, the stats `step_key`) and
  `position` (where training is in `unit`: images for StyleGAN2, `steps` for the others).

and implement `step()` (one step: draw its own batch, advance `steps`/`position`, return its
losses as floats), `state_dict()` / `load_state_dict(state)` (everything an exact resume needs;
plain containers of tensors/numbers/strings so it loads with `weights_only=True`). The rest are
hooks with defaults: `begin()` after any resume (open data iterators *at* `position`, so the
resumed data order is the uninterrupted one), `introduce()` (the new-run log line), `where()` (the
"resumed from … at <where>" text), `check(stats)` (non-finite losses stop the run), `record(tick)`
(the stats record: default tick means), `log_line(record)` (its log line), `periodic(what, before,
after)`, `checkpointed(path)`, `final_values(records)` (numbers and strings for `<name>.json` /
`.info.json`), `loss_records(records)` (rows for the loss CSV), `wrap_up(result, records)`
(rank 0, every run: the model's own run-dir summaries).

Phases (ST-GAN's D-alone then warps, GFLA's flow then full, DPIG's stages) are the trainer's own:
`step()` looks at `position`, switches (and `session.say`s "phase …") when it crosses one; put the
phase ends in `schedule.ends` so that samples and a checkpoint are written there, and the phase in
`record` (the spec's `phase_column`) so the report marks it. `StagedTrainer` does the records of
models trained in consecutive stages (GFLA, DPIG): the tick's last step with its `stage`.

DDP: every rank calls `build`, `step`, `periodic` and `final_values` (collectives are allowed
there); `record`, `log_line` and `checkpointed` run on rank 0 only (no collectives). Write files through
the session (`session.on_main`, `session.stats`, `session.say`): only rank 0 writes.
Seeding (`checkpoint.seed_everything`) and per-step random streams are the trainer's: do them in
`build` before making networks, and in `step` from `checkpoint.step_seed(seed, rank, steps)`.
The loop restores the checkpoint's RNG states after `load_state_dict` unless `restore_rng` is False
(a trainer that keeps each rank's own states restores them itself).

The model's `train(job)` then is: `build(session)` (read the data, `session.write_options`, seed,
construct the trainer) and `return loop.run_with(build, job.run_dir, options,
metrics_dir=job.metrics_dir)`: the options' device and precision, and the options checked against
the checkpoint's `kind.architecture` on resume. The loop resumes after `build` (newest valid checkpoint of `kind`,
its "tick" sums, stats past it dropped), calls `begin`, steps until `total` and returns one
`TrainResult`. adgen/models/dcgan/train.py is the smallest complete example; StyleGAN2's counts
images (`unit` "nimg", `position` = images seen).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adgen.training.session import CheckpointKind, Schedule, Session, Tick, check_finite


@dataclass(frozen=True)
class TickStats:
    """One tick as the loop closed it: `means` of every step's losses since the tick began, the
    `last` step's, the wall `seconds` and `units` it spanned, and where it ended (`before` →
    `after`: the last step's move, for `schedule.due` of keys the record depends on)."""

    means: dict[str, float]
    last: dict[str, float]
    seconds: float
    units: float
    started: float  # wall clock of the tick's end (the next tick's start), as the records stamp
    before: float
    after: float


@dataclass
class TrainResult:
    """What every `adgen train <model>` returns."""

    run_dir: Path
    checkpoint: Path | None  # the final (or, stopped early, the newest) checkpoint
    steps: int  # steps (iterations) done: checkpoint-<steps>.pt
    position: float  # in the trainer's unit (images for StyleGAN2; = steps for the others)
    last: dict[str, Any] = field(default_factory=dict)  # the last stats record (rank 0)
    values: dict[str, Any] = field(default_factory=dict)  # what went into <name>.json / .info.json
    outputs: dict[str, Path] = field(default_factory=dict)  # metrics files written (rank 0, finished)


class Trainer:
    """What a model provides to `run`; the module doc says how to write one."""

    name: str
    label: str
    kind: CheckpointKind
    unit: str = "step"
    step_key: str = "step"
    total: float
    schedule: Schedule
    keep_checkpoints: int | None = None
    loss_columns: Sequence[str] = ()
    restore_rng: bool = True  # False: load_state_dict restores this rank's RNG itself

    @property
    def steps(self) -> int:
        raise NotImplementedError

    @property
    def position(self) -> float:
        return self.steps

    # --- required ---------------------------------------------------------------------------
    def step(self) -> dict[str, float]:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    # --- hooks (defaults do the common thing) -----------------------------------------------
    def begin(self) -> None:
        """After any resume, before the first step: open data iterators at `position`."""

    def introduce(self) -> str | None:
        """The log line of a new run (sizes, device); None: say nothing."""
        return None

    def where(self) -> str:
        return f"{self.step_key} {self.steps}"

    def check(self, stats: Mapping[str, float]) -> None:
        check_finite(stats, self.steps)

    def record(self, tick: TickStats) -> dict[str, Any]:
        return {self.step_key: self.steps, **tick.means, "timestamp": tick.started}

    def log_line(self, record: Mapping[str, Any]) -> str:
        shown = " ".join(f"{k} {record[k]:.4g}" for k in self.loss_columns if record.get(k) is not None)
        return f"{self.step_key} {self.steps} {shown}"

    def periodic(self, what: str, before: float, after: float) -> None:
        """Work due every `schedule.every[what]` units (and at the ends): sample grids, sheets."""

    def checkpointed(self, path: Path) -> None:
        """After rank 0 wrote a checkpoint (called on rank 0 only)."""

    def final_values(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        last = records[-1] if records else {}
        return {"steps": self.steps, **{k: last[k] for k in self.loss_columns if k in last}}

    def loss_records(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return records

    def wrap_up(self, result: TrainResult, records: list[dict[str, Any]]) -> None:
        """At the end of every run, finished or stopped early (rank 0 only, no collectives): the
        model's own run-dir summaries (ST-GAN's loss.csv, metrics.json) and its last log line."""


class StagedTrainer(Trainer):
    """A trainer in consecutive stages (GFLA: flow estimator, then the whole generator; DPIG: stage
    I, then II) whose stats record the losses of the tick's *last* step with its `stage`, logged
    as `step <s>/<total> stage <k> <losses>`. Set `stage_ends`: the step each stage but the last
    ends at."""

    stage_ends: Sequence[int] = ()

    @property
    def stage(self) -> int:
        """The stage (1, 2, …) of the last step done; 1 before any."""
        return 1 + sum(self.steps > end for end in self.stage_ends)

    def record(self, tick: TickStats) -> dict[str, Any]:
        return {self.step_key: self.steps, "stage": self.stage, **tick.last}

    def log_line(self, record: Mapping[str, Any]) -> str:
        shown = " ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in (self.step_key, "stage"))
        return f"{self.step_key} {record[self.step_key]}/{self.total} stage {record['stage']} {shown}"


def run(
    build: Callable[[Session], Trainer],
    run_dir: Path,
    *,
    device: str = "auto",
    amp: bool = True,
    cpu_bf16: bool = False,
    echo: bool = True,
    metrics_dir: Path | str | None = None,
    params: Any = None,
    stop_at: float | None = None,
) -> TrainResult:
    """Train (or resume) the trainer `build(session)` makes in `run_dir` until its `total`.

    `params`, when given, is checked against the checkpoint's (`kind.architecture`) on resume.
    `stop_at` (in the trainer's unit) ends the run early there (tests, slices): a checkpoint is
    written at it, no metrics are (the run is not finished), and ticks and periodic work stay on
    the trainer's schedule, so a run stopped and resumed writes the same records as one that was not.
    """
    with Session.open(run_dir, device, amp, cpu_bf16, echo) as session:
        trainer = build(session)
        rt = session.rt
        tick = Tick(f"start_{trainer.unit}")
        found = session.newest_checkpoint(trainer.kind, params)
        if found is not None:
            path, state = found
            trainer.load_state_dict(state)
            tick = Tick(tick.start_key, state.get("tick"))
            session.resumed(
                path, state, trainer.steps, trainer.where(), trainer.restore_rng, trainer.step_key
            )
        elif (line := trainer.introduce()) is not None:
            session.say(line)
        trainer.begin()

        stop = trainer.total if stop_at is None else min(trainer.total, stop_at)
        when = trainer.schedule
        others = [k for k in when.every if k not in ("tick", "checkpoint")]
        last_ckpt = found[0] if found else None
        last_stats: dict[str, float] = {}
        with session.progress(trainer.label, stop, min(trainer.position, stop)) as show:
            while trainer.position < stop:
                before = trainer.position
                last_stats = trainer.step()
                trainer.check(last_stats)
                tick.add(last_stats)
                after = trainer.position
                show(min(after, stop))
                if session.is_main and when.due("tick", before, after):
                    means, seconds, units = tick.close(after)
                    closed = TickStats(means, dict(last_stats), seconds, units, tick.started, before, after)
                    record = trainer.record(closed)
                    session.stats(record)
                    session.say(trainer.log_line(record))
                for what in others:
                    if when.due(what, before, after):
                        trainer.periodic(what, before, after)
                if when.due("checkpoint", before, after) or before < stop <= after:
                    saved = session.save(
                        trainer.steps,
                        {**trainer.state_dict(), "tick": tick.state()},
                        trainer.keep_checkpoints,
                    )
                    if saved is not None:
                        last_ckpt = saved
                        trainer.checkpointed(saved)
                rt.barrier()

        finished = trainer.position >= trainer.total
        if finished:
            last_ckpt = session.final_checkpoint(
                last_ckpt, trainer.steps, lambda: {**trainer.state_dict(), "tick": tick.state()}
            )
        records = session.records()
        values = {
            **trainer.final_values(records),
            "run_dir": str(session.run_dir),
            "checkpoint": str(last_ckpt) if last_ckpt is not None else None,
        }
        outputs = None
        if finished:
            outputs = session.write_outputs(
                metrics_dir,
                trainer.name,
                values,
                trainer.loss_records(records),
                tuple(trainer.loss_columns),
                trainer.step_key,
            )
        result = TrainResult(
            session.run_dir,
            Path(last_ckpt) if last_ckpt is not None else None,
            trainer.steps,
            trainer.position,
            records[-1] if records else {},
            values,
            outputs or {},
        )
        if session.is_main:
            trainer.wrap_up(result, records)
        return result


def run_with(
    build: Callable[[Session], Trainer],
    run_dir: Path,
    options: Any,
    *,
    echo: bool = True,
    metrics_dir: Path | str | None = None,
    stop_at: float | None = None,
) -> TrainResult:
    """`run` as every model calls it: device, AMP (and CPU bf16, for models that offer it) from the
    model's options, which are also what a resumed checkpoint's network is checked against."""
    return run(
        build,
        run_dir,
        device=options.device,
        amp=options.amp,
        cpu_bf16=getattr(options, "cpu_bf16", False),
        echo=echo,
        metrics_dir=metrics_dir,
        params=options,
        stop_at=stop_at,
    )
