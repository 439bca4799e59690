"""`adgen generate --approach 2|3|best` and `--people / --pose-transfer`: DPIG's people, StyleGAN2's or
DCGAN's re-posed by PIDM, in the chain, alone or against approach 1's and every other chain's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from adgen.generate.chain import Ad, pick_best
from tests.generate.test_generate import _adgen_in_process
from tests.generate.test_generate import project as project  # noqa: F401  (the module fixture: approach 1's models)
from tests.models.dpig.helpers import build_datasets_for, project_params, tiny_options, write_deepfashion
from tests.models.gfla.helpers import pose


@pytest.fixture(scope="module")
def both(project: Path) -> Path:  # noqa: F811
    """The approach-1 project plus a tiny DPIG trained here (demo preset, 32x16 like the StyleGAN2 people)."""
    from adgen.models.dpig.train import train
    from adgen.models.registry import TrainJob

    torch.set_num_threads(1)
    data = project / "dpig-data"  # DPIG's dataset as build-datasets makes it, beside the project's own
    params = project_params(data, write_deepfashion(data / "deepfashion"))
    build_datasets_for(params)
    train(
        TrainJob(
            params, tiny_options(), project / "models" / "dpig" / "00000-demo", project / "dpig-metrics"
        ),
        echo=False,
    )
    return project


def _run(root: Path, *args: str) -> int:
    return _adgen_in_process(root, "generate", "--pose", "pose.json", "--bag", "bag.png", *args)


@pytest.mark.slow
def test_approach_2_draws_new_people_straight_into_the_pose_and_places_the_bag(both, capsys):
    assert _run(both, "--approach", "2", "--seed", "3", "-o", "out2") == 0, capsys.readouterr().err
    out = both / "out2"
    for seed in (3, 4):
        folder = out / f"seed-{seed}"
        for name in ("requested_pose.png", "person.png", "warp-0.png", "warp-1.png", "ad.png"):
            assert (folder / name).is_file(), name
        info = json.loads((folder / "ad.json").read_text())
        assert info["approach"] == "2" and np.allclose(info["requested"], pose(7))
        assert "4 the ad" in info["files"] and "2 new person in the pose (DPIG)" in info["files"]
    # the person is DPIG's sample for that seed in the requested pose
    from adgen.models.dpig.api import load_sampler

    want = load_sampler(both / "models" / "dpig" / "00000-demo").sample(pose(7), [3])[0]
    assert np.array_equal(np.asarray(Image.open(out / "seed-3" / "person.png")), np.asarray(want))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["approach"] == "2" and metrics["ads"] == 2
    assert set(metrics["checkpoints"]) == {"dpig", "stgan"}
    page = (out / "index.html").read_text()
    assert "DPIG draws a new person" in page and 'src="seed-4/ad.png"' in page


@pytest.mark.slow
def test_best_keeps_per_seed_the_person_nearer_the_pose_and_shows_both_chains(both, capsys):
    assert _run(both, "--approach", "best", "--seed", "3", "-o", "best") == 0, capsys.readouterr().err
    out = both / "best"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["approach"] == "best" and set(metrics["checkpoints"]) == {
        "stylegan2",
        "gfla",
        "dpig",
        "stgan",
    }
    assert metrics["ads_from_approach_1"] + metrics["ads_from_approach_2"] == 2
    page = (out / "index.html").read_text()
    for seed in (3, 4):
        info = json.loads((out / f"seed-{seed}" / "ad.json").read_text())
        got = {c["approach"]: c for c in info["candidates"]}
        assert set(got) == {"1", "2"}
        for a in ("1", "2"):
            assert (out / f"seed-{seed}" / f"approach-{a}" / "ad.png").is_file()
            assert f'src="seed-{seed}/approach-{a}/ad.png"' in page
        kept = pick_best([Ad(**{**c, "candidates": []}) for c in info["candidates"]])
        assert info["approach"] == kept.approach and info["folder"] == f"seed-{seed}/approach-{kept.approach}"
        assert info["pose_mse_reposed"] == got[kept.approach]["pose_mse_reposed"]
    assert page.count('class="kept"') == 2 and page.count('class="other"') == 2


def test_the_kept_candidate_is_the_one_with_the_lower_pose_error_and_a_lost_pose_never_wins():
    def ad(approach: str, mse: float | None) -> Ad:
        return Ad(0, "", {}, [], [], [], [], mse, None, [], approach=approach)

    assert pick_best([ad("1", 0.5), ad("2", 0.1)]).approach == "2"
    assert pick_best([ad("1", 0.1), ad("2", 0.5)]).approach == "1"
    assert pick_best([ad("1", None), ad("2", 9.0)]).approach == "2"
    assert pick_best([ad("1", 0.2), ad("2", 0.2)]).approach == "1"


def test_a_tie_goes_to_the_approach_the_comparison_favours_but_never_beats_a_nearer_pose():
    def ad(approach: str, mse: float | None) -> Ad:
        return Ad(0, "", {}, [], [], [], [], mse, None, [], approach=approach)

    assert pick_best([ad("1", 0.2), ad("2", 0.2)], favoured="2").approach == "2"
    assert pick_best([ad("1", None), ad("2", None)], favoured="2").approach == "2"
    assert pick_best([ad("1", 0.1), ad("2", 0.5)], favoured="2").approach == "1"


def test_approach_2_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "params.yaml").write_text("{}\n")
    bag = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    bag.paste((150, 60, 20, 255), (2, 2, 6, 6))
    bag.save(tmp_path / "bag.png")
    (tmp_path / "pose.json").write_text(json.dumps(pose(1).tolist()))
    assert _run(tmp_path, "--approach", "2", "-o", "x") == 2
    err = capsys.readouterr().err
    assert "no trained dpig under" in err and "Traceback" not in err and err.strip().count("\n") == 0
    assert _run(tmp_path, "--approach", "9", "-o", "x") == 2  # no model declares an approach 9
    err = capsys.readouterr().err
    assert "--approach '9': choose 1 (StyleGAN2 → GFLA), 2 (DPIG), 3 (StyleGAN2 → PIDM), dcgan-gfla" in err
    (tmp_path / "pose.json").write_text(json.dumps([[-1, -1, 0]] * 18))
    assert _run(tmp_path, "--approach", "2", "-o", "x") == 2
    assert "no keypoint is present" in capsys.readouterr().err
    (tmp_path / "pose.json").write_text(json.dumps([[0.5, 0.5, 1]] * 17))
    assert _run(tmp_path, "--approach", "best", "-o", "x") == 2
    assert "18 OpenPose keypoints" in capsys.readouterr().err
    (tmp_path / "params.yaml").write_text("generate:\n  approach: 2\n  dpig_checkpoint: missing.pt\n")
    (tmp_path / "pose.json").write_text(json.dumps(pose(1).tolist()))
    assert _run(tmp_path, "-o", "x") == 2
    assert "generate.dpig_checkpoint: " in capsys.readouterr().err


@pytest.fixture(scope="module")
def three(both, tmp_path_factory) -> Path:
    """A copy of the approach-1-and-2 project plus a tiny PIDM (demo preset, two steps) trained on
    its GFLA pairs and a tiny DCGAN (demo preset, 4 steps, 32x16 like the StyleGAN2 people): every
    chain can run. A copy, so the tests on `both` see neither."""
    import shutil

    from adgen.models.dcgan.config import DcganParams
    from adgen.models.dcgan.train import train as train_dcgan
    from adgen.models.pidm.config import preset
    from adgen.models.pidm.train import train
    from adgen.models.registry import TrainJob, with_preset

    root = tmp_path_factory.mktemp("three") / "project"
    shutil.copytree(both, root)
    torch.set_num_threads(1)
    options = preset("demo", dataset=root / "gfla", device="cpu").model_copy(
        update={"total_steps": 2, "tick_steps": 1, "checkpoint_steps": 2, "sample_steps_ddim": 2}
    )
    train(TrainJob(None, options, root / "models" / "pidm" / "00000-demo", None), echo=False)
    dc = with_preset(DcganParams(dataset=root / "people.zip", device="cpu"), "demo")
    train_dcgan(
        TrainJob(
            None, dc.model_copy(update={"total_steps": 4}), root / "models" / "dcgan" / "00000-demo", None
        )
    )
    return root


@pytest.mark.slow
def test_approach_3_re_poses_stylegan2_people_with_pidm_and_places_the_bag(three, capsys):
    assert _run(three, "--approach", "3", "--seed", "3", "-o", "out3") == 0, capsys.readouterr().err
    out = three / "out3"
    for seed in (3, 4):
        folder = out / f"seed-{seed}"
        assert (folder / "ad.png").is_file() and (folder / "requested_pose.png").is_file()
        info = json.loads((folder / "ad.json").read_text())
        assert info["approach"] == "3" and np.allclose(info["requested"], pose(7))
        assert any("PIDM" in step for step in info["files"]), info["files"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["approach"] == "3" and metrics["ads"] == 2
    assert set(metrics["checkpoints"]) == {"stylegan2", "pidm", "stgan"}
    page = (out / "index.html").read_text()
    assert "PIDM moves them into the requested pose" in page


@pytest.mark.slow
def test_people_and_pose_transfer_run_the_combined_chain_dcgan_to_pidm(three, capsys):
    args = ("--people", "dcgan", "--pose-transfer", "pidm", "--seed", "3", "-o", "dcgan-pidm")
    assert _run(three, *args) == 0, capsys.readouterr().err
    out = three / "dcgan-pidm"
    from adgen.models.dcgan.api import load_sampler

    dcgan = load_sampler(three / "models" / "dcgan" / "00000-demo")
    for seed in (3, 4):
        folder = out / f"seed-{seed}"
        for name in ("person.png", "person_pose.png", "requested_pose.png", "reposed.png", "ad.png"):
            assert (folder / name).is_file(), name
        info = json.loads((folder / "ad.json").read_text())
        assert info["approach"] == "dcgan-pidm" and np.allclose(info["requested"], pose(7))
        assert "1 person (DCGAN)" in info["files"] and "4 re-posed (PIDM)" in info["files"]
        want = dcgan.sample([seed], 0.7)[0].convert("RGB")  # generate.truncation: DCGAN's person for the seed
        assert np.array_equal(np.asarray(Image.open(folder / "person.png")), np.asarray(want))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["approach"] == "dcgan-pidm" and metrics["ads"] == 2
    assert set(metrics["checkpoints"]) == {"dcgan", "pidm", "stgan"}
    page = (out / "index.html").read_text()
    assert "DCGAN draws a new person, PIDM moves them into the requested pose" in page


@pytest.mark.slow
def test_best_with_every_model_trained_runs_every_chain_declared_and_combined(three, capsys):
    assert _run(three, "--approach", "best", "--n", "1", "-o", "best3") == 0, capsys.readouterr().err
    out = three / "best3"
    metrics = json.loads((out / "metrics.json").read_text())
    assert "skipped_approaches" not in metrics
    assert set(metrics["checkpoints"]) == {"dcgan", "stylegan2", "gfla", "dpig", "pidm", "stgan"}
    info = json.loads((out / "seed-0" / "ad.json").read_text())
    ids = ["1", "2", "3", "dcgan-gfla", "dcgan-pidm"]
    assert [c["approach"] for c in info["candidates"]] == ids
    assert sum(metrics[f"ads_from_approach_{a}"] for a in ids) == 1
    page = (out / "index.html").read_text()
    for a in ids:
        assert (out / "seed-0" / f"approach-{a}" / "ad.png").is_file()
        assert f'src="seed-0/approach-{a}/ad.png"' in page
    assert "approach dcgan-gfla: DCGAN → GFLA → ST-GAN" in page
    assert info["folder"] == f"seed-0/approach-{info['approach']}"
