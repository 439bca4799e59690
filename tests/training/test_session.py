"""The training plumbing every model's train.py shares (adgen/training/session.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from adgen.errors import UserError
from adgen.training import checkpoint, dist
from adgen.training.checkpoints import load
from adgen.training.session import CheckpointKind, Schedule, Session, Tick

DCGAN = CheckpointKind("dcgan", "a DCGAN checkpoint", mark=("model", "dcgan"))
STYLEGAN2 = CheckpointKind("stylegan2", "a StyleGAN2 checkpoint", keys=("G_ema", "params"))


def test_a_resumed_tick_averages_the_same_as_an_uninterrupted_one(tmp_path: Path) -> None:
    losses = [{"loss": 1.0}, {"loss": 2.0, "r1": 5.0}, {"loss": 6.0}]
    straight = Tick("start_step")
    for x in losses:
        straight.add(x)
    first = Tick("start_step")
    first.add(losses[0])
    saved = checkpoint.save(tmp_path / "t.pt", {"tick": first.state()})
    resumed = Tick("start_step", checkpoint.load(saved, restore_rng=False)["tick"])
    for x in losses[1:]:
        resumed.add(x)
    assert resumed.means() == straight.means() == {"loss": 3.0, "r1": 5.0}


def test_an_older_dcgan_tick_with_one_count_still_resumes() -> None:
    tick = Tick("start_step", {"sums": {"loss_G": 6.0}, "count": 3, "start_step": 10})
    assert tick.means() == {"loss_G": 2.0} and tick.start == 10


def test_a_foreign_checkpoint_is_refused_in_one_line_naming_the_model_it_is_from(tmp_path: Path) -> None:
    stgan = checkpoint.save(tmp_path / "checkpoint-000000001.pt", {"format": "adgen-stgan/1", "G_ema": {}})
    with pytest.raises(UserError, match="not a DCGAN checkpoint: a stgan checkpoint") as err:
        load(stgan, DCGAN)
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match="not a StyleGAN2 checkpoint: a stgan checkpoint"):
        load(tmp_path, STYLEGAN2)
    # a StyleGAN2 checkpoint from before marks: known by its keys
    old = checkpoint.save(tmp_path / "old.pt", {"G_ema": {}, "params": {}})
    assert load(old, STYLEGAN2)[0] == old


def test_a_schedule_is_due_in_the_models_own_unit_and_at_every_end() -> None:
    images = Schedule({"tick": 8.0, "checkpoint": 0}, [20])
    assert images.due("tick", 4, 8) and not images.due("tick", 8, 12) and images.due("tick", 12, 16)
    assert not images.due("checkpoint", 0, 12) and images.due("checkpoint", 16, 20)  # 0: only at the end
    phases = Schedule({"log": 100}, [3, 6])
    assert phases.at_end(2, 3) and phases.due("log", 5, 6) and not phases.due("log", 3, 4)


def test_only_rank_0_writes_checkpoints_stats_and_log_lines(tmp_path: Path) -> None:
    rank1 = Session(tmp_path, dist.Runtime(torch.device("cpu"), rank=1, world_size=2), echo=False)
    assert rank1.save(1, {"step": 1}) is None
    rank1.stats({"step": 1})
    rank1.say("hello")
    rank1.write_options({"a": 1})
    assert rank1.write_outputs(tmp_path / "metrics", "x", {"steps": 1}) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    final = rank1.final_checkpoint(None, 1, lambda: {"step": 1})
    assert final == checkpoint.path_for(tmp_path, 1) and not final.exists()
    rank0 = Session(tmp_path, dist.Runtime(torch.device("cpu")), echo=False)
    assert rank0.save(1, {"step": 1}) == final and final.is_file()
