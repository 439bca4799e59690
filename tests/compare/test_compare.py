"""`adgen evaluate compare` end to end on tiny DCGAN, StyleGAN2 and GFLA checkpoints trained here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from adgen.generate.best import best_approach
from adgen.report.compare import section_html

from .conftest import write_held_out


@pytest.fixture(scope="module")
def project(tmp_path_factory, pose_model, fid_graph) -> Path:
    """paths.models holds one tiny run of DCGAN, StyleGAN2 and GFLA; the GFLA held-out split exists."""
    from adgen.models.dcgan.config import DcganParams
    from adgen.models.dcgan.train import train as train_dcgan
    from adgen.models.gfla.train import train as train_gfla
    from adgen.models.registry import TrainJob, with_preset
    from adgen.models.stylegan2.config import StyleGAN2Params
    from adgen.models.stylegan2.data import write_zip
    from adgen.models.stylegan2.train import train as train_stylegan2
    from tests.models.gfla.helpers import job as gfla_job
    from tests.models.gfla.helpers import tiny_params, write_dataset, write_vgg19
    from tests.models.stylegan2.conftest import tall_people

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("compare-project")
    models = root / "data" / "models"
    zip_path = write_zip(root / "people.zip", tall_people(8))
    dc = with_preset(DcganParams(dataset=zip_path, device="cpu"), "demo").model_copy(
        update={"total_steps": 4}
    )
    train_dcgan(TrainJob(None, dc, models / "dcgan" / "00000-demo", None))
    sg = with_preset(
        StyleGAN2Params(dataset=zip_path, device="cpu", total_kimg=0.008, checkpoint_kimg=0.008,
                        tick_kimg=0.008, sample_kimg=0.008),
        "demo",
    )  # fmt: skip
    train_stylegan2(sg, models / "stylegan2" / "00000-demo", echo=False)
    vgg = write_vgg19(root / "vgg19.pth")
    gp = tiny_params(vgg, flow_steps=1, steps=1, checkpoint_every=1)
    train_gfla(
        gfla_job(gp, write_dataset(root / "gfla-train", people=2), models / "gfla" / "00000-demo"), echo=False
    )
    write_held_out(root / "data" / "datasets" / "gfla", deepfashion=2, curated=2)
    (root / "params.yaml").write_text(
        yaml.safe_dump(
            {
                "pose": {"model": str(pose_model)},
                "metrics": {"fid_inception_graph": str(fid_graph)},
            }
        )
    )
    return root


def _adgen(root: Path, *args: str):
    from adgen.cli import app

    return CliRunner().invoke(app, ["--params", str(root / "params.yaml"), *args], catch_exceptions=False)


@pytest.mark.slow
def test_every_trained_generator_is_scored_on_the_same_poses_and_the_rest_say_how_to_train(project):
    built = _adgen(project, "evaluate", "compare-set")
    assert built.exit_code == 0, built.output
    assert "4 target poses (2 DeepFashion, 2 curated), 3 with a held-out pair" in built.output
    ran = _adgen(project, "evaluate", "compare")
    assert ran.exit_code == 0, ran.output

    metrics = project / "metrics"  # paths.metrics: the git-tracked metrics dir
    numbers = json.loads((metrics / "compare.json").read_text())
    info = json.loads((metrics / "compare.info.json").read_text())
    gens = numbers["generators"]
    # DCGAN and GFLA are trained: the combined chain DCGAN → GFLA is scored too (registry.chains)
    assert set(gens) == {"dcgan", "stylegan2", "approach1", "dcgan_gfla"}
    for name in ("dcgan", "stylegan2", "approach1", "dcgan_gfla"):
        assert gens[name]["images"] == 4 * 4  # K poses x N seeds (compare.seeds default 4)
        assert gens[name]["fid"] > 0 and gens[name]["images_per_second"] > 0
        assert 0 <= gens[name]["full_body_share"] <= 1
        assert info["generators"][name]["status"] == "scored"
        assert (
            info["generators"][name]["inception_score_skipped"] == "metrics.inception_v3_weights is not set"
        )
    assert "pose_mse" in gens["approach1"] or "pose_mse_skipped" in info["generators"]["approach1"]
    assert "pose_mse" not in gens["dcgan"] and "pose_mse" not in gens["stylegan2"]
    assert info["generators"]["approach2"]["status"] == "not trained"
    assert info["generators"]["approach2"]["command"] == "adgen train dpig"
    assert info["generators"]["approach1"]["checkpoints"]["gfla"].endswith(".pt")
    # GFLA, approach 1's transfer step, on the real held-out pairs: 3 of the 4 targets end one
    assert numbers["held_out_pairs"] == gens["approach1"]["pairs"] == 3
    assert -1 <= gens["approach1"]["pair_ssim"] < 1 and gens["approach1"]["pair_fid"] > 0
    assert gens["approach1"]["transfers_per_second"] > 0
    assert gens["dcgan_gfla"]["pair_ssim"] == gens["approach1"]["pair_ssim"]  # one GFLA, scored once
    assert info["generators"]["approach1"]["pair_lpips_skipped"] == "metrics.lpips_weights is not set"
    assert "real held-out pairs" in info["generators"]["approach1"]["pair_scores"]
    assert not any(k.startswith("pair") for k in {**gens["dcgan"], **gens["stylegan2"]})  # no transfer step
    assert "pair SSIM ↑" in ran.output and "(* the best of its column)" in ran.output
    assert set(info["generators"]["dcgan_gfla"]["checkpoints"]) == {"dcgan", "gfla"}
    assert info["generators"]["dcgan_gfla"]["label"] == "Approach dcgan-gfla: DCGAN → GFLA"
    assert info["generators"]["dcgan_pidm"]["status"] == "not trained"
    assert info["generators"]["dcgan_pidm"]["command"] == "adgen train dcgan && adgen train pidm"

    with Image.open(metrics / "compare_grid.png") as grid:
        assert grid.size[1] > 4 * 128  # one row per target pose
    assert best_approach(metrics / "compare.json") in {"1", "dcgan-gfla"}  # the chains trained

    report = project / "report"
    fragment = section_html(metrics, report, report / "assets")
    assert "DCGAN" in fragment and "not trained: adgen train dpig" in fragment
    assert "Approach dcgan-gfla: DCGAN → GFLA" in fragment
    assert 'src="assets/compare-grid.png"' in fragment and (report / "assets" / "compare-grid.png").is_file()
    assert "inception_score skipped: metrics.inception_v3_weights is not set" in fragment


@pytest.mark.slow
def test_without_any_run_every_generator_is_not_trained_with_its_command(project, tmp_path):
    from adgen import config
    from adgen.compare.generators import Missing, find_generators
    from adgen.config.compare import CompareParams

    params = config.from_dict({"paths": {"models": str(tmp_path / "empty")}}, root=project)
    found = find_generators(params, CompareParams(), None, "no pose model")
    assert all(isinstance(f, Missing) and f.status == "not trained" for f in found)
    assert [f.command for f in found] == [
        "adgen train dcgan", "adgen train stylegan2", "adgen train stylegan2 && adgen train gfla", "adgen train dpig",
        "adgen train stylegan2 && adgen train pidm", "adgen train dcgan && adgen train gfla",
        "adgen train dcgan && adgen train pidm",
    ]  # fmt: skip


def test_without_an_evaluation_set_compare_is_a_one_line_error(tmp_path):
    (tmp_path / "params.yaml").write_text("{}\n")
    from adgen.cli import app

    result = CliRunner().invoke(app, ["--params", str(tmp_path / "params.yaml"), "evaluate", "compare"])
    assert "adgen evaluate compare-set" in str(result.exception)


@pytest.mark.slow
def test_a_trained_pidm_puts_approach_3_in_the_comparison_on_the_same_poses(project, tmp_path):
    """The role declaration alone makes StyleGAN2 → PIDM a compared chain (a copy of the project,
    so the test above still sees PIDM untrained)."""
    import shutil

    from adgen.models.pidm.config import preset
    from adgen.models.pidm.train import train as train_pidm
    from adgen.models.registry import TrainJob

    root = tmp_path / "project"
    shutil.copytree(project, root)
    options = preset("demo", dataset=root / "gfla-train", device="cpu").model_copy(
        update={"total_steps": 2, "tick_steps": 1, "checkpoint_steps": 2, "sample_steps_ddim": 2}
    )
    train_pidm(TrainJob(None, options, root / "data" / "models" / "pidm" / "00000-demo", None), echo=False)
    assert _adgen(root, "evaluate", "compare-set").exit_code == 0
    ran = _adgen(root, "evaluate", "compare")
    assert ran.exit_code == 0, ran.output
    gens = json.loads((root / "metrics" / "compare.json").read_text())["generators"]
    info = json.loads((root / "metrics" / "compare.info.json").read_text())["generators"]
    assert {"approach1", "approach3"} <= set(gens) and info["approach3"]["status"] == "scored"
    assert gens["approach3"]["images"] == gens["approach1"]["images"] == 4 * 4  # the same poses and seeds
    assert gens["approach3"]["fid"] > 0 and info["approach3"]["checkpoints"]["pidm"].endswith(".pt")
    # PIDM's transfer on the same held-out pairs as GFLA's (approach 1)
    assert gens["approach3"]["pairs"] == gens["approach1"]["pairs"] == 3
    assert -1 <= gens["approach3"]["pair_ssim"] < 1 and gens["approach3"]["pair_fid"] > 0
    assert gens["dcgan_pidm"]["images"] == 4 * 4  # and DCGAN → PIDM, the combined chain
    assert gens["dcgan_pidm"]["pair_ssim"] == gens["approach3"]["pair_ssim"]  # one PIDM, scored once
    assert best_approach(root / "metrics" / "compare.json") in {"1", "3", "dcgan-gfla", "dcgan-pidm"}
