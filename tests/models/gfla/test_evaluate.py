"""GFLA on held-out pairs: SSIM always, LPIPS from user-supplied weight files, FID skipped without its graph."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from adgen import config
from adgen.errors import UserError
from adgen.metrics.lpips import lpips_distance
from adgen.metrics.pairs import PairMetricFiles, pair_metric_files, score_pairs
from adgen.models.gfla.api import load_pose_transfer
from adgen.models.gfla.evaluate import gfla_held_out
from adgen.models.gfla.model import build
from adgen.training import checkpoint
from tests.models.gfla.helpers import tiny_params, write_dataset


def _lpips_files(tmp_path):
    """torchvision's AlexNet key names and the lpips package's head names, written out here
    (random values: the real files can't be fetched)."""
    g = torch.Generator().manual_seed(0)
    convs = {0: (64, 3, 11), 3: (192, 64, 5), 6: (384, 192, 3), 8: (256, 384, 3), 10: (256, 256, 3)}
    alex = {}
    for i, (cout, cin, k) in convs.items():
        alex[f"features.{i}.weight"] = torch.randn(cout, cin, k, k, generator=g) * (2 / (cin * k * k)) ** 0.5
        alex[f"features.{i}.bias"] = torch.zeros(cout)
    alex["classifier.1.weight"] = torch.zeros(4, 4)  # torchvision's file has a classifier; it is not used
    lin = {
        f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1, generator=g) * 0.1
        for i, c in enumerate((64, 192, 384, 256, 256))
    }
    torch.save(alex, tmp_path / "alexnet-owt.pth")
    torch.save(lin, tmp_path / "alex.pth")
    return tmp_path / "alex.pth", tmp_path / "alexnet-owt.pth"


def test_lpips_is_zero_for_identical_images_and_grows_with_the_difference(tmp_path):
    lin, alex = _lpips_files(tmp_path)
    a = Image.new("RGB", (64, 64), (120, 80, 40))
    b = a.copy()
    b.paste((10, 200, 30), (16, 16, 48, 48))
    c = a.copy()
    c.paste((10, 200, 30), (28, 28, 36, 36))
    same, big, small = lpips_distance([a, a, a], [a, b, c], lin, alex)
    assert same == pytest.approx(0.0, abs=1e-9) and big > small > 0
    with pytest.raises(UserError, match="lin0.model.1.weight|features"):
        lpips_distance([a], [a], alex)  # the backbone alone is not enough


def test_gfla_held_out_scores_ssim_and_lpips_and_skips_fid_without_its_graph(tmp_path):
    data = write_dataset(tmp_path / "gfla", people=2)
    p = tiny_params(tmp_path / "unused-vgg.pth")
    g, _ = build(p)
    ckpt = checkpoint.save(
        tmp_path / "checkpoint-000000001.pt", {"g": g.state_dict(), "params": p.model_dump(mode="json")}
    )
    transfer = load_pose_transfer(ckpt)
    generated, real = gfla_held_out(transfer, data, p, n_pairs=3, batch=2)
    assert len(generated) == len(real) == 3 and generated[0].size == (64, 64)

    lin, alex = _lpips_files(tmp_path)
    params = config.from_dict(
        {"metrics": {"lpips_weights": str(lin), "lpips_alexnet_weights": str(alex)}}, root=tmp_path
    )
    scores = score_pairs(generated, real, pair_metric_files(params))
    assert scores["pairs"] == 3 and -1 <= scores["ssim"] < 1 and scores["lpips"] > 0
    assert scores["fid_skipped"] == "metrics.fid_inception_graph is not set"
    assert score_pairs(real, real, PairMetricFiles())["ssim"] == pytest.approx(1.0)
    assert score_pairs(real, real, PairMetricFiles())["lpips_skipped"] == "metrics.lpips_weights is not set"
    # GFLA's older keys are still read when metrics.lpips_weights is unset
    old = config.from_dict(
        {"train": {"gfla": {"lpips_weights": str(lin), "lpips_alexnet_weights": str(alex)}}}, root=tmp_path
    )
    files = pair_metric_files(old, old.train.gfla)
    assert files.lpips_weights == lin and files.lpips_setting == "train.gfla.lpips_weights"
    # a real photo of another size is compared at the generated image's size
    big = [im.resize((128, 128)) for im in real]
    assert score_pairs(real, big, PairMetricFiles())["ssim"] > 0.9


def test_evaluate_gfla_command_writes_the_held_out_scores_as_dvc_metrics(tmp_path):
    """`adgen evaluate gfla`, registered by GFLA's declaration, on a tiny trained checkpoint."""
    import json

    import yaml
    from typer.testing import CliRunner

    from adgen.cli import app

    data = write_dataset(tmp_path / "gfla", people=2)
    p = tiny_params(tmp_path / "unused-vgg.pth")
    g, _ = build(p)
    ckpt = checkpoint.save(
        tmp_path / "checkpoint-000000001.pt", {"g": g.state_dict(), "params": p.model_dump(mode="json")}
    )
    settings = {"paths": {"metrics": "m"}, "train": {"gfla": {"dataset": str(data), "preset": "demo"}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings))
    args = ["--params", str(tmp_path / "params.yaml"), "evaluate", "gfla", "--checkpoint", str(ckpt)]
    out = CliRunner().invoke(app, [*args, "--pairs", "2"])
    assert out.exit_code == 0, out.output
    numbers = json.loads((tmp_path / "m" / "gfla_eval.json").read_text())
    info = json.loads((tmp_path / "m" / "gfla_eval.info.json").read_text())
    assert numbers["pairs"] == 2 and -1 <= numbers["ssim"] < 1
    assert info["checkpoint"] == str(ckpt) and info["lpips_skipped"] == "metrics.lpips_weights is not set"
