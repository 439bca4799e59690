"""The one checkpoint resolver: a file or a run dir (or nothing: the newest run) becomes one checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from adgen.errors import UserError
from adgen.training import checkpoint
from adgen.training.checkpoints import find, load, resolve
from adgen.training.session import CheckpointKind

KIND = CheckpointKind("mygan", "a MyGAN checkpoint", mark=("model", "mygan"))


def _save(path: Path, state: dict, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _cut_short(path: Path) -> Path:
    """A checkpoint a kill cut in half (the zip's directory at its end is gone)."""
    _save(path, {"model": "mygan", "w": torch.zeros(256)})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_a_file_is_taken_as_given_without_reading_it(tmp_path):
    junk = tmp_path / "official_net_G.pth"
    junk.write_bytes(b"not read here: the model's loader says what it is")
    assert find(junk, KIND) == junk


def test_a_run_dir_stands_for_its_newest_checkpoint_that_loads(tmp_path, capsys):
    good = _save(tmp_path / "checkpoint-000000002.pt", {"model": "mygan"})
    _cut_short(tmp_path / "checkpoint-000000004.pt")
    assert find(tmp_path, KIND) == good
    assert "trying the previous checkpoint" in capsys.readouterr().err


def test_a_finished_file_wins_over_the_periodic_checkpoints_numbered_not_by_name(tmp_path):
    for step in (2, 9, 10):
        _save(tmp_path / f"warp-{step}.pt", {"model": "mygan"})
    _save(tmp_path / "checkpoint-000000099.pt", {"model": "mygan"})
    _cut_short(tmp_path / "warp-11.pt")
    assert find(tmp_path, KIND, finals=("warp-*.pt",)) == tmp_path / "warp-10.pt"
    assert find(tmp_path, KIND) == tmp_path / "checkpoint-000000099.pt"


def test_missing_and_empty_are_one_line_naming_the_setting_and_the_command(tmp_path):
    with pytest.raises(UserError) as missing:
        find(tmp_path / "nope.pt", KIND, setting="generate.mygan_checkpoint")
    text = _one_line(missing)
    assert text.startswith("generate.mygan_checkpoint: ") and "MyGAN checkpoint not found" in text
    assert "`adgen train mygan`" in text
    with pytest.raises(UserError) as empty:
        find(tmp_path, KIND)
    assert "no MyGAN checkpoint in this run dir" in _one_line(empty)


def test_nothing_given_is_the_run_that_wrote_a_checkpoint_last(tmp_path):
    _save(tmp_path / "mygan" / "00001-old" / "checkpoint-000000009.pt", {"model": "mygan"}, 1_000)
    newest = _save(tmp_path / "mygan" / "dvc" / "checkpoint-000000002.pt", {"model": "mygan"}, 2_000)
    assert resolve(None, tmp_path, KIND) == newest
    assert resolve(newest, tmp_path / "elsewhere", KIND) == newest  # an explicit one wins
    with pytest.raises(UserError) as none:
        resolve(None, tmp_path / "empty", KIND, setting="generate.mygan_checkpoint")
    text = _one_line(none)
    assert "no trained mygan under" in text and text.endswith("or set generate.mygan_checkpoint")


def test_load_refuses_another_models_or_an_unsafe_checkpoint_in_one_line(tmp_path):
    mine = _save(tmp_path / "run" / "checkpoint-000000001.pt", {"model": "mygan", "w": torch.ones(2)})
    path, state = load(tmp_path / "run", KIND)
    assert path == mine and torch.equal(state["w"], torch.ones(2))
    other = checkpoint.save(tmp_path / "other.pt", {"model": "dcgan"})
    with pytest.raises(UserError) as foreign:
        load(other, KIND)
    assert "not a MyGAN checkpoint: a dcgan checkpoint" in _one_line(foreign)

    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    evil = tmp_path / "evil.pt"
    torch.save({"x": Payload()}, evil)
    with pytest.raises(UserError) as unsafe:
        load(evil, KIND)
    assert "not a readable checkpoint" in _one_line(unsafe)
