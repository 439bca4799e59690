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

from adgen.models.registry import with_preset
from adgen.models.stylegan2.config import StyleGAN2Params
from adgen.models.stylegan2.data import write_zip
from adgen.models.stylegan2.train import train as train_stylegan2
from tests.models.gfla.conftest import gfla_dataset, vgg19_file  # noqa: F401
from tests.models.gfla.helpers import write_dataset
from tests.models.stylegan2.conftest import tall_people

from .conftest import adgen, crafted_checkpoint, error_line, write_params, write_png

POSE = [[0.5, 0.1 + 0.04 * i] for i in range(18)]


@pytest.fixture(scope="module")
def stylegan2_run(tmp_path_factory) -> Path:
    """A real tiny StyleGAN2 run dir with two checkpoints (the demo preset, a few steps on CPU)."""
    root = tmp_path_factory.mktemp("sg2")
    torch.set_num_threads(1)
    data = write_zip(root / "people.zip", tall_people(12))
    params = with_preset(StyleGAN2Params(dataset=data, device="cpu"), "demo")
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
    assert not marker.exists()  # the payload never ran
    line = error_line(proc)
    assert "evil.pt" in line and "was not loaded" in line


def test_composite_never_runs_a_crafted_checkpoint(tmp_path: Path, marker: Path) -> None:
    evil = crafted_checkpoint(tmp_path / "evil.pt", marker, format=1, params={})
    person, bag = write_png(tmp_path / "person.png"), write_png(tmp_path / "bag.png", mode="RGBA")
    proc = adgen(
        "composite", "--checkpoint", str(evil), "--person", str(person), "--bag", str(bag),
        "-o", str(tmp_path / "out.png"), cwd=tmp_path,
    )  # fmt: skip
    assert not marker.exists() and not (tmp_path / "out.png").exists()
    assert "was not loaded" in error_line(proc)


def test_evaluate_gfla_never_runs_a_crafted_checkpoint(tmp_path: Path, marker: Path) -> None:
    evil = crafted_checkpoint(tmp_path / "latest_net_G.pth", marker)
    write_params(tmp_path, {"paths": {"metrics": "metrics"}})
    proc = adgen("evaluate", "gfla", "--checkpoint", str(evil), cwd=tmp_path)
    assert not marker.exists()
    assert "was not loaded" in error_line(proc)


@pytest.fixture(scope="module")
def gfla_run(tmp_path_factory, gfla_dataset: Path, vgg19_file: Path) -> Path:  # noqa: F811
    """A real tiny GFLA run dir (a few CPU steps), so the chain gets as far as the ST-GAN file."""
    from adgen.models.gfla.train import train as train_gfla
    from tests.models.gfla.helpers import job, tiny_params

    run = tmp_path_factory.mktemp("gfla") / "run"
    train_gfla(job(tiny_params(vgg19_file, flow_steps=1, steps=1), gfla_dataset, run), echo=False)
    return run


@pytest.mark.parametrize("model", ["stylegan2", "gfla", "stgan"])
def test_generate_never_runs_a_crafted_checkpoint_named_in_params(
    model: str, stylegan2_run: Path, gfla_run: Path, tmp_path: Path, marker: Path
) -> None:
    evil = crafted_checkpoint(tmp_path / f"{model}.pt", marker, g={}, params={})
    # the chain loads StyleGAN2, GFLA, ST-GAN in turn: the ones before the crafted file are real
    checkpoints = {f"{m}_checkpoint": str(evil) for m in ("stylegan2", "gfla", "stgan")}
    if model in ("gfla", "stgan"):
        checkpoints["stylegan2_checkpoint"] = str(stylegan2_run)
    if model == "stgan":
        checkpoints["gfla_checkpoint"] = str(gfla_run)
    write_params(tmp_path, {"generate": {**checkpoints, "device": "cpu"}})
    (tmp_path / "pose.json").write_text(json.dumps(POSE))
    bag = write_png(tmp_path / "bag.png", mode="RGBA")
    proc = adgen("generate", "--pose", "pose.json", "--bag", str(bag), "-o", "ads", cwd=tmp_path)
    assert not marker.exists() and not (tmp_path / "ads").exists()
    line = error_line(proc)
    assert f"{model}.pt" in line and "was not loaded" in line


def test_resume_of_stylegan2_never_runs_a_crafted_checkpoint(tmp_path: Path, marker: Path) -> None:
    _stylegan2_project(tmp_path)
    crafted_checkpoint(tmp_path / "run" / "checkpoint-000000010.pt", marker, step=10)
    proc = adgen("train", "stylegan2", "--run-dir", "run", cwd=tmp_path)
    assert not marker.exists()
    assert "checkpoint-000000010.pt" in error_line(proc)


def test_resume_of_stgan_never_runs_a_crafted_checkpoint(tmp_path: Path, marker: Path) -> None:
    from tests.models.stgan.helpers import make_project

    make_project(tmp_path)
    crafted_checkpoint(tmp_path / "run" / "checkpoint-000000010.pt", marker, iteration=10)
    proc = adgen("train", "stgan", "--run-dir", "run", cwd=tmp_path)
    assert not marker.exists()
    assert "checkpoint-000000010.pt" in error_line(proc)


def test_resume_of_gfla_never_runs_a_crafted_checkpoint(
    tmp_path: Path,
    marker: Path,
    vgg19_file: Path,  # noqa: F811
) -> None:
    dataset = write_dataset(tmp_path / "gfla", people=2, poses=2, frame=(64, 64))
    gfla = {"preset": "demo", "dataset": str(dataset), "vgg19_weights": str(vgg19_file), "device": "cpu"}
    write_params(tmp_path, {"paths": {"models": "models", "metrics": "metrics"}, "train": {"gfla": gfla}})
    crafted_checkpoint(tmp_path / "run" / "checkpoint-000000010.pt", marker, step=10)
    proc = adgen("train", "gfla", "--run-dir", "run", cwd=tmp_path)
    assert not marker.exists()
    assert "checkpoint-000000010.pt" in error_line(proc)


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


def test_generate_with_another_models_weights_in_the_gfla_layout_is_one_line(
    stylegan2_run: Path, tmp_path: Path
) -> None:
    """A file with our GFLA checkpoint's keys (`g`, `params`) holding a StyleGAN2 generator: before
    the fix its params failed GflaParams validation with a pydantic traceback."""
    newest = sorted(stylegan2_run.glob("checkpoint-*.pt"))[-1]
    state = torch.load(newest, weights_only=True)
    other = tmp_path / "gfla-from-elsewhere.pt"
    torch.save({"g": state["G_ema"], "params": state["params"]}, other)
    write_params(
        tmp_path,
        {
            "generate": {
                "stylegan2_checkpoint": str(stylegan2_run),
                "gfla_checkpoint": str(other),
                "stgan_checkpoint": str(other),
                "device": "cpu",
            }
        },
    )
    (tmp_path / "pose.json").write_text(json.dumps(POSE))
    bag = write_png(tmp_path / "bag.png", mode="RGBA")
    proc = adgen("generate", "--pose", "pose.json", "--bag", str(bag), "-o", "ads", cwd=tmp_path)
    line = error_line(proc)
    assert other.name in line and "another model" in line


def test_the_shared_resume_lookup_passes_over_damage_but_never_over_a_crafted_file(
    tmp_path: Path, marker: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the ST-GAN and GFLA resumes (and ST-GAN's run-dir loading) call: checkpoint.newest_valid."""
    import random

    from adgen.training import checkpoint

    random.seed(5)
    older = checkpoint.save(checkpoint.path_for(tmp_path, 1), {"step": 1})
    expected = random.random()
    checkpoint.save(checkpoint.path_for(tmp_path, 2), {"step": 2})
    _truncate_newest(tmp_path)
    path, state = checkpoint.newest_valid(tmp_path)
    assert (path, state["step"]) == (older, 1)
    assert random.random() == expected  # the RNG state stored as plain numbers comes back exactly
    assert "checkpoint-000000002.pt is damaged" in capsys.readouterr().err

    crafted_checkpoint(checkpoint.path_for(tmp_path, 3), marker, step=3)
    with pytest.raises(checkpoint.UnsafeCheckpoint, match="checkpoint-000000003.pt"):
        checkpoint.newest_valid(tmp_path)
    assert not marker.exists()


@pytest.mark.slow
def test_gfla_resume_past_a_truncated_checkpoint_still_equals_an_uninterrupted_run(
    gfla_dataset: Path,  # noqa: F811
    vgg19_file: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before the fix the truncated newest file was a RuntimeError trace from torch.load."""
    from adgen.models.gfla.train import train as train_gfla
    from adgen.training import checkpoint
    from tests.models.gfla.helpers import job, tiny_params

    p = tiny_params(vgg19_file, flow_steps=2, steps=2, checkpoint_every=1, keep_checkpoints=10)
    straight = train_gfla(job(p, gfla_dataset, tmp_path / "a"), echo=False)
    train_gfla(job(p, gfla_dataset, tmp_path / "b"), stop_at=3, echo=False)
    cut = _truncate_newest(tmp_path / "b")  # step 3, as a kill during a copy leaves it
    resumed = train_gfla(job(p, gfla_dataset, tmp_path / "b"), echo=False)
    assert f"{cut.name} is damaged" in capsys.readouterr().err
    assert "resumed from checkpoint-000000002.pt" in (tmp_path / "b" / "log.txt").read_text()
    a = checkpoint.load(straight.checkpoint, restore_rng=False)
    b = checkpoint.load(resumed.checkpoint, restore_rng=False)
    assert a["step"] == b["step"] == 4
    for net in ("g", "d"):
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), (net, k)


@pytest.mark.slow
def test_stgan_resume_past_a_truncated_checkpoint_still_equals_an_uninterrupted_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from adgen import config
    from adgen.models.stgan.train import run as train_stgan
    from adgen.training import checkpoint
    from tests.models.stgan.helpers import make_project

    schedule = {
        "iters_d_only": 2,
        "iters_per_warp": 2,
        "warps": 1,
        "checkpoint_every": 1,
        "keep_checkpoints": 10,
    }
    p = config.load(make_project(tmp_path, **schedule))
    sp = with_preset(p.train.stgan)
    straight = train_stgan(sp, tmp_path / "a", data_root=p.root, echo=False)
    train_stgan(sp, tmp_path / "b", data_root=p.root, echo=False)
    cut = _truncate_newest(tmp_path / "b")
    assert cut.name == "checkpoint-000000004.pt"
    cut.with_name(
        "checkpoint-000000003.pt"
    ).unlink()  # resume from 2: two steps to redo, one past a warp file
    resumed = train_stgan(sp, tmp_path / "b", data_root=p.root, echo=False)
    assert f"{cut.name} is damaged" in capsys.readouterr().err
    assert "resumed from checkpoint-000000002.pt" in (tmp_path / "b" / "log.txt").read_text()
    a = checkpoint.load(straight.checkpoint, restore_rng=False)
    b = checkpoint.load(resumed.checkpoint, restore_rng=False)
    assert a["iteration"] == b["iteration"] == 4
    for k, v in a["generators"].items():
        assert torch.equal(v, b["generators"][k]), k
