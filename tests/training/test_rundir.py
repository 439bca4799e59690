"""Run dirs: numbering, and finding the newest trained run wherever it was trained."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from adgen.errors import UserError
from adgen.models.registry import get
from adgen.training import rundir


def _touch(path: Path, mtime: float) -> Path:
    """A small real checkpoint file (generate passes over files that do not load) with this mtime."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"step": 0}, path)
    os.utime(path, (mtime, mtime))
    return path


def test_run_dirs_are_numbered_after_the_highest_existing_one(tmp_path: Path) -> None:
    (tmp_path / "00007-old").mkdir()
    assert rundir.next_run_dir(tmp_path, "stgan-exp2").name == "00008-stgan-exp2"


def test_newest_run_includes_the_dvc_stage_run_dir(tmp_path: Path) -> None:
    root = tmp_path / "stylegan2"
    _touch(root / "00003-stylegan2-demo" / "checkpoint-000000010.pt", 1_000)
    _touch(root / "dvc" / "checkpoint-000000004.pt", 2_000)
    assert rundir.newest_run(root) == root / "dvc"


def test_newest_run_is_none_without_any_checkpoint(tmp_path: Path) -> None:
    (tmp_path / "gfla" / "00000-gfla-demo").mkdir(parents=True)
    assert rundir.newest_run(tmp_path / "gfla") is None
    assert rundir.newest_run(tmp_path / "missing") is None


def resolve_checkpoint(explicit: Path | None, models_root: Path, model: str) -> Path:
    """What `adgen generate` does for a model: generate.checkpoints.<model>, else its newest run."""
    return get(model).role.checkpoint(explicit, models_root, f"generate.{model}_checkpoint")


def test_generate_finds_a_model_trained_by_the_dvc_stage(tmp_path: Path) -> None:
    dvc_ckpt = _touch(tmp_path / "gfla" / "dvc" / "checkpoint-000000004.pt", 2_000)
    _touch(tmp_path / "gfla" / "00001-gfla-demo" / "checkpoint-000000002.pt", 1_000)
    assert resolve_checkpoint(None, tmp_path, "gfla") == dvc_ckpt


def test_generate_finds_an_stgan_run_that_holds_only_warp_checkpoints(tmp_path: Path) -> None:
    warp = _touch(tmp_path / "stgan" / "dvc" / "warp-2.pt", 2_000)
    assert resolve_checkpoint(None, tmp_path, "stgan") == warp


def test_generate_without_any_trained_model_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no trained gfla under"):
        resolve_checkpoint(None, tmp_path, "gfla")


def test_a_stats_line_cut_short_by_a_kill_is_dropped_when_the_run_resumes(tmp_path):
    """kill -9 while a stats line is written leaves half a JSON line; resume must not trip on it."""
    from adgen.training.rundir import RunLog

    log = RunLog(tmp_path, echo=False)
    for step in (1, 2, 3):
        log.stats({"step": step, "loss": 0.5})
    with open(tmp_path / "stats.jsonl", "a") as fh:
        fh.write('{"loss": 0.4, "st')  # the torn last line
    assert [r["step"] for r in log.read_stats()] == [1, 2, 3]
    log.truncate_stats("step", 2)
    assert (tmp_path / "stats.jsonl").read_text().splitlines() == [
        '{"loss": 0.5, "step": 1}',
        '{"loss": 0.5, "step": 2}',
    ]
