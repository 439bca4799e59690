"""Training promises: real steps on CPU, exact resume (also after kill -9), outputs DVC can read."""

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
from adgen.models.dcgan.train import train
from adgen.training import checkpoint
from tests.torchrun import torchrun
from tests.training.helpers import options_job as job
from tests.training.helpers import stats_rows


def _assert_same_state(a_path: Path, b_path: Path) -> None:
    a = checkpoint.load(a_path, restore_rng=False)
    b = checkpoint.load(b_path, restore_rng=False)
    assert a["step"] == b["step"]
    for key in ("G", "D"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs after resume"
    assert torch.equal(a["opt_G"]["state"][0]["exp_avg"], b["opt_G"]["state"][0]["exp_avg"])


def test_tiny_dcgan_trains_real_steps_and_leaves_run_dir_and_metrics(demo_options, tmp_path):
    metrics = tmp_path / "metrics"
    result = train(job(demo_options, tmp_path / "run", metrics))
    run = result.run_dir
    assert result.steps == 30 and result.checkpoint.is_file()
    options = json.loads((run / "training_options.json").read_text())
    assert options["G_params"] > 0 and options["params"]["preset"] == "demo"
    stats = stats_rows(run, timing=False)
    assert [r["step"] for r in stats] == [5, 10, 15, 20, 25, 30]
    for r in stats:
        for key in ("loss_G", "loss_D_real", "loss_D_fake"):
            assert r[key] > 0 and r[key] < 50
        assert 0 < r["D_real"] < 1 and 0 < r["D_fake"] < 1
    assert sorted(p.name for p in run.glob("fakes-*.png")) == ["fakes-000000015.png", "fakes-000000030.png"]
    numbers = json.loads((metrics / "dcgan.json").read_text())
    info = json.loads((metrics / "dcgan.info.json").read_text())
    assert numbers["steps"] == 30 and "checkpoint" not in numbers
    assert Path(info["checkpoint"]) == result.checkpoint
    lines = (metrics / "dcgan_loss.csv").read_text().splitlines()
    assert lines[0] == "step,loss_G,loss_D_real,loss_D_fake" and len(lines) == 7


def test_training_moves_both_networks(demo_options, tmp_path):
    result = train(job(demo_options.model_copy(update={"total_steps": 3}), tmp_path / "run"))
    state = checkpoint.load(result.checkpoint, restore_rng=False)
    torch.manual_seed(demo_options.seed)
    from adgen.models.dcgan.model import build

    G0, D0 = build(demo_options)
    assert not torch.equal(G0.state_dict()["main.0.weight"], state["G"]["main.0.weight"])
    assert not torch.equal(D0.state_dict()["main.0.weight"], state["D"]["main.0.weight"])


def test_half_the_steps_then_resume_equals_all_the_steps_straight(demo_options, tmp_path):
    straight = train(job(demo_options.model_copy(update={"total_steps": 20}), tmp_path / "straight"))
    half = tmp_path / "half"
    train(job(demo_options.model_copy(update={"total_steps": 10}), half))
    resumed = train(job(demo_options.model_copy(update={"total_steps": 20}), half))
    assert "resumed from checkpoint-000000010.pt" in (half / "log.txt").read_text()
    _assert_same_state(straight.checkpoint, resumed.checkpoint)
    assert stats_rows(half, timing=False) == stats_rows(straight.run_dir, timing=False)


_CHILD = """
import sys, torch
from pathlib import Path
from adgen.models.dcgan.config import DcganParams
from adgen.models.registry import with_preset
from adgen.models.dcgan.train import train
from adgen.models.registry import TrainJob
torch.set_num_threads(1)
p = with_preset(DcganParams(dataset=Path(sys.argv[1]), device="cpu"), "demo")
p = p.model_copy(update={"total_steps": int(sys.argv[3]), "tick_steps": 5, "checkpoint_steps": 4, "keep_checkpoints": 100})
train(TrainJob(params=None, options=p, run_dir=Path(sys.argv[2]), metrics_dir=None))
"""


@pytest.mark.slow
def test_run_killed_with_sigkill_resumes_exactly_as_if_never_stopped(demo_options, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    data = str(demo_options.dataset)
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(
        [sys.executable, "-c", _CHILD, data, straight, "24"], check=True, env=env, capture_output=True
    )
    # the killed run is asked for far more steps: it is still training when the kill lands
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, data, killed, "10000000"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 120
    while checkpoint.latest(killed) is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = checkpoint.latest(killed)
    assert first is not None
    assert int(first.stem.split("-")[1]) < 24, "the kill landed after the compared step"
    subprocess.run(
        [sys.executable, "-c", _CHILD, data, killed, "24"], check=True, env=env, capture_output=True
    )
    assert "resumed from" in (killed / "log.txt").read_text()
    _assert_same_state(checkpoint.latest(straight), checkpoint.latest(killed))
    assert stats_rows(killed, timing=False) == stats_rows(straight, timing=False)


def test_resuming_with_another_network_shape_is_a_user_error(demo_options, tmp_path):
    train(job(demo_options.model_copy(update={"total_steps": 2}), tmp_path / "run"))
    wider = demo_options.model_copy(update={"g_channels": 16, "total_steps": 4})
    with pytest.raises(UserError, match="g_channels=8"):
        train(job(wider, tmp_path / "run"))


def test_a_missing_training_zip_is_a_one_line_user_error(demo_options, tmp_path):
    missing = demo_options.model_copy(update={"dataset": tmp_path / "nope.zip"})
    with pytest.raises(UserError, match="train.dcgan.dataset") as err:
        train(job(missing, tmp_path / "run"))
    assert "\n" not in str(err.value)


_DDP_CHILD = """
import os, sys, torch
from pathlib import Path
from adgen.models.dcgan.config import DcganParams
from adgen.models.registry import with_preset
from adgen.models.dcgan.train import DcganTrainer, train
from adgen.models.registry import TrainJob
from adgen.training import dist
torch.set_num_threads(1)
p = with_preset(DcganParams(dataset=Path(sys.argv[1]), device="cpu"), "demo").model_copy(update={"total_steps": 6, "tick_steps": 5})
rt = dist.setup("cpu", amp=False)
torch.manual_seed(rt.rank)  # each rank its own reals (and z): only the all-reduce keeps them equal
trainer = DcganTrainer(p, rt)
for _ in range(3):
    trainer.step(torch.rand(trainer.batch_gpu, 3, 32, 16) * 2 - 1)
flat = {k: torch.cat([q.detach().flatten() for q in m.parameters()]) for k, m in (("G", trainer.G), ("D", trainer.D))}
torch.save(flat, Path(sys.argv[2]) / f"rank{rt.rank}.pt")
train(TrainJob(params=None, options=p, run_dir=Path(sys.argv[2]) / "run", metrics_dir=None))
"""


@pytest.mark.slow
def test_ddp_on_two_processes_keeps_the_networks_identical_and_trains_one_run(demo_options, tmp_path, port):
    """torchrun with 2 CPU processes (gloo): gradients averaged, one run dir, one stats stream."""
    script = tmp_path / "ddp_child.py"
    script.write_text(_DDP_CHILD)
    done = torchrun([script, demo_options.dataset, tmp_path], port=port, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    r0, r1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    for net in ("G", "D"):
        assert torch.allclose(r0[net], r1[net], atol=1e-6), f"{net} drifted apart across ranks"
    assert [r["step"] for r in stats_rows(tmp_path / "run", timing=False)] == [5, 6]
    assert checkpoint.latest(tmp_path / "run").name == "checkpoint-000000006.pt"


_DDP_TRAIN = """
import sys, torch
from pathlib import Path
from adgen.models.dcgan.config import DcganParams
from adgen.models.registry import with_preset
from adgen.models.dcgan.train import train
from adgen.models.registry import TrainJob
torch.set_num_threads(1)
p = with_preset(DcganParams(dataset=Path(sys.argv[1]), device="cpu"), "demo")
p = p.model_copy(update={"total_steps": int(sys.argv[3]), "tick_steps": 2, "checkpoint_steps": 2})
train(TrainJob(params=None, options=p, run_dir=Path(sys.argv[2]), metrics_dir=None))
"""


@pytest.mark.slow
def test_a_ddp_run_resumed_from_rank_0s_checkpoint_equals_the_uninterrupted_one(demo_options, tmp_path, port):
    script = tmp_path / "ddp_train.py"
    script.write_text(_DDP_TRAIN)

    def train_ddp(run_dir: Path, steps: int) -> None:
        done = torchrun([script, demo_options.dataset, run_dir, steps], port=port, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    train_ddp(tmp_path / "straight", 6)
    train_ddp(tmp_path / "resumed", 2)
    train_ddp(tmp_path / "resumed", 6)
    assert "resumed from checkpoint-000000002.pt" in (tmp_path / "resumed" / "log.txt").read_text()
    _assert_same_state(checkpoint.latest(tmp_path / "straight"), checkpoint.latest(tmp_path / "resumed"))
