"""The plumbing every `adgen train <model>` shares: run dir choice (torchrun included) and dry-run counts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from adgen.errors import UserError
from adgen.training import jobs


def test_a_run_dir_is_the_one_given_else_the_next_numbered_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    given = tmp_path / "mine"
    assert jobs.choose_run_dir(tmp_path / "gan", "gan-demo", given) == given
    assert not given.exists()  # the trainer makes it (or resumes what is there)
    first = jobs.choose_run_dir(tmp_path / "gan", "gan-demo", None)
    second = jobs.choose_run_dir(tmp_path / "gan", "gan-demo", None)
    assert (first.name, second.name) == ("00000-gan-demo", "00001-gan-demo") and first.is_dir()


def test_under_torchrun_every_rank_must_be_given_the_same_run_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(UserError, match="under torchrun pass --run-dir"):
        jobs.choose_run_dir(tmp_path / "gan", "gan-demo", None)
    assert not (tmp_path / "gan").exists()
    assert jobs.choose_run_dir(tmp_path / "gan", "gan-demo", tmp_path / "shared") == tmp_path / "shared"


def test_a_dry_run_counts_every_network_it_is_given() -> None:
    from pydantic import BaseModel

    class Options(BaseModel):
        preset: str = "demo"
        width: int = 3

    g = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    shown = jobs.dry_run("gan", {"G": g, "G.first": g[0], "D": torch.nn.Linear(2, 1)}, Options(), None)
    assert shown == {
        "model": "gan",
        "run_dir": None,
        "parameters": {"G": 16 + 10, "G.first": 16, "D": 3},
        "options": {"preset": "demo", "width": 3},
    }
