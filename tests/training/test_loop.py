"""The one training loop (adgen/training/loop.py), driven by a toy trainer in a unit of its own.

The toy counts "images" (3 per step) and has a phase end at 12 images, as StyleGAN2 counts images
and ST-GAN/GFLA/DPIG have phases: the loop must schedule in the trainer's unit, write everything
at a phase end, stop early without metrics, and resume to exactly the uninterrupted run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from adgen.training import checkpoint, loop
from adgen.training.loop import TickStats, Trainer
from adgen.training.session import CheckpointKind, Schedule, Session
from tests.training.helpers import stats_rows

KIND = CheckpointKind("toy", "a toy checkpoint", mark=("model", "toy"))
PER_STEP = 3


class Toy(Trainer):
    name, label, kind, unit, loss_columns = "toy", "toy (images)", KIND, "img", ("loss",)

    def __init__(self, session: Session, total: int = 30, blow_up_at: int | None = None):
        torch.manual_seed(0)
        self.session = session
        self.total = total
        self.schedule = Schedule({"tick": 6, "checkpoint": 9, "sheet": 0}, [12, total])
        self.w = torch.nn.Parameter(torch.zeros(4))
        self.opt = torch.optim.SGD([self.w], lr=0.1, momentum=0.9)
        self.step_idx = 0
        self.blow_up_at = blow_up_at
        self.sheets: list[tuple[float, float]] = []
        self.begun_at: float | None = None

    @property
    def steps(self) -> int:
        return self.step_idx

    @property
    def position(self) -> int:
        return self.step_idx * PER_STEP

    def begin(self) -> None:
        self.begun_at = self.position

    def step(self) -> dict[str, float]:
        target = torch.randn(4)  # the global RNG: only an exact RNG restore resumes the same
        loss = ((self.w - target) ** 2).sum()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.step_idx += 1
        if self.step_idx == self.blow_up_at:
            return {"loss": float("nan")}
        return {"loss": float(loss.detach())}

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": "toy",
            "step": self.step_idx,
            "w": self.w.detach().clone(),
            "opt": self.opt.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_idx = state["step"]
        with torch.no_grad():
            self.w.copy_(state["w"])
        self.opt.load_state_dict(state["opt"])

    def record(self, tick: TickStats) -> dict[str, Any]:
        return {"step": self.step_idx, "img": self.position, **tick.means, "units": tick.units}

    def periodic(self, what: str, before: float, after: float) -> None:
        assert what == "sheet"
        self.sheets.append((before, after))


def _train(run_dir: Path, metrics: Path | None = None, **kwargs: Any) -> tuple[loop.TrainResult, Toy]:
    made: list[Toy] = []

    def build(session: Session) -> Toy:
        made.append(Toy(session, **{k: v for k, v in kwargs.items() if k != "stop_at"}))
        return made[0]

    result = loop.run(
        build,
        run_dir,
        device="cpu",
        amp=False,
        echo=False,
        metrics_dir=metrics,
        stop_at=kwargs.get("stop_at"),
    )
    return result, made[0]


def test_the_loop_schedules_in_the_trainers_unit_and_writes_everything_at_a_phase_end(tmp_path: Path) -> None:
    result, toy = _train(tmp_path / "run", tmp_path / "metrics")
    # ticks every 6 images (2 steps) and at the phase end (12) and the end (30)
    assert [r["img"] for r in stats_rows(result.run_dir)] == [6, 12, 18, 24, 30]
    # checkpoints every 9 images (9, 18, 27 → steps 3, 6, 9), at the phase end (step 4) and the end (10)
    saved = sorted(int(p.stem.split("-")[1]) for p in result.run_dir.glob("checkpoint-*.pt"))
    assert saved == [3, 4, 6, 9, 10]
    assert toy.sheets == [(9, 12), (27, 30)]  # every 0: only at the ends
    assert (
        result.steps == 10 and result.position == 30 and result.checkpoint.name == "checkpoint-000000010.pt"
    )
    assert result.last["img"] == 30 and result.values["steps"] == 10
    numbers = json.loads((tmp_path / "metrics" / "toy.json").read_text())
    info = json.loads((tmp_path / "metrics" / "toy.info.json").read_text())
    assert numbers["steps"] == 10 and Path(info["checkpoint"]) == result.checkpoint
    assert (tmp_path / "metrics" / "toy_loss.csv").read_text().splitlines()[0] == "step,loss"
    assert set(result.outputs) == {"metrics", "info", "loss"}


def test_stopped_early_then_resumed_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    straight, _ = _train(tmp_path / "straight")
    half, toy = _train(tmp_path / "half", tmp_path / "metrics", stop_at=15)
    # stopped at 15 images (step 5): a checkpoint there, no metrics (the run is not finished)
    assert half.steps == 5 and half.checkpoint.name == "checkpoint-000000005.pt"
    assert not (tmp_path / "metrics").exists() and half.outputs == {}
    resumed, toy = _train(tmp_path / "half")
    assert toy.begun_at == 15  # data opened where the checkpoint left off
    assert "resumed from checkpoint-000000005.pt at step 5" in (tmp_path / "half" / "log.txt").read_text()
    a = checkpoint.load(straight.checkpoint, restore_rng=False)
    b = checkpoint.load(resumed.checkpoint, restore_rng=False)
    assert torch.equal(a["w"], b["w"])
    # the tick that spanned the stop averages the same, and no record is written twice
    assert [{k: v for k, v in r.items() if k != "timestamp"} for r in stats_rows(tmp_path / "half")] == [
        {k: v for k, v in r.items() if k != "timestamp"} for r in stats_rows(straight.run_dir)
    ]


def test_a_run_already_finished_returns_its_final_checkpoint_without_stepping(tmp_path: Path) -> None:
    first, _ = _train(tmp_path / "run")
    again, toy = _train(tmp_path / "run", tmp_path / "metrics")
    assert again.checkpoint == first.checkpoint and toy.sheets == [] and again.steps == 10
    assert json.loads((tmp_path / "metrics" / "toy.json").read_text())["steps"] == 10


def test_a_non_finite_loss_stops_the_run(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="step 4: loss is nan; training diverged"):
        _train(tmp_path / "run", blow_up_at=4)
