"""Training promises: real steps on CPU, both lazy regularisers, EMA, exact resume after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from adgen.errors import UserError
from adgen.models.stylegan2.data import write_zip
from adgen.models.stylegan2.train import TIMING_KEYS, StyleGAN2Trainer, train
from adgen.training import checkpoint, dist
from tests.training.helpers import stats_rows

from .conftest import tall_people, write_params_yaml


def test_tiny_config_trains_real_steps_with_finite_losses_r1_pl_and_ema(demo_params, tmp_path):
    params = demo_params.model_copy(update={"total_kimg": 0.032, "tick_kimg": 0.008})  # 8 steps
    G0, _ = StyleGAN2Trainer(params, dist.setup("cpu")).G, None
    init = {k: v.clone() for k, v in G0.state_dict().items()}
    result = train(params, tmp_path / "run", metrics_dir=tmp_path / "metrics", echo=False)

    assert result.steps == 8 and result.values["kimg"] == pytest.approx(0.032)
    stats = stats_rows(tmp_path / "run")
    assert len(stats) == 4
    for rec in stats:
        for key in ("loss/G", "loss/D_real", "loss/D_fake"):
            assert torch.isfinite(torch.tensor(rec[key]))
    # R1 every 4 steps and path length every 2 steps both ran, with finite, non-zero penalties
    assert any(rec.get("loss/r1", 0) > 0 for rec in stats)
    assert any(rec.get("loss/pl", 0) > 0 for rec in stats)
    assert all(rec["pl_mean"] > 0 for rec in stats)

    state = checkpoint.load(result.checkpoint, restore_rng=False)
    g, g_ema = state["G"], state["G_ema"]
    name = "synthesis.blocks.1.conv1.conv.weight"
    assert not torch.equal(g[name], init[name]), "G did not learn"
    assert not torch.equal(g_ema[name], init[name]), "G_ema did not follow G"
    assert not torch.equal(g_ema[name], g[name]), "G_ema is a copy, not an average"
    run = tmp_path / "run"
    assert (run / "training_options.json").exists() and (run / "log.txt").exists()
    assert list(run.glob("fakes-*.png"))
    metrics = json.loads((tmp_path / "metrics" / "stylegan2.json").read_text())
    assert metrics["steps"] == 8
    assert all(isinstance(v, int | float) for v in metrics.values()), metrics  # DVC compares numbers
    info = json.loads((tmp_path / "metrics" / "stylegan2.info.json").read_text())
    assert Path(info["checkpoint"]) == result.checkpoint
    assert (tmp_path / "metrics" / "stylegan2_loss.csv").read_text().startswith("step,loss_G")


def test_gradient_accumulation_runs_the_batch_in_rounds(demo_params, tmp_path):
    params = demo_params.model_copy(update={"batch_gpu": 2, "total_kimg": 0.008, "mbstd_group": 2})
    trainer = StyleGAN2Trainer(params, dist.setup("cpu"))
    assert trainer.rounds == 2
    result = train(params, tmp_path / "run", echo=False)
    assert result.steps == 2


def test_dataset_of_the_wrong_size_is_a_one_line_user_error(demo_params, tmp_path):
    square = write_zip(tmp_path / "square.zip", tall_people(2, 32, 32))
    with pytest.raises(UserError, match="32x32.*resolution is 32x16"):
        train(demo_params.model_copy(update={"dataset": square}), tmp_path / "run", echo=False)


def _cli(params_yaml: Path, run_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "adgen.cli",
        "--params",
        str(params_yaml),
        "train",
        "stylegan2",
        "--run-dir",
        str(run_dir),
    ]


def _clean(stats_path: Path) -> list[dict]:
    recs = [json.loads(x) for x in stats_path.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in recs]


@pytest.mark.slow
def test_run_killed_with_sigkill_resumes_exactly_as_if_never_stopped(tiny_zip, tmp_path):
    # 16 steps of 4 images, a checkpoint every 4 steps, a stats record every 2
    params_yaml = write_params_yaml(
        tmp_path / "params.yaml",
        tiny_zip,
        tmp_path / "models",
        tmp_path / "metrics",
        total_kimg=0.064,
        checkpoint_kimg=0.016,
        tick_kimg=0.008,
        sample_kimg=0,
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    straight = tmp_path / "straight"
    subprocess.run(_cli(params_yaml, straight), check=True, env=env, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        _cli(params_yaml, killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while checkpoint.latest(killed) is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    first = checkpoint.latest(killed)
    assert first is not None and int(first.stem.split("-")[1]) < 16, "killed after the run had finished"

    subprocess.run(_cli(params_yaml, killed), check=True, env=env, capture_output=True)
    assert "resumed from" in (killed / "log.txt").read_text()
    assert _clean(killed / "stats.jsonl") == _clean(straight / "stats.jsonl")
    a = checkpoint.load(checkpoint.latest(straight), restore_rng=False)
    b = checkpoint.load(checkpoint.latest(killed), restore_rng=False)
    assert a["step"] == b["step"] == 16
    for key in ("G", "D", "G_ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs after resume"


def test_dry_run_prints_the_resolved_config_and_parameter_counts(tiny_zip, tmp_path):
    params_yaml = write_params_yaml(
        tmp_path / "params.yaml", tiny_zip, tmp_path / "m", tmp_path / "x", resolution=[128, 128]
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "adgen.cli",
            "--params",
            str(params_yaml),
            "train",
            "stylegan2",
            "--preset",
            "paper",
            "--dry-run",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out)
    assert info["parameters"]["G"] == 29_328_669 and info["parameters"]["D"] == 28_389_121
    assert info["options"]["preset"] == "paper" and info["options"]["mapping_layers"] == 8
    assert not (tmp_path / "m").exists(), "a dry run must not create a run dir"


@pytest.mark.slow
def test_fid_is_tracked_in_stats_during_training(demo_params, tmp_path):
    from adgen.config.quality import MetricsParams
    from adgen.models.stylegan2.fid import fid_of_generator
    from tests.metrics.conftest import build_fid_graph

    graph = build_fid_graph(tmp_path / "classify_image_graph_def.pb")
    params = demo_params.model_copy(
        update={"total_kimg": 0.016, "tick_kimg": 0.008, "fid_kimg": 0.008, "fid_images": 12}
    )
    fid_fn = fid_of_generator(MetricsParams(fid_inception_graph=graph, batch_size=8), params, tmp_path)
    train(params, tmp_path / "run", metrics_dir=tmp_path / "metrics", fid_fn=fid_fn, echo=False)
    stats = stats_rows(tmp_path / "run")
    fids = [rec["fid"] for rec in stats]
    assert len(fids) == 2 and all(f > 0 for f in fids)
    assert json.loads((tmp_path / "metrics" / "stylegan2.json").read_text())["fid"] == fids[-1]


def test_fid_during_training_without_the_graph_fails_before_training(demo_params, tmp_path):
    from adgen.config.quality import MetricsParams
    from adgen.models.stylegan2.fid import fid_of_generator

    with pytest.raises(UserError, match="metrics.fid_inception_graph is not set"):
        fid_of_generator(MetricsParams(), demo_params, tmp_path)


def test_resuming_a_run_with_another_network_shape_is_a_user_error(demo_params, tmp_path):
    train(demo_params.model_copy(update={"total_kimg": 0.004}), tmp_path / "run", echo=False)
    wider = demo_params.model_copy(update={"total_kimg": 0.008, "channel_max": 64})
    with pytest.raises(UserError, match="trained with channel_max=32, params say 64"):
        train(wider, tmp_path / "run", echo=False)


@pytest.mark.skipif(not dist.cpu_has_native_bf16(), reason="this CPU has no native bfloat16")
def test_cpu_bf16_trains_the_main_phases_in_bfloat16_and_keeps_weights_float32(demo_params, tmp_path):
    params = demo_params.model_copy(update={"cpu_bf16": True, "total_kimg": 0.016})  # 4 steps
    trainer = StyleGAN2Trainer(params, dist.setup("cpu", cpu_bf16=True))
    assert trainer.rt.amp_dtype == torch.bfloat16
    with trainer.rt.autocast():
        img = trainer.G(torch.randn(2, params.z_dim))
        ws = trainer.G.mapping(torch.randn(2, params.z_dim))
    assert img.dtype == torch.bfloat16, "convolutions did not run in bf16"
    assert ws.dtype == torch.float32, "the mapping network must stay float32"

    result = train(params, tmp_path / "run", echo=False)
    stats = stats_rows(tmp_path / "run")
    assert result.steps == 4
    assert all(torch.isfinite(torch.tensor(r[k])) for r in stats for k in ("loss/G", "loss/D_real"))
    assert any(r.get("loss/r1", 0) > 0 for r in stats) and any(r.get("loss/pl", 0) > 0 for r in stats)
    state = checkpoint.load(result.checkpoint, restore_rng=False)
    assert all(v.dtype == torch.float32 for v in state["G"].values() if v.is_floating_point())


def test_cpu_bf16_on_a_cpu_without_native_bf16_is_a_one_line_error(monkeypatch):
    monkeypatch.setattr(dist, "cpu_has_native_bf16", lambda: False)
    with pytest.raises(UserError, match="cpu_bf16: false"):
        dist.setup("cpu", cpu_bf16=True)
    assert dist.setup("cpu", cpu_bf16=False).amp_dtype is None


_DDP_TRAIN = """
import sys, torch
from pathlib import Path
from adgen.models.stylegan2.config import StyleGAN2Params
from adgen.models.registry import with_preset
from adgen.models.stylegan2.train import train
torch.set_num_threads(1)
p = with_preset(StyleGAN2Params(dataset=Path(sys.argv[1]), device="cpu"), "demo")
kimg = float(sys.argv[3]) if len(sys.argv) > 3 else 0.008
p = p.model_copy(update={"total_kimg": kimg, "tick_kimg": 0.004, "mbstd_group": 2})
result = train(p, Path(sys.argv[2]) / "run", echo=False)
rank = __import__("os").environ["RANK"]
torch.save(torch.get_rng_state(), Path(sys.argv[2]) / f"rng-{rank}.pt")  # as at the final save
"""


@pytest.mark.slow
def test_a_ddp_run_leaves_rank_0s_final_checkpoint_not_another_ranks(tiny_zip, tmp_path, port):
    """torchrun, 2 CPU processes (gloo): the final checkpoint is rank 0's (its RNG states), never
    overwritten by rank 1's, whose RNG streams differ and would break an exact resume."""
    from tests.torchrun import torchrun

    script = tmp_path / "ddp_train.py"
    script.write_text(_DDP_TRAIN)
    done = torchrun([script, tiny_zip, tmp_path], port=port, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    final = checkpoint.latest(tmp_path / "run")
    assert final.name == "checkpoint-000000002.pt"
    saved = checkpoint.load(final, restore_rng=False)["rng"]["torch"]
    rank0, rank1 = torch.load(tmp_path / "rng-0.pt"), torch.load(tmp_path / "rng-1.pt")
    assert not torch.equal(rank0, rank1)
    assert torch.equal(saved, rank0), "the final checkpoint holds another rank's state than rank 0's"
    stats = stats_rows(tmp_path / "run")
    assert [r["step"] for r in stats] == [1, 2]  # rank 0 alone writes the stats


@pytest.mark.slow
def test_a_ddp_run_resumed_from_rank_0s_checkpoint_equals_the_uninterrupted_one(tiny_zip, tmp_path, port):
    """Only rank 0 writes checkpoints, so RNG states restored from one gave rank 1 rank 0's
    streams after a resume; each step's draws now come from (seed, rank, step)."""
    from tests.torchrun import torchrun

    script = tmp_path / "ddp_train.py"
    script.write_text(_DDP_TRAIN)

    def train_ddp(out: Path, kimg: float) -> None:
        done = torchrun([script, tiny_zip, out, kimg], port=port, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    train_ddp(tmp_path / "straight", 0.016)  # 4 steps of 4 images (2 per rank)
    train_ddp(tmp_path / "resumed", 0.008)
    train_ddp(tmp_path / "resumed", 0.016)
    assert "resumed from checkpoint-000000002.pt" in (tmp_path / "resumed" / "run" / "log.txt").read_text()
    a = checkpoint.load(checkpoint.latest(tmp_path / "straight" / "run"), restore_rng=False)
    b = checkpoint.load(checkpoint.latest(tmp_path / "resumed" / "run"), restore_rng=False)
    assert a["step"] == b["step"] == 4
    for key in ("G", "D", "G_ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs after a DDP resume"
