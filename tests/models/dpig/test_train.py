"""A tiny DPIG trains real steps of both stages on CPU, resumes exactly, and samples people per seed."""

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
import typer
from PIL import Image
from typer.testing import CliRunner

from adgen.errors import UserError
from adgen.models.dpig.api import load_sampler
from adgen.models.dpig.spec import LOSS_COLUMNS, SPEC
from adgen.models.dpig.train import train
from adgen.training import checkpoint
from tests.models.dpig.helpers import a_pose, job, tiny_options
from tests.torchrun import torchrun
from tests.training.helpers import stats_rows

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, object]:
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("dpig")
    result = train(job(root, root / "models" / "dpig" / "00000-demo"), echo=False)
    return root, result


def _weights(run_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    return checkpoint.load(checkpoint.latest(run_dir), restore_rng=False)["nets"]


def _plain(value, where="") -> None:
    """Only tensors, numbers, strings and plain containers: what a weights_only load accepts."""
    if isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str | int), where
            _plain(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _plain(v, f"{where}[{i}]")
    else:
        assert value is None or isinstance(value, torch.Tensor | int | float | str | bool), (
            where,
            type(value),
        )


def test_a_tiny_dpig_trains_both_stages_and_leaves_a_complete_run(trained):
    root, result = trained
    run = result.run_dir
    assert result.steps == 8 and result.checkpoint == checkpoint.latest(run)
    stats = stats_rows(run)
    assert [r["stage"] for r in stats] == [1] * 4 + [2] * 4
    assert all(np.isfinite(r["l1"]) and np.isfinite(r["pose_mse"]) for r in stats[:4])
    assert all(np.isfinite(r["app_critic"]) and np.isfinite(r["pose_mapper"]) for r in stats[4:])
    assert (run / "training_options.json").is_file() and (run / "log.txt").is_file()
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
        "step-000000004.png",
        "step-000000008.png",
    ]
    metrics = json.loads((root / "metrics" / "dpig.json").read_text())
    assert metrics["step"] == 8 and metrics["stage"] == 2 and metrics["people"] == 6
    assert "run_dir" in json.loads((root / "metrics" / "dpig.info.json").read_text())
    header = (root / "metrics" / "dpig_loss.csv").read_text().splitlines()[0]
    assert header == ",".join(("step", *LOSS_COLUMNS))
    state = checkpoint.load(result.checkpoint, restore_rng=False)
    _plain({k: v for k, v in state.items() if k != "rng"})  # the RNG block is checkpoint.py's own
    # stage II changed the mappers and critics, never the frozen stage-I networks
    mid = checkpoint.load(run / "checkpoint-000000004.pt", restore_rng=False)["nets"]
    for name in ("encoder", "decoder", "pose_encoder"):
        for k, v in mid[name].items():
            assert torch.equal(v, state["nets"][name][k]), (name, k)
    assert any(not torch.equal(v, state["nets"]["app_mapper"][k]) for k, v in mid["app_mapper"].items())


def test_training_in_three_sittings_gives_the_same_weights_as_in_one(trained, tmp_path):
    torch.set_num_threads(1)
    root, straight = trained
    run = tmp_path / "run"
    j = job(root, run)
    for stop in (3, 6):  # stop mid-stage I, then mid-stage II
        assert train(j, stop_at=stop, echo=False).steps == stop
    assert train(j, echo=False).steps == 8
    a, b = _weights(straight.run_dir), _weights(run)
    for name in a:
        for k in a[name]:
            assert torch.equal(a[name][k], b[name][k]), (name, k)
    assert (run / "stats.jsonl").read_text() == (straight.run_dir / "stats.jsonl").read_text()


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_to_the_same_weights(trained, tmp_path):
    torch.set_num_threads(1)
    root, _ = trained
    opts = tiny_options(stage1_steps=6, stage2_steps=4, checkpoint_every=1, keep_checkpoints=2)
    straight = train(job(root, tmp_path / "straight", opts), echo=False)
    run = tmp_path / "killed"
    code = (
        "import torch; torch.set_num_threads(1)\n"
        "from pathlib import Path\n"
        "from adgen.models.dpig.train import train\n"
        "from tests.models.dpig.helpers import job, tiny_options\n"
        f"o = tiny_options(**{opts.model_dump(mode='json', exclude={'preset'})!r})\n"
        f"train(job(Path({str(root)!r}), Path({str(run)!r}), o), echo=False)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 300
        while checkpoint.latest(run) is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert checkpoint.latest(run) is not None
    assert train(job(root, run, opts), echo=False).steps == 10
    a, b = _weights(straight.run_dir), _weights(run)
    assert all(torch.equal(a[n][k], b[n][k]) for n in a for k in a[n])


def test_a_seed_is_the_same_image_whatever_else_is_sampled_and_drawn_into_the_pose(trained):
    """The sampling promise (docs/dpig.md): bit-identical whatever else is in the call."""
    _, result = trained
    sampler = load_sampler(result.run_dir)
    assert sampler.resolution == (32, 16)
    seen = []

    def record(module, args):
        seen.append((args[0].shape[0], torch.backends.cudnn.deterministic))

    hook = sampler.decoder.register_forward_pre_hook(record)
    try:
        one, two, again = sampler.sample(a_pose(1), [5, 6, 5])
    finally:
        hook.remove()
    assert seen == [(1, True)] * 3  # each seed its own decoder pass, cuDNN deterministic
    assert one.size == (16, 32)
    assert np.array_equal(np.asarray(one), np.asarray(again))
    assert np.array_equal(np.asarray(sampler.sample(a_pose(1), [6])[0]), np.asarray(two))
    assert not np.array_equal(np.asarray(one), np.asarray(two))
    other_pose = sampler.sample(a_pose(2), [5])[0]
    assert not np.array_equal(np.asarray(one), np.asarray(other_pose))
    # a fresh load of the checkpoint file gives the same person
    assert np.array_equal(
        np.asarray(load_sampler(result.checkpoint).sample(a_pose(1), [5])[0]), np.asarray(one)
    )


def test_missing_wrong_and_malformed_inputs_are_one_line_errors(trained, tmp_path):
    _, result = trained
    with pytest.raises(UserError, match="not found"):
        load_sampler(tmp_path / "nothing.pt")
    with pytest.raises(UserError, match="no checkpoint"):
        load_sampler(tmp_path)
    checkpoint.save(tmp_path / "gfla.pt", {"step": 1, "g": {}})
    with pytest.raises(UserError, match="not a DPIG checkpoint"):
        load_sampler(tmp_path / "gfla.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable DPIG checkpoint"):
        load_sampler(tmp_path / "junk.pt")
    sampler = load_sampler(result.checkpoint)
    nobody = np.tile(np.array([-1, -1, 0], np.float32), (18, 1))
    for bad, why in (
        (a_pose(1)[:17], "18 OpenPose keypoints"),
        (nobody, "no keypoint is present"),
        (a_pose(1) * 300, "normalised"),
        (np.full((18, 3), np.nan), "18 OpenPose keypoints"),
    ):
        with pytest.raises(UserError, match=why) as err:
            sampler.sample(bad, [0])
        assert "\n" not in str(err.value)


def _sample_app() -> typer.Typer:
    """`adgen sample dpig` as the registry will mount it (root callback holding --params)."""
    from adgen.clikit import CliState

    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context, params: Path = typer.Option(Path("params.yaml"), "--params")) -> None:
        ctx.obj = CliState(params)

    app.command("dpig")(SPEC.sample_command)
    return app


def test_adgen_sample_dpig_writes_n_new_people_in_the_pose(trained, tmp_path):
    root, result = trained
    (root / "params.yaml").write_text("paths:\n  models: models\n")
    (tmp_path / "pose.json").write_text(json.dumps({"keypoints": a_pose(1).tolist()}))
    runner = CliRunner()
    args = ["--params", str(root / "params.yaml"), "dpig", "--pose", str(tmp_path / "pose.json")]
    done = runner.invoke(_sample_app(), [*args, "--n", "3", "--seed", "5", "-o", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["person-5.png", "person-6.png", "person-7.png", "pose.png"]
    direct = load_sampler(result.run_dir).sample(a_pose(1), [5])[0]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "person-5.png")), np.asarray(direct))
    (tmp_path / "bad.json").write_text("[[0.5, 0.5]]")
    bad = runner.invoke(
        _sample_app(),
        ["--params", str(root / "params.yaml"), "dpig", "--pose", str(tmp_path / "bad.json"), "-o", "x"],
    )
    assert isinstance(bad.exception, UserError) and "18 OpenPose keypoints" in str(bad.exception)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "params.yaml").write_text("paths:\n  models: models\n")
    none = runner.invoke(
        _sample_app(),
        [
            "--params",
            str(tmp_path / "empty" / "params.yaml"),
            "dpig",
            "--pose",
            str(tmp_path / "pose.json"),
            "-o",
            "x",
        ],
    )
    assert isinstance(none.exception, UserError) and "no trained dpig" in str(none.exception)


def test_dpig_is_declared_once_and_found_by_the_model_registry():
    from adgen.models import registry

    assert registry.get("dpig") is SPEC and SPEC.params_section.__name__ == "DpigParams"
    nets = SPEC.networks(tiny_options())
    assert set(nets) >= {"encoder", "decoder", "image_d", "app_mapper", "pose_mapper"}
    assert SPEC.run_name(tiny_options()) == "dpig-32x16-demo"
    assert set(SPEC.presets) == {"deepfashion256", "market128", "demo"}


def test_mixed_precision_steps_of_both_stages_run_and_stay_finite(trained):
    """The AMP path (CUDA's autocast) as bf16 autocast on the CPU: dtypes mix without errors."""
    from adgen.models.dpig.data import DpigPeople, collect_people
    from adgen.models.dpig.train import DpigTrainer
    from adgen.training.dist import Runtime

    root, _ = trained
    p = tiny_options()
    torch.manual_seed(0)
    trainer = DpigTrainer(p, Runtime(torch.device("cpu"), amp_dtype=torch.bfloat16))
    j = job(root, root / "unused")
    data = DpigPeople(collect_people(j.params, ["deepfashion"], 4), p.height, p.width)
    batch = torch.utils.data.default_collate([data[i] for i in range(p.batch_ii)])
    one = trainer.stage_one({k: v[: p.batch] for k, v in batch.items()})
    two = trainer.stage_two([batch, batch])
    assert set(one) == {"app_d", "app_g", "l1", "pose_mse"} and all(np.isfinite(v) for v in one.values())
    assert set(two) == {"app_critic", "app_mapper", "pose_critic", "pose_mapper"}
    assert all(np.isfinite(v) for v in two.values())


def test_the_market_background_branch_trains_and_samples(trained, tmp_path):
    """Market's variant (background branch + its own mapper and critic), tiny: both stages, then people."""
    torch.set_num_threads(1)
    root, _ = trained
    opts = tiny_options(background_dim=6, stage1_steps=2, stage2_steps=2)
    result = train(job(root, tmp_path / "market", opts), echo=False)
    stats = stats_rows(result.run_dir)
    assert {"bg_critic", "bg_mapper"} <= set(stats[-1])
    sampler = load_sampler(result.checkpoint)
    a, b = sampler.sample(a_pose(1), [1, 1])
    assert a.size == (16, 32) and np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.slow
def test_torchrun_with_two_processes_trains_both_stages_into_one_run(trained, tmp_path, port):
    """DDP on 2 CPU processes (gloo): each takes half of every batch; rank 0 writes the run."""
    root, _ = trained
    run = tmp_path / "ddp"
    opts = tiny_options(batch=2, batch_ii=4, stage1_steps=2, stage2_steps=2)
    script = tmp_path / "train_ddp.py"
    script.write_text(
        "import torch; torch.set_num_threads(1)\n"
        "from pathlib import Path\n"
        "from adgen.models.dpig.train import train\n"
        "from tests.models.dpig.helpers import job, tiny_options\n"
        f"o = tiny_options(**{opts.model_dump(mode='json', exclude={'preset'})!r})\n"
        f"train(job(Path({str(root)!r}), Path({str(run)!r}), o), echo=False)\n"
    )
    done = torchrun([script], port=port, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    stats = stats_rows(run)
    assert [r["step"] for r in stats] == [1, 2, 3, 4] and [r["stage"] for r in stats] == [1, 1, 2, 2]
    state = checkpoint.load(checkpoint.latest(run), restore_rng=False)
    assert state["step"] == 4
    assert all(
        torch.isfinite(v).all()
        for net in state["nets"].values()
        for v in net.values()
        if v.is_floating_point()
    )
    assert load_sampler(run).sample(a_pose(1), [0])[0].size == (16, 32)


def test_a_dpig_checkpoint_with_other_networks_is_a_one_line_error(trained, tmp_path):
    _, result = trained
    state = checkpoint.load(result.checkpoint, restore_rng=False)
    state["params"]["hidden"] = 12  # networks of another width than the weights
    checkpoint.save(tmp_path / "other.pt", state)
    with pytest.raises(UserError, match="cannot read") as err:
        load_sampler(tmp_path / "other.pt")
    assert "\n" not in str(err.value)
