"""Issue 14, cases 1, 5 and 7 (wrong model): a checkpoint is data, never code, and a damaged newest
checkpoint never stops a run that has a valid older one.

Case 1: each entry point that loads a checkpoint is given a real torch file whose pickle would run
`touch <marker>` (what an `os.system` payload in a downloaded `.pt` does). The marker must never
appear and the command must end with one line. Before the fix every loader used
`torch.load(weights_only=False)` and the marker appeared.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from adgen.models.stylegan2.config import StyleGAN2Params, resolved
from adgen.models.stylegan2.data import write_zip
from adgen.models.stylegan2.train import train as train_stylegan2
from tests.models.gfla.helpers import write_dataset
from tests.models.stgan.helpers import TINY as STGAN_TINY
from tests.models.stylegan2.conftest import tall_people

from .conftest import adgen, crafted_checkpoint, error_line, write_params, write_png

POSE = [[0.5, 0.1 + 0.04 * i] for i in range(18)]


@pytest.fixture(scope="module")
def stylegan2_run(tmp_path_factory) -> Path:
    """A real tiny StyleGAN2 run dir with two checkpoints (the demo preset, a few steps on CPU)."""
    root = tmp_path_factory.mktemp("sg2")
    torch.set_num_threads(1)
    data = write_zip(root / "people.zip", tall_people(12))
    params = resolved(StyleGAN2Params(dataset=data, device="cpu"), "demo")
    run = root / "run"
    train_stylegan2(params.model_copy(update={"total_kimg": 0.004, "keep_checkpoints": 5}), run, echo=False)
    first = sorted(run.glob("checkpoint-*.pt"))[-1]
    train_stylegan2(params.model_copy(update={"total_kimg": 0.008, "keep_checkpoints": 5}), run, echo=False)
    assert sorted(run.glob("checkpoint-*.pt"))[-1] != first
    return run


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "payload-ran"


def _stylegan2_project(root: Path) -> Path:
    data = write_zip(root / "people.zip", tall_people(8))
    sg = {"preset": "demo", "dataset": str(data), "device": "cpu", "total_kimg": 0.008, "keep_checkpoints": 5}
    return write_params(
        root, {"paths": {"models": "models", "metrics": "metrics"}, "train": {"stylegan2": sg}}
    )


def test_sample_stylegan2_never_runs_a_crafted_checkpoint(tmp_path: Path, marker: Path) -> None:
    evil = crafted_checkpoint(tmp_path / "evil.pt", marker, G_ema={}, params={})
    proc = adgen(
        "sample", "stylegan2", "--checkpoint", str(evil), "-o", str(tmp_path / "g.png"), cwd=tmp_path
    )
    line = error_line(proc)
    assert not marker.exists()
    assert "evil.pt" in line and "was not loaded" in line


def test_composite_never_runs_a_crafted_checkpoint(tmp_path: Path, marker: Path) -> None:
    evil = crafted_checkpoint(tmp_path / "evil.pt", marker, format=1, params={})
    person, bag = write_png(tmp_path / "person.png"), write_png(tmp_path / "bag.png", mode="RGBA")
    proc = adgen(
        "composite", "--checkpoint", str(evil), "--person", str(person), "--bag", str(bag),
        "-o", str(tmp_path / "out.png"), cwd=tmp_path,
    )  # fmt: skip
    assert "was not loaded" in error_line(proc)
    assert not marker.exists() and not (tmp_path / "out.png").exists()


def test_evaluate_gfla_never_runs_a_crafted_checkpoint(tmp_path: Path, marker: Path) -> None:
    evil = crafted_checkpoint(tmp_path / "latest_net_G.pth", marker)
    write_params(tmp_path, {"paths": {"metrics": "metrics"}})
    proc = adgen("evaluate", "gfla", "--checkpoint", str(evil), cwd=tmp_path)
    assert "was not loaded" in error_line(proc)
    assert not marker.exists()


@pytest.mark.parametrize("model", ["stylegan2", "gfla"])  # ST-GAN's loader: see the composite test
def test_generate_never_runs_a_crafted_checkpoint_named_in_params(
    model: str, stylegan2_run: Path, tmp_path: Path, marker: Path
) -> None:
    evil = crafted_checkpoint(tmp_path / f"{model}.pt", marker, g={}, params={})
    # the chain loads StyleGAN2, GFLA, ST-GAN in turn; the ones after the crafted file are never read
    checkpoints = {f"{m}_checkpoint": str(evil) for m in ("stylegan2", "gfla", "stgan")}
    if model == "gfla":
        checkpoints["stylegan2_checkpoint"] = str(stylegan2_run)
    write_params(tmp_path, {"generate": {**checkpoints, "device": "cpu"}})
    (tmp_path / "pose.json").write_text(json.dumps(POSE))
    bag = write_png(tmp_path / "bag.png", mode="RGBA")
    proc = adgen("generate", "--pose", "pose.json", "--bag", str(bag), "-o", "ads", cwd=tmp_path)
    assert "was not loaded" in error_line(proc)
    assert not marker.exists() and not (tmp_path / "ads").exists()


def test_resume_of_stylegan2_never_runs_a_crafted_checkpoint(tmp_path: Path, marker: Path) -> None:
    _stylegan2_project(tmp_path)
    crafted_checkpoint(tmp_path / "run" / "checkpoint-000000010.pt", marker, step=10)
    proc = adgen("train", "stylegan2", "--run-dir", "run", cwd=tmp_path)
    assert "checkpoint-000000010.pt" in error_line(proc)
    assert not marker.exists()


def test_resume_of_stgan_never_runs_a_crafted_checkpoint(tmp_path: Path, marker: Path) -> None:
    from tests.models.stgan.helpers import make_project

    make_project(tmp_path)
    crafted_checkpoint(tmp_path / "run" / "checkpoint-000000010.pt", marker, iteration=10)
    proc = adgen("train", "stgan", "--run-dir", "run", cwd=tmp_path)
    assert "checkpoint-000000010.pt" in error_line(proc)
    assert not marker.exists()
    assert STGAN_TINY["preset"] == "demo"


def test_resume_of_gfla_never_runs_a_crafted_checkpoint(tmp_path: Path, marker: Path) -> None:
    dataset = write_dataset(tmp_path / "gfla", people=2, poses=2, frame=(64, 64))
    vgg = tmp_path / "vgg19.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, vgg)  # never read: the checkpoint is refused first
    gfla = {"preset": "demo", "dataset": str(dataset), "vgg19_weights": str(vgg), "device": "cpu"}
    write_params(tmp_path, {"paths": {"models": "models", "metrics": "metrics"}, "train": {"gfla": gfla}})
    crafted_checkpoint(tmp_path / "run" / "checkpoint-000000010.pt", marker, step=10)
    proc = adgen("train", "gfla", "--run-dir", "run", cwd=tmp_path)
    assert "checkpoint-000000010.pt" in error_line(proc)
    assert not marker.exists()


# --- case 5: a truncated newest checkpoint --------------------------------------------------------


def _truncate_newest(run: Path) -> Path:
    newest = sorted(run.glob("checkpoint-*.pt"))[-1]
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 3])  # what a kill during a copy leaves
    return newest


def test_sampling_falls_back_to_the_newest_valid_checkpoint_and_says_so(
    stylegan2_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(stylegan2_run, run)
    cut = _truncate_newest(run)
    proc = adgen(
        "sample", "stylegan2", "--checkpoint", str(run), "--seeds", "0-1", "-o", "g.png", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    (warning,) = [line for line in proc.stderr.splitlines() if line.startswith("adgen: warning:")]
    assert cut.name in warning and "damaged" in warning
    assert (tmp_path / "g.png").is_file()


def test_a_truncated_checkpoint_named_directly_is_one_line(stylegan2_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(stylegan2_run, run)
    cut = _truncate_newest(run)
    proc = adgen("sample", "stylegan2", "--checkpoint", str(cut), "-o", "g.png", cwd=tmp_path)
    assert "damaged" in error_line(proc)


def test_resume_of_stylegan2_falls_back_past_a_truncated_checkpoint(
    stylegan2_run: Path, tmp_path: Path
) -> None:
    _stylegan2_project(tmp_path)
    run = tmp_path / "run"
    shutil.copytree(stylegan2_run, run)
    cut = _truncate_newest(run)
    older = sorted(run.glob("checkpoint-*.pt"))[-2]
    proc = adgen("train", "stylegan2", "--run-dir", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert any(cut.name in line and "damaged" in line for line in proc.stderr.splitlines())
    assert f"resumed from {older.name}" in (run / "log.txt").read_text()


# --- case 7: a checkpoint of another model --------------------------------------------------------


def test_sampling_a_checkpoint_of_another_model_is_one_line(tmp_path: Path) -> None:
    other = tmp_path / "other.pt"
    torch.save({"G_ema": {"conv.weight": torch.zeros(3, 3)}, "params": {"resolution": [32, 16]}}, other)
    proc = adgen("sample", "stylegan2", "--checkpoint", str(other), "-o", "g.png", cwd=tmp_path)
    assert "other.pt" in error_line(proc)


def test_generate_with_a_stylegan2_checkpoint_as_gfla_is_one_line(
    stylegan2_run: Path, tmp_path: Path
) -> None:
    newest = sorted(stylegan2_run.glob("checkpoint-*.pt"))[-1]
    write_params(
        tmp_path,
        {
            "generate": {
                "stylegan2_checkpoint": str(stylegan2_run),
                "gfla_checkpoint": str(newest),
                "stgan_checkpoint": str(newest),
                "device": "cpu",
            }
        },
    )
    (tmp_path / "pose.json").write_text(json.dumps(POSE))
    bag = write_png(tmp_path / "bag.png", mode="RGBA")
    proc = adgen("generate", "--pose", "pose.json", "--bag", str(bag), "-o", "ads", cwd=tmp_path)
    assert newest.name in error_line(proc)
