"""Training promises: real steps on CPU on GFLA-layout pairs, the EMA follows, exact resume (also
after kill -9), and the pose map is the official one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from adgen.errors import UserError
from adgen.models.pidm.api import load_pose_transfer
from adgen.models.pidm.config import preset
from adgen.models.pidm.data import PidmPairs, pose_map
from adgen.models.pidm.train import load_network, train, warmup_lr
from adgen.models.registry import TrainJob
from adgen.training import checkpoint
from tests.models.gfla.helpers import write_dataset
from tests.torchrun import torchrun

TIMING = ("timestamp",)


@pytest.fixture(scope="module")
def pairs_dir(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("pidm-data") / "gfla", people=2, poses=2)


def options(dataset: Path, **update):
    torch.set_num_threads(1)
    p = preset("demo", dataset=dataset, device="cpu")
    return p.model_copy(update={"total_steps": 6, "tick_steps": 2, "checkpoint_steps": 3, **update})


def job(p, run_dir: Path, metrics: Path | None = None) -> TrainJob:
    return TrainJob(params=None, options=p, run_dir=run_dir, metrics_dir=metrics)


def _stats(run_dir: Path) -> list[dict]:
    rows = [json.loads(x) for x in (run_dir / "stats.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def _assert_same_state(a_path: Path, b_path: Path) -> None:
    a = checkpoint.load(a_path, restore_rng=False)
    b = checkpoint.load(b_path, restore_rng=False)
    assert a["step"] == b["step"]
    for key in ("net", "ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs after resume"
    assert all(
        torch.equal(x["exp_avg"], b["opt"]["state"][i]["exp_avg"]) for i, x in a["opt"]["state"].items()
    )


def test_the_pose_map_is_the_skeleton_and_17_limb_distance_maps():
    kp = np.zeros((18, 3), np.float32)
    kp[1] = (16, 8, 1)  # neck
    kp[2] = (10, 10, 1)  # right shoulder: limb 0 (neck-right shoulder) is drawn
    m = pose_map(kp, 32, 32)
    assert m.shape == (20, 32, 32) and m.min() >= 0 and m.max() <= 1
    assert m[:3].sum() > 0  # the drawn skeleton
    assert m[3, 9, 13] == 0  # on limb 0: distance 0
    assert m[3, 30, 30] > 0  # away from it
    assert (m[4:] == 1).all()  # limbs not drawn: as far as the clip allows


def test_tiny_pidm_trains_real_steps_and_keeps_an_ema(pairs_dir, tmp_path):
    metrics = tmp_path / "metrics"
    result = train(job(options(pairs_dir, sample_every=6), tmp_path / "run", metrics), echo=False)
    assert result.steps == 6 and result.checkpoint.is_file()
    stats = _stats(result.run_dir)
    assert [r["step"] for r in stats] == [2, 4, 6]
    assert all(
        0 < r["mse"] < 10 and r["vb"] >= 0 and r["loss"] == pytest.approx(r["mse"] + r["vb"]) for r in stats
    )
    state = checkpoint.load(result.checkpoint, restore_rng=False)
    # warm-up (2 steps) over: the EMA trails the trained weights
    key = "out_conv.weight"
    assert not torch.equal(state["ema"][key], state["net"][key]) and state["net"][key].abs().sum() > 0
    assert (result.run_dir / "samples" / "step-000000006.png").is_file()
    assert json.loads((metrics / "pidm.json").read_text())["steps"] == 6
    net, params, _ = load_network(result.run_dir)
    assert params.preset == "demo" and torch.equal(net.state_dict()[key], state["ema"][key])
    # the pose-transfer role: a person re-posed at the input's size, the same every time
    transfer = load_pose_transfer(result.run_dir)
    data = PidmPairs(pairs_dir, "train", params)
    source = Image.open(data.image_dir / data.pairs[0][0])
    target_kp = data.keypoints[data.pairs[0][1]]
    transfer.steps = 2
    a = transfer.transfer(source, data.keypoints[data.pairs[0][0]], target_kp)
    b = transfer.transfer(source, data.keypoints[data.pairs[0][0]], target_kp)
    assert a.size == source.size and a.tobytes() == b.tobytes()


def test_half_the_steps_then_resume_equals_all_the_steps_straight(pairs_dir, tmp_path):
    straight = train(job(options(pairs_dir), tmp_path / "straight"), echo=False)
    half = tmp_path / "half"
    train(job(options(pairs_dir), half), stop_at=3, echo=False)
    resumed = train(job(options(pairs_dir), half), echo=False)
    assert "resumed from checkpoint-000000003.pt" in (half / "log.txt").read_text()
    _assert_same_state(straight.checkpoint, resumed.checkpoint)
    assert _stats(half) == _stats(straight.run_dir)


_CHILD = """
import sys, torch
from pathlib import Path
from adgen.models.pidm.api import load_pose_transfer
from adgen.models.pidm.config import preset
from adgen.models.pidm.train import train
from adgen.models.registry import TrainJob
torch.set_num_threads(1)
p = preset("demo", dataset=Path(sys.argv[1]), device="cpu")
p = p.model_copy(update={"total_steps": int(sys.argv[3]), "tick_steps": 2, "checkpoint_steps": 2, "keep_checkpoints": 100})
train(TrainJob(params=None, options=p, run_dir=Path(sys.argv[2]), metrics_dir=None))
"""


@pytest.mark.slow
def test_run_killed_with_sigkill_resumes_exactly_as_if_never_stopped(pairs_dir, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    run = [sys.executable, "-c", _CHILD, str(pairs_dir)]
    subprocess.run([*run, straight, "8"], check=True, env=env, capture_output=True)
    # the killed run is asked for far more steps: it is still training when the kill lands
    proc = subprocess.Popen(
        [*run, killed, "10000000"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while checkpoint.latest(killed) is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = checkpoint.latest(killed)
    assert first is not None
    assert int(first.stem.split("-")[1]) < 8, "the kill landed after the compared step"
    subprocess.run([*run, killed, "8"], check=True, env=env, capture_output=True)
    assert "resumed from" in (killed / "log.txt").read_text()
    _assert_same_state(checkpoint.latest(straight), checkpoint.latest(killed))
    assert _stats(killed) == _stats(straight)


def test_the_learning_rate_warms_up_linearly_then_stays():
    p = preset("deepfashion256")
    assert warmup_lr(p, 0) == pytest.approx(2e-5 / 5000)
    assert warmup_lr(p, 2499) == pytest.approx(1e-5)
    assert warmup_lr(p, 4999) == warmup_lr(p, 10**6) == 2e-5


def test_resuming_with_another_network_width_is_a_user_error(pairs_dir, tmp_path):
    train(job(options(pairs_dir, total_steps=1), tmp_path / "run"), echo=False)
    with pytest.raises(UserError, match="model_channels"):
        train(job(options(pairs_dir, total_steps=2, model_channels=64), tmp_path / "run"), echo=False)


def test_a_missing_dataset_is_a_one_line_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        PidmPairs(tmp_path / "nope", "train", preset("demo"))


_DDP_CHILD = """
import sys, torch
from pathlib import Path
from adgen.models.pidm.config import preset
from adgen.models.pidm.train import PidmTrainer, train
from adgen.models.registry import TrainJob
from adgen.training import dist
torch.set_num_threads(1)
p = preset("demo", dataset=Path(sys.argv[1]), device="cpu").model_copy(update={"total_steps": 4, "tick_steps": 2})
rt = dist.setup("cpu", amp=False)
g = torch.Generator().manual_seed(rt.rank)  # each rank its own pair: only the all-reduce keeps them equal
trainer = PidmTrainer(p, rt)
for _ in range(2):
    batch = {k: torch.rand(1, c, 32, 32, generator=g) for k, c in
             (("source", 3), ("target", 3), ("source_pose", 20), ("target_pose", 20))}
    trainer.step(batch)
flat = torch.cat([q.detach().flatten() for q in trainer.model.parameters()])
torch.save({"net": flat, "ema": torch.cat([q.flatten() for q in trainer.ema.parameters()])}, Path(sys.argv[2]) / f"rank{rt.rank}.pt")
train(TrainJob(params=None, options=p, run_dir=Path(sys.argv[2]) / "run", metrics_dir=None))
"""


@pytest.mark.slow
def test_ddp_on_two_processes_keeps_the_networks_identical_and_trains_one_run(pairs_dir, tmp_path, port):
    """torchrun with 2 CPU processes (gloo): the gradients that exist averaged (the official
    never-run layers have none on any rank), one run dir, one stats stream."""
    script = tmp_path / "ddp_child.py"
    script.write_text(_DDP_CHILD)
    done = torchrun([script, pairs_dir, tmp_path], port=port, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    r0, r1 = (checkpoint.read(tmp_path / f"rank{r}.pt") for r in (0, 1))
    for key in ("net", "ema"):
        assert torch.allclose(r0[key], r1[key], atol=1e-6), f"{key} drifted apart across ranks"
    assert [r["step"] for r in _stats(tmp_path / "run")] == [2, 4]
    assert checkpoint.latest(tmp_path / "run").name == "checkpoint-000000004.pt"
