"""A tiny GFLA trains real steps on CPU in both stages and resumes exactly."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
import yaml

from adgen.models.gfla.data import GflaPairs
from adgen.models.gfla.train import train
from adgen.training import checkpoint
from tests.torchrun import torchrun

from .helpers import job, tiny_params


def _params(state, prefix):
    return {k: v.clone() for k, v in state.items() if k.startswith(prefix)}


def test_dataset_reads_the_official_layout_with_pose_heatmaps(gfla_dataset, vgg19_file):
    data = GflaPairs(gfla_dataset, "train", tiny_params(vgg19_file))
    item = data[0]
    assert item["P1"].shape == (3, 64, 64) and -1 <= item["P1"].min() and item["P1"].max() <= 1
    assert item["BP1"].shape == (18, 64, 64) and item["BP1"].max() == 1.0
    assert len(data) == 4 * 2  # 4 people x 2 ordered pairs of their 2 poses


def test_tiny_gfla_trains_flow_estimator_then_whole_generator(gfla_dataset, vgg19_file, tmp_path):
    p = tiny_params(vgg19_file, flow_steps=2, steps=2, checkpoint_every=2)
    run = tmp_path / "run"
    r1 = train(job(p, gfla_dataset, run), stop_at=2, echo=False)
    s0 = checkpoint.load(r1.checkpoint, restore_rng=False)
    assert s0["step"] == 2 and s0["stage"] == 1
    # stage 1 moved the flow estimator only
    from adgen.models.gfla.model import build

    torch.manual_seed(p.seed)
    g_init, _ = build(p)
    init = g_init.state_dict()
    assert any(not torch.equal(init[k], v) for k, v in _params(s0["g"], "flow_net.").items())
    assert all(torch.equal(init[k], v) for k, v in _params(s0["g"], "source.").items())
    assert all(torch.equal(init[k], v) for k, v in _params(s0["g"], "target.").items())

    r2 = train(job(p, gfla_dataset, run, tmp_path / "metrics"), echo=False)
    s1 = checkpoint.load(r2.checkpoint, restore_rng=False)
    assert r2.steps == 4 and s1["stage"] == 2
    assert any(not torch.equal(s0["g"][k], v) for k, v in _params(s1["g"], "target.").items())
    assert any(not torch.equal(s0["d"][k], v) for k, v in s1["d"].items() if k.endswith("weight_orig"))
    assert set(r2.last) >= {"l1", "correctness", "adversarial", "regularization", "style", "content", "d"}
    assert all(torch.isfinite(torch.tensor(v)) for v in r2.last.values())
    metrics = json.loads((tmp_path / "metrics" / "gfla.json").read_text())
    assert metrics["step"] == 4 and metrics["stage"] == 2
    assert "preset" not in metrics and "run_dir" not in metrics  # numbers only: DVC compares them
    info = json.loads((tmp_path / "metrics" / "gfla.info.json").read_text())
    assert info["preset"] == p.preset and Path(info["run_dir"]) == Path(run)
    lines = (tmp_path / "metrics" / "gfla_loss.csv").read_text().splitlines()
    assert lines[0].startswith("step,stage,") and len(lines) == 1 + 4
    assert (run / "samples" / "step-000000002.png").is_file() and (run / "training_options.json").is_file()


@pytest.mark.slow
def test_resuming_gives_the_same_weights_as_one_uninterrupted_run(gfla_dataset, vgg19_file, tmp_path):
    p = tiny_params(vgg19_file, flow_steps=2, steps=2, checkpoint_every=1, keep_checkpoints=10)
    straight = train(job(p, gfla_dataset, tmp_path / "a"), echo=False)
    train(job(p, gfla_dataset, tmp_path / "b"), stop_at=3, echo=False)  # crosses into stage 2, then stops
    resumed = train(job(p, gfla_dataset, tmp_path / "b"), echo=False)
    a = checkpoint.load(straight.checkpoint, restore_rng=False)
    b = checkpoint.load(resumed.checkpoint, restore_rng=False)
    assert a["step"] == b["step"] == 4
    for net in ("g", "d"):
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), (net, k)
    assert a["opt_g"]["state"][0]["exp_avg_sq"].equal(b["opt_g"]["state"][0]["exp_avg_sq"])


def _adgen_in_process(monkeypatch, *args: str) -> int:
    """`adgen …` in this process (its real entry point: UserError → one line, exit 2)."""
    from adgen.cli import main

    monkeypatch.setattr(sys, "argv", ["adgen", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.slow
def test_cli_dry_run_prints_the_official_counts_and_a_demo_run_trains(
    gfla_dataset, vgg19_file, tmp_path, monkeypatch, capsys
):
    params = {
        "paths": {"models": str(tmp_path / "models"), "metrics": str(tmp_path / "metrics")},
        "train": {"gfla": {"preset": "deepfashion256", "dataset": str(gfla_dataset)}},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    base = ["--params", str(tmp_path / "params.yaml"), "train", "gfla"]
    assert _adgen_in_process(monkeypatch, *base, "--dry-run") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"]["G"] == 14_047_395 and info["parameters"]["D"] == 664_577

    assert _adgen_in_process(monkeypatch, *base, "--preset", "demo") == 2
    err = capsys.readouterr().err
    assert "train.gfla.vgg19_weights is not set" in err and "Traceback" not in err
    assert not (tmp_path / "models" / "gfla").exists()

    params["train"]["gfla"].update(
        {
            "vgg19_weights": str(vgg19_file),
            "height": 64,
            "width": 64,
            "flow_steps": 1,
            "steps": 1,
            "ngf": 4,
            "img_f": 16,
            "flow_ngf": 4,
            "flow_img_f": 16,
            "ndf": 4,
            "d_img_f": 8,
        }
    )
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert _adgen_in_process(monkeypatch, *base, "--preset", "demo") == 0
    runs = list((tmp_path / "models" / "gfla").iterdir())
    assert [r.name for r in runs] == ["00000-gfla-64x64-demo"]
    assert checkpoint.latest(runs[0]).name == "checkpoint-000000002.pt"


def test_a_pair_naming_a_missing_image_is_a_one_line_error(gfla_dataset, vgg19_file, tmp_path):
    import shutil

    from adgen.errors import UserError

    copy = shutil.copytree(gfla_dataset, tmp_path / "gfla")
    (copy / "train" / "id01_1.jpg").unlink()
    with pytest.raises(UserError, match=r"image train/id01_1\.jpg is missing"):
        GflaPairs(copy, "train", tiny_params(vgg19_file))


@pytest.mark.slow
def test_ddp_on_two_processes_equals_one_process_on_the_whole_batch(gfla_dataset, vgg19_file, tmp_path, port):
    """torchrun with 2 CPU processes (gloo): each takes half of every batch, gradients are averaged."""
    p = tiny_params(vgg19_file, batch=4, flow_steps=1, steps=1)
    single = train(job(p, gfla_dataset, tmp_path / "single"), echo=False)
    params = {
        "paths": {"models": str(tmp_path / "models")},
        "train": {"gfla": {**p.model_dump(mode="json"), "preset": "demo", "dataset": str(gfla_dataset)}},
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    cmd = [
        "-m",
        "adgen.cli",
        "--params",
        tmp_path / "params.yaml",
        "train",
        "gfla",
        "--run-dir",
        tmp_path / "ddp",
    ]
    done = torchrun(cmd, port=port, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    a = checkpoint.load(single.checkpoint, restore_rng=False)
    b = checkpoint.load(checkpoint.latest(tmp_path / "ddp"), restore_rng=False)
    assert a["step"] == b["step"] == 2
    # Adam's first steps move a weight by about lr * sign(grad), so a gradient that is ~0 up to float
    # rounding (summed in another order across processes) can move either way: allow lr-sized
    # differences on a few elements, demand agreement on the rest
    # (biases before an instance norm get ~0 gradients, for instance)
    for net in ("g", "d"):
        diff = torch.cat([(a[net][k].float() - b[net][k].float()).abs().flatten() for k in a[net]])
        assert diff.max() <= 2.5 * p.lr_g, (net, diff.max())
        assert (diff > 1e-5).float().mean() <= 0.01, (net, (diff > 1e-5).float().mean())
