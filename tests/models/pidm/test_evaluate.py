"""`adgen evaluate pidm`: the DDIM step curve on held-out pairs — the same pairs and noise at every
count, each count scored against the real target and the largest count, deterministic per seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from PIL import Image
from typer.testing import CliRunner

from adgen.cli import app
from adgen.errors import UserError
from adgen.metrics.pairs import PairMetricFiles
from adgen.models.pidm.api import load_pose_transfer
from adgen.models.pidm.config import preset
from adgen.models.pidm.data import PidmPairs
from adgen.models.pidm.diffusion import Guidance
from adgen.models.pidm.evaluate import check_steps, closeness, evaluate_steps, parse_steps, sample_curve
from adgen.models.pidm.model import PidmUNet
from adgen.training import checkpoint
from tests.models.gfla.helpers import write_dataset

TIMING = ("s_per_image", "images_per_s")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    """(dataset, checkpoint): GFLA-layout pairs and a demo-size PIDM checkpoint with random weights
    (a fresh network's zero output layers would give the same image at every step count)."""
    root = tmp_path_factory.mktemp("pidm-eval")
    data = write_dataset(root / "gfla", people=2, poses=2)
    torch.set_num_threads(1)
    p = preset("demo", device="cpu")
    model = PidmUNet(p)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for q in model.parameters():
            q.copy_(torch.randn(q.shape, generator=g) * 0.05)
    state = {"model": "pidm", "step": 1, "ema": model.state_dict(), "params": p.model_dump(mode="json")}
    return data, checkpoint.save(root / "checkpoint-000000001.pt", state)


def _numbers(result: dict) -> dict:
    return {n: {k: v for k, v in row.items() if k not in TIMING} for n, row in result["steps"].items()}


def test_every_step_count_is_scored_on_the_same_pairs_and_noise_and_the_reference_is_itself(tiny):
    data, ckpt = tiny
    transfer = load_pose_transfer(ckpt)
    p = preset("demo")
    run = lambda: evaluate_steps(transfer, data, p, [2, 4], 2, Guidance(), PairMetricFiles(), seed=3, batch=2)  # noqa: E731
    result, board = run()
    assert result["reference_steps"] == 4 and result["pairs"] == 2
    assert list(result["steps"]) == ["4", "2"]  # largest first
    four, two = result["steps"]["4"], result["steps"]["2"]
    assert four["mad_to_reference"] == 0 and "psnr_to_reference" not in four
    assert two["mad_to_reference"] > 0 and 0 < two["psnr_to_reference"] < 100
    assert all(-1 <= r["ssim"] <= 1 and r["s_per_image"] > 0 and r["images_per_s"] > 0 for r in (four, two))
    assert result["fid_skipped"] == "metrics.fid_inception_graph is not set"
    assert result["lpips_skipped"] == "metrics.lpips_weights is not set"
    # rows = pairs, columns = source, pose, 4 steps, 2 steps, real (32 px cells scaled to 96)
    assert board.size == (5 * (96 + 2) + 2, 14 + 2 * (96 + 2) + 2)
    again, board2 = run()
    assert _numbers(again) == _numbers(result)  # the same seed: the same images, the same scores
    assert list(board.getdata()) == list(board2.getdata())


def test_the_noise_is_seeded_per_pair_not_per_batch(tiny):
    data, ckpt = tiny
    transfer = load_pose_transfer(ckpt)
    pairs = PidmPairs(data, "test", transfer.params)
    _, one = sample_curve(transfer, pairs, 2, [2], Guidance(), seed=0, batch=1)
    _, two = sample_curve(transfer, pairs, 2, [2], Guidance(), seed=0, batch=2)
    _, other = sample_curve(transfer, pairs, 2, [2], Guidance(), seed=1, batch=2)
    assert closeness(one[0].images, two[0].images)["mad_to_reference"] < 0.05  # batching: float noise only
    assert closeness(other[0].images, two[0].images)["mad_to_reference"] > 1


def test_the_closeness_is_the_8_bit_difference_and_psnr():
    a = Image.new("RGB", (4, 4), (100, 100, 100))
    b = Image.new("RGB", (4, 4), (110, 100, 100))
    got = closeness([a], [b])
    assert got["mad_to_reference"] == pytest.approx(10 / 3)
    assert got["psnr_to_reference"] == pytest.approx(10 * __import__("math").log10(255**2 / (100 / 3)))


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((3,), "3 DDIM steps would walk 4 (range(0, 1000, 333)); use a count that divides 1000, e.g. 2 or 4"),
        ((30,), "e.g. 25 or 40"),
        ((0,), "0 DDIM steps; the network has 1000 timesteps (1 to 1000)"),
        ((1001,), "1001 DDIM steps; the network has 1000 timesteps"),
    ],
)
def test_a_step_count_the_sampler_would_not_walk_exactly_is_one_line(steps, message):
    with pytest.raises(UserError, match=r"^--steps: ") as err:
        check_steps(steps, 1000, "--steps")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_steps_are_parsed_deduplicated_and_ordered_largest_first():
    assert check_steps(parse_steps("25, 1000,100,25"), 1000, "--steps") == (1000, 100, 25)
    for bad in ("a,b", "", " , "):
        with pytest.raises(UserError, match="^--steps"):
            parse_steps(bad)


def _settings(tmp_path: Path, data: Path) -> Path:
    settings = {"paths": {"metrics": "m"}, "train": {"pidm": {"dataset": str(data), "preset": "demo"}}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(settings))
    return tmp_path / "params.yaml"


def test_evaluate_pidm_is_registered_and_writes_the_curve_as_dvc_metrics(tiny, tmp_path):
    data, ckpt = tiny
    args = ["--params", str(_settings(tmp_path, data)), "evaluate", "pidm", "--checkpoint", str(ckpt)]
    out = CliRunner().invoke(app, [*args, "--steps", "2,4", "--pairs", "2", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    numbers = json.loads((tmp_path / "m" / "pidm_steps.json").read_text())
    info = json.loads((tmp_path / "m" / "pidm_steps.info.json").read_text())
    assert set(numbers["steps"]) == {"2", "4"} and numbers["steps"]["4"]["mad_to_reference"] == 0
    assert numbers["pairs"] == 2 and numbers["reference_steps"] == 4
    assert info["checkpoint"] == str(ckpt) and info["device"] == "cpu"
    assert info["fid_skipped"] == "metrics.fid_inception_graph is not set"
    with Image.open(tmp_path / "m" / "pidm_steps_grid.png") as grid:
        assert grid.width == 5 * (96 + 2) + 2
    assert "|Δ| to 4" in out.output and "img/s" in out.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--steps", "3"], "--steps: 3 DDIM steps would walk 4"),
        (["--steps", "x"], "--steps 'x': comma-separated DDIM step counts"),
        (["--device", "tpu"], "--device 'tpu': cpu, cuda, cuda:N or auto"),
    ],
)
def test_bad_steps_or_device_are_one_line_before_any_sampling(tiny, tmp_path, extra, message):
    data, ckpt = tiny
    args = ["--params", str(_settings(tmp_path, data)), "evaluate", "pidm", "--checkpoint", str(ckpt)]
    out = CliRunner().invoke(app, [*args, *extra])
    assert isinstance(out.exception, UserError), out.output
    assert str(out.exception).startswith(message) and "\n" not in str(out.exception)
    assert not (tmp_path / "m").exists()


def test_the_eval_keys_are_bounded_in_params():
    from pydantic import ValidationError

    assert preset("deepfashion256").eval_steps == (1000, 100, 50, 25)
    with pytest.raises(ValidationError, match="at most 1000 DDIM steps"):
        preset("demo", eval_steps=(2000,))
    with pytest.raises(ValidationError, match="1 to 16 DDIM step counts"):
        preset("demo", eval_steps=())


def test_the_report_shows_the_step_curve_in_pidms_panel(tiny, tmp_path):
    import re

    from adgen import config
    from adgen.report.build import build_report

    data, ckpt = tiny
    args = ["--params", str(_settings(tmp_path, data)), "evaluate", "pidm", "--checkpoint", str(ckpt)]
    assert CliRunner().invoke(app, [*args, "--steps", "2,4", "--pairs", "2"]).exit_code == 0
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"paths": {"metrics": "m"}}))
    html = build_report(config.load(tmp_path / "params.yaml")).index.read_text()
    training = html.split('id="training"')[1].split("</section>")[0]
    (src, caption) = re.findall(
        r'<img src="([^"]+)"[^>]*>.*?<figcaption>([^<]+)</figcaption>', training, re.S
    )[0]
    assert "PIDM against the DDIM step count (2 held-out pairs; 4 steps: SSIM" in caption
    assert "2 steps: SSIM" in caption and "|Δ| to 4 0.00" in caption
    with (
        Image.open(tmp_path / "report" / src) as shown,
        Image.open(tmp_path / "m" / "pidm_steps_grid.png") as grid,
    ):
        assert shown.size == grid.size


def test_a_crafted_checkpoint_is_refused_without_running_it(tiny, tmp_path):
    from tests.hostile.conftest import crafted_checkpoint

    data, _ = tiny
    marker = tmp_path / "ran"
    evil = crafted_checkpoint(tmp_path / "checkpoint-000000001.pt", marker, model="pidm")
    args = ["--params", str(_settings(tmp_path, data)), "evaluate", "pidm", "--checkpoint", str(evil)]
    out = CliRunner().invoke(app, [*args, "--steps", "2"])
    assert isinstance(out.exception, UserError) and "was not loaded" in str(out.exception)
    assert not marker.exists() and not (tmp_path / "m").exists()
