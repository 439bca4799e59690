"""`adgen generate` runs end to end on tiny StyleGAN2, GFLA and ST-GAN checkpoints trained here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from adgen.errors import UserError
from adgen.pose.contract import fit_into_frame, read_pose
from adgen.stage_metrics import split_numbers
from tests.models.gfla.helpers import job as gfla_job
from tests.models.gfla.helpers import pose, tiny_params, write_dataset, write_vgg19


def _people(n: int, h: int = 32, w: int = 16) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        a = np.full((h, w, 3), 255, np.uint8)
        a[4 : h - 2, 3 : w - 3] = rng.integers(0, 200, 3)
        a[2:8, w // 2 - 2 : w // 2 + 2] = (230, 180, 150)
        out.append(Image.fromarray(a))
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project whose paths.models holds one tiny trained run of each model, and a params.yaml."""
    from adgen.fixtures.pose import build_fixture_pose_model
    from adgen.models.gfla.train import train as train_gfla
    from adgen.models.registry import with_preset
    from adgen.models.stgan.config import StganParams
    from adgen.models.stgan.data import make_synthetic_dataset
    from adgen.models.stgan.train import run as train_stgan
    from adgen.models.stylegan2.config import StyleGAN2Params
    from adgen.models.stylegan2.data import write_zip
    from adgen.models.stylegan2.train import train as train_stylegan2

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("generate-project")
    models = root / "models"

    zip_path = write_zip(root / "people.zip", _people(8))
    sg = with_preset(
        StyleGAN2Params(
            dataset=zip_path,
            device="cpu",
            total_kimg=0.016,
            checkpoint_kimg=0.008,
            tick_kimg=0.008,
            sample_kimg=0.016,
        ),
        "demo",
    )
    train_stylegan2(sg, models / "stylegan2" / "00000-demo", echo=False)

    make_synthetic_dataset(root / "ds", size=32, n_real=8, n_background=8, n_foreground=2, fg_scale=0.35)
    st = with_preset(
        StganParams(
            index=root / "ds" / "index.parquet",
            height=32,
            width=32,
            fg_scale=0.35,
            batch=4,
            warps=1,
            iters_d_only=1,
            iters_per_warp=2,
            log_every=1,
            checkpoint_every=1,
            sample_every=3,
            history_size=8,
            history_mix=2,
            samples=2,
            eval_images=4,
            gif_frames_per_warp=2,
            device="cpu",
        ),
        "demo",
    )
    train_stgan(st, models / "stgan" / "00000-demo", data_root=root, echo=False)

    vgg = write_vgg19(root / "vgg19.pth")
    gp = tiny_params(vgg, flow_steps=1, steps=1, checkpoint_every=1)
    train_gfla(
        gfla_job(gp, write_dataset(root / "gfla", people=2), models / "gfla" / "00000-demo"), echo=False
    )

    build_fixture_pose_model(root / "pose-model")
    (root / "params.yaml").write_text(
        yaml.safe_dump(
            {
                "paths": {"models": "models", "metrics": "metrics"},
                "pose": {"model": "pose-model"},
                "generate": {"n": 2},
            }
        )
    )
    bag = Image.new("RGBA", (12, 16), (0, 0, 0, 0))
    bag.paste((150, 60, 20, 255), (2, 4, 10, 15))
    bag.save(root / "bag.png")
    kp = pose(7)
    (root / "pose.json").write_text(json.dumps({"keypoints": kp.tolist()}))
    return root


def _adgen(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "adgen.cli", "--params", str(root / "params.yaml"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env, timeout=600)


def _adgen_in_process(root: Path, *args: str) -> int:
    """`adgen …` in this process through its real entry point (UserError → one line, exit 2)."""
    from adgen.cli import main

    argv, cwd = sys.argv, os.getcwd()
    sys.argv = ["adgen", "--params", str(root / "params.yaml"), *args]
    os.chdir(root)
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        sys.argv = argv
        os.chdir(cwd)
    return 0


@pytest.mark.slow
def test_generate_writes_each_ad_every_intermediate_and_a_page_showing_the_chain(project):
    done = _adgen(project, "generate", "--pose", "pose.json", "--bag", "bag.png", "--seed", "3", "-o", "out")
    assert done.returncode == 0, done.stderr[-3000:]
    out = project / "out"
    for seed in (3, 4):
        folder = out / f"seed-{seed}"
        for name in (
            "person.png",
            "person_pose.png",
            "requested_pose.png",
            "reposed.png",
            "warp-0.png",
            "warp-1.png",
            "ad.png",
        ):
            assert (folder / name).is_file(), name
        info = json.loads((folder / "ad.json").read_text())
        assert np.allclose(info["requested"], pose(7))
        assert (
            len(info["warp_params"]) == 2 and len(info["warp_params"][0]) == 8
        )  # p0 and one homography warp
    # the person comes from StyleGAN2's seed: different seeds, different people; same seed, same person
    a, b = (np.asarray(Image.open(out / f"seed-{s}" / "person.png")) for s in (3, 4))
    assert a.shape == (32, 16, 3) and not np.array_equal(a, b)
    assert Image.open(out / "seed-3" / "reposed.png").size == (16, 32)
    assert Image.open(out / "seed-3" / "ad.png").size == (32, 32)

    page = (out / "index.html").read_text()
    for rel in ("seed-3/person.png", "seed-3/reposed.png", "seed-3/warp-1.png", "seed-4/ad.png", "bag.png"):
        assert f'src="{rel}"' in page
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ads"] == 2
    assert metrics["inception_score_skipped"] == "metrics.inception_v3_weights is not set"
    assert set(metrics["checkpoints"]) == {"stylegan2", "gfla", "stgan"}
    assert "00000-demo" in metrics["checkpoints"]["gfla"]
    numbers, info = split_numbers(metrics)  # the DVC metric holds the numbers, the rest beside it
    assert json.loads((project / "metrics" / "generate.json").read_text()) == numbers
    assert json.loads((project / "metrics" / "generate.info.json").read_text()) == info

    # the sampling promise (docs/generate.md): seed 4 alone, in this process (one thread, as the
    # run above), is bit-identical to seed 4 made after seed 3 — every step of the chain
    again = _adgen_in_process(
        project,
        "generate",
        "--pose",
        "pose.json",
        "--bag",
        "bag.png",
        "--seed",
        "4",
        "--n",
        "1",
        "-o",
        "again",
    )
    assert again == 0 and torch.get_num_threads() == 1
    for name in ("person.png", "reposed.png", "warp-0.png", "ad.png"):
        assert np.array_equal(
            np.asarray(Image.open(project / "again" / "seed-4" / name)),
            np.asarray(Image.open(out / "seed-4" / name)),
        ), name


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "params.yaml").write_text("{}\n")
    Image.new("RGB", (8, 8), "red").save(tmp_path / "flat.png")
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(tmp_path / "bag.png")
    (tmp_path / "pose.json").write_text(json.dumps(pose(1).tolist()))
    assert _adgen_in_process(tmp_path, "generate", "--pose", "pose.json", "--bag", "flat.png", "-o", "x") == 2
    err = capsys.readouterr().err
    assert "transparency" in err and "Traceback" not in err
    (tmp_path / "bad.json").write_text("[[0.5, 0.5]]")
    assert _adgen_in_process(tmp_path, "generate", "--pose", "bad.json", "--bag", "bag.png", "-o", "x") == 2
    assert "18 OpenPose keypoints" in capsys.readouterr().err
    assert _adgen_in_process(tmp_path, "generate", "--pose", "pose.json", "--bag", "bag.png", "-o", "x") == 2
    assert "no trained stylegan2 under" in capsys.readouterr().err


def test_a_pose_json_of_x_y_pairs_marks_negative_points_missing(tmp_path):
    kp = pose(3)[:, :2].copy()
    kp[4] = (-1, -1)
    (tmp_path / "p.json").write_text(json.dumps(kp.tolist()))
    got = read_pose(tmp_path / "p.json", (16, 32))
    assert got.shape == (18, 3) and got[4].tolist() == [-1, -1, 0] and (got[:4, 2] == 1).all()
    (tmp_path / "far.json").write_text(json.dumps((kp * 300).tolist()))
    with pytest.raises(UserError, match="normalised"):
        read_pose(tmp_path / "far.json", (16, 32))


def test_a_pose_taken_from_a_wider_image_is_fitted_into_the_person_frame():
    kp = np.array([[0.5, 0.5, 1.0], [0.0, 0.0, 1.0], [-1, -1, 0]] + [[1.0, 1.0, 1.0]] * 15, dtype=np.float32)
    got = fit_into_frame(kp, (200, 100), (16, 32))  # a 2:1 landscape photo into a 1:2 portrait frame
    assert np.allclose(got[0], [0.5, 0.5, 1])
    assert np.allclose(got[1], [0.0, 0.375, 1]) and np.allclose(got[3], [1.0, 0.625, 1])
    assert got[2].tolist() == [-1, -1, 0]


@pytest.mark.slow
def test_a_pose_read_from_a_photo_is_the_pose_of_the_person_in_it(project):
    """--pose IMAGE: the pose model's keypoints, fitted into the person frame (fixture photo, known truth)."""
    from adgen.fixtures.site.synth import photo_spec, render
    from adgen.pose.estimate import load_pose_estimator

    for index in range(40):
        photo = render(photo_spec(0, index))
        people = photo.truth["people"]
        if len(people) == 1 and people[0]["full_body"]:
            break
    photo.image.save(project / "photo.png")
    estimator = load_pose_estimator(project / "pose-model")
    got = read_pose(project / "photo.png", (16, 32), estimator)
    truth = fit_into_frame(np.asarray(people[0]["keypoints"], np.float32), photo.image.size, (16, 32))
    both = (got[:, 2] > 0) & (truth[:, 2] > 0)
    assert both.sum() >= 10
    assert np.abs(got[both, :2] - truth[both, :2]).max() < 0.03


def test_best_runs_the_trained_approaches_and_names_the_ones_it_skipped(project, capsys):
    """Only approach 1's models are trained here: best makes its ads from approach 1 and says that
    the other chains (DPIG, PIDM, DCGAN's) were skipped, instead of failing on their models."""
    from adgen.models.registry import chains

    args = ("generate", "--pose", "pose.json", "--bag", "bag.png", "--approach", "best", "--n", "1")
    assert _adgen_in_process(project, *args, "-o", "best-skips") == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    assert "skipping approach 2 (no trained dpig under" in err
    assert "skipping approach 3 (no trained pidm under" in err
    metrics = json.loads((project / "best-skips" / "metrics.json").read_text())
    assert metrics["approach"] == "best" and set(metrics["checkpoints"]) == {"stylegan2", "gfla", "stgan"}
    # every chain but approach 1 misses a model: DPIG, PIDM, DCGAN (dcgan-gfla, dcgan-pidm)
    assert set(metrics["skipped_approaches"]) == set(chains()) - {"1"} and metrics["ads_from_approach_1"] == 1
    assert "skipping approach dcgan-gfla (no trained dcgan under" in err
    assert "ads_from_approach_2" not in metrics
    info = json.loads((project / "best-skips" / "seed-0" / "ad.json").read_text())
    assert info["approach"] == "1" and [c["approach"] for c in info["candidates"]] == ["1"]


def test_best_with_no_trained_approach_or_a_named_checkpoint_missing_is_one_line(project, tmp_path, capsys):
    import shutil

    shutil.copytree(project / "models" / "stgan", tmp_path / "models" / "stgan")  # the compositor only
    for name in ("bag.png", "pose.json"):
        shutil.copy(project / name, tmp_path / name)
    settings = {"paths": {"models": "models"}, "pose": {"model": str(project / "pose-model")}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings))
    args = ("generate", "--pose", "pose.json", "--bag", "bag.png", "--approach", "best", "-o", "x")
    assert _adgen_in_process(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert "--approach best: no approach has all its models trained" in err
    assert "approach 1: no trained stylegan2 under" in err and "approach 3: no trained" in err
    assert "Traceback" not in err and err.strip().count("\n") == 0 and not (tmp_path / "x").exists()
    # a checkpoint the user named is never skipped silently: it must exist
    settings["paths"]["models"] = str(project / "models")
    settings["generate"] = {"dpig_checkpoint": "missing.pt"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings))
    assert _adgen_in_process(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert "generate.dpig_checkpoint: " in err and err.strip().count("\n") == 0
