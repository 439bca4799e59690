"""Training promises: D-only then warps train with finite losses, earlier warps stay frozen, a run
killed with -9 resumes to exactly the losses of an uninterrupted one, and the composite CLI works
on what was trained."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

from adgen import config
from adgen.models.registry import with_preset
from adgen.models.stgan.api import load_compositor
from adgen.models.stgan.config import StganParams
from adgen.models.stgan.train import run as train
from tests.torchrun import torchrun
from tests.training.helpers import stats_rows

from .helpers import adgen_cmd, make_project, run_adgen

# One worker builds the trained run once: with the module split over both xdist workers (and a module
# fixture rebuilt when another module's tests interleave) CI trained it twice, 100 s each.
pytestmark = pytest.mark.xdist_group("stgan-trained")


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """A few hundred real CPU steps: 80 D-only, then 80 for each of 2 warps."""
    root = tmp_path_factory.mktemp("stgan-train")
    params_path = make_project(
        root,
        iters_d_only=80,
        iters_per_warp=80,
        warps=2,
        log_every=10,
        checkpoint_every=50,
        sample_every=100,
    )
    p = config.load(params_path)
    sp = with_preset(p.train.stgan)
    result = train(sp, root / "run", metrics_dir=root / "metrics", data_root=p.root, echo=False)
    assert result.steps == 240
    return params_path, result.run_dir


@pytest.mark.slow
def test_tiny_config_trains_d_only_then_two_warps_with_finite_losses(trained) -> None:
    _, run = trained
    stats = [r for r in stats_rows(run) if "loss_d" in r]
    assert {r["phase"] for r in stats} == {0, 1, 2}
    assert max(r["iteration"] for r in stats) == 240
    for r in stats:
        assert all(np.isfinite(v) for k, v in r.items()), r
    assert all("loss_g" in r and "dp_norm" in r for r in stats if r["phase"] > 0)
    errors = [r["placement_error"] for r in stats_rows(run) if "placement_error" in r]
    assert [len(e) for e in errors] == [1, 2, 3]  # p0, then after each trained warp
    for name in ("training_options.json", "log.txt", "loss.csv", "metrics.json", "warps.gif"):
        assert (run / name).is_file(), name
    for k in range(3):
        assert (run / f"warp-{k}.pt").is_file() and (run / f"samples-warp{k}.png").is_file()
    header = (run / "loss.csv").read_text().splitlines()[0]
    assert header == "step,loss_d,loss_g,grad_norm,w_dist,dp_norm"
    metrics = json.loads((run.parent / "metrics" / "stgan.json").read_text())
    assert metrics["iterations"] == 240 and metrics["discriminator_params"] > 0
    assert "preset" not in metrics  # numbers only: DVC compares them; strings in stgan.info.json
    assert json.loads((run.parent / "metrics" / "stgan.info.json").read_text())["preset"] == "demo"
    assert (run.parent / "metrics" / "stgan_loss.csv").read_text() == (run / "loss.csv").read_text()


@pytest.mark.slow
def test_each_phase_trains_only_the_newest_warp_and_carries_d_over(trained) -> None:
    _, run = trained
    w0, w1, w2 = (torch.load(run / f"warp-{k}.pt", weights_only=False) for k in range(3))

    def same(a: dict, b: dict, prefix: str) -> bool:
        return all(torch.equal(a[k], b[k]) for k in a if k.startswith(prefix))

    g0, g1, g2 = w0["generators"], w1["generators"], w2["generators"]
    assert same(g0, g1, "generators.1.") and not same(g0, g1, "generators.0.")  # phase 1 trains warp 1 only
    assert same(g1, g2, "generators.0.") and not same(g1, g2, "generators.1.")  # phase 2 freezes warp 1
    assert not same(w0["discriminator"], w1["discriminator"], "")  # D keeps learning


@pytest.mark.slow
def test_composite_cli_puts_a_bag_on_a_person_with_the_trained_checkpoint(trained, tmp_path) -> None:
    params_path, run = trained
    person = tmp_path / "person.png"
    Image.new("RGB", (50, 80), (240, 240, 240)).save(person)
    bag = tmp_path / "bag.png"
    Image.open(params_path.parent / "ds" / "images" / "foreground-0000.png").save(bag)
    out, gif = tmp_path / "out.png", tmp_path / "warps.gif"
    proc = run_adgen(params_path, "composite", "--person", str(person), "--bag", str(bag),
                     "--checkpoint", str(run), "-o", str(out), "--gif", str(gif))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2 warps" in proc.stdout
    with Image.open(out) as im:
        assert im.size == (32, 32) and im.mode == "RGB"
        composite = np.asarray(im)
    assert (composite != 240).any()  # the bag is on the person
    frames = iio.imread(gif, index=None)
    assert frames.shape[0] > 3

    # The newest run under paths.models is the default checkpoint; no run there -> one clear line.
    missing = run_adgen(params_path, "composite", "--person", str(person), "--bag", str(bag), "-o", str(out))
    assert missing.returncode == 2 and "no ST-GAN run found" in missing.stderr
    assert "Traceback" not in missing.stderr
    (params_path.parent / "models" / "stgan").mkdir(parents=True)
    (params_path.parent / "models" / "stgan" / "00000-stgan-demo").symlink_to(run)
    default = run_adgen(params_path, "composite", "--person", str(person), "--bag", str(bag), "-o", str(out))
    assert default.returncode == 0 and "2 warps" in default.stdout, default.stderr


@pytest.mark.slow
def test_compositor_api_returns_every_warp_and_is_deterministic(trained) -> None:
    params_path, run = trained
    comp = load_compositor(run / "warp-2.pt")
    person = Image.open(params_path.parent / "ds" / "images" / "background-0000.png")
    bag = Image.open(params_path.parent / "ds" / "images" / "foreground-0001.png")
    r = comp.composite(person, bag)
    assert len(r.per_warp) == 3 and len(r.params) == 3 and len(r.params[0]) == 8
    assert r.params[0] == [0.0] * 8  # no seed: the bag starts at the centre
    assert r.params[-1] != r.params[0]
    a, b = comp.composite(person, bag, seed=3), comp.composite(person, bag, seed=3)
    assert a.params == b.params and np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert comp.composite(person, bag, seed=4).params[0] != a.params[0]


def _wait_for(path_glob: str, root: Path, proc: subprocess.Popen, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if list(root.glob(path_glob)):
            return
        if proc.poll() is not None:
            raise AssertionError(f"training ended before {path_glob}: {proc.stderr.read()}")
        time.sleep(0.02)
    raise AssertionError(f"no {path_glob} after {timeout}s")


@pytest.mark.slow
def test_run_killed_with_sigkill_resumes_to_the_same_losses(tmp_path) -> None:
    schedule = {"iters_d_only": 6, "iters_per_warp": 10, "warps": 2, "log_every": 1,
                "checkpoint_every": 4, "sample_every": 100}  # fmt: skip
    params_path = make_project(tmp_path, **schedule)
    reference, killed = tmp_path / "reference", tmp_path / "killed"

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        adgen_cmd(params_path, "train", "stgan", "--run-dir", str(killed)),
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # Past the D-only phase, mid-way through warp 1: history ring and Adam states are live.
        _wait_for("checkpoint-000000012.pt", killed, proc, timeout=240)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "warp-2.pt").exists()  # it really died before the end

    resumed = run_adgen(params_path, "train", "stgan", "--run-dir", str(killed))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from checkpoint-" in (killed / "log.txt").read_text()
    uninterrupted = run_adgen(params_path, "train", "stgan", "--run-dir", str(reference))
    assert uninterrupted.returncode == 0, uninterrupted.stderr

    ref, got = stats_rows(reference), stats_rows(killed)
    assert len(ref) == 26 + 3  # one record per iteration + one placement record per phase
    assert got == ref
    a = torch.load(reference / "warp-2.pt", weights_only=False)
    b = torch.load(killed / "warp-2.pt", weights_only=False)
    assert all(torch.equal(a["generators"][k], b["generators"][k]) for k in a["generators"])


def test_explicit_params_win_over_the_preset_and_unknown_presets_are_one_line(tmp_path) -> None:
    p = with_preset(StganParams(warps=3), "exp1")
    assert (p.height, p.d_norm, p.warps) == (144, "none", 3)
    q = with_preset(StganParams(), "exp2")
    assert (q.height, q.width, q.d_norm, q.warps) == (128, 128, "layer", 5)
    assert with_preset(StganParams(), "exp3").bg_fill == "white"
    from adgen.errors import UserError

    with pytest.raises(UserError, match="unknown ST-GAN preset"):
        with_preset(StganParams(), "exp9")


def test_train_dry_run_prints_the_resolved_preset_and_parameter_counts(tmp_path) -> None:
    params_path = make_project(tmp_path)
    proc = run_adgen(params_path, "train", "stgan", "--preset", "exp1", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    options = shown["options"]
    # The project's explicit keys (32 px) win over exp1's 144 px; exp1's own choices show through.
    assert options["preset"] == "exp1" and options["height"] == 32 and options["d_norm"] == "none"
    counts = shown["parameters"]
    assert counts["G"] == options["warps"] * counts["G_per_warp"] and counts["D"] > 0
    assert not (tmp_path / "models").exists()  # a dry run creates nothing


def test_missing_dataset_index_is_one_line(tmp_path) -> None:
    params_path = make_project(tmp_path, index="nowhere/index.parquet")
    proc = run_adgen(params_path, "train", "stgan", "--run-dir", str(tmp_path / "run"))
    assert proc.returncode == 2
    assert "ST-GAN dataset index not found" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_torchrun_with_two_ranks_trains_into_one_run_dir(tmp_path) -> None:
    """DDP as on a GPU pool, here with two CPU processes (gloo): one log, one checkpoint holding
    each rank's own RNG state, identical weights on both ranks by construction."""
    params_path = make_project(
        tmp_path, iters_d_only=3, iters_per_warp=3, warps=2, log_every=1, checkpoint_every=3
    )
    cmd = ["-m", "adgen.cli", "--params", params_path, "train", "stgan", "--run-dir", tmp_path / "run"]
    proc = torchrun(cmd, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "run"
    assert len(stats_rows(run)) == 9 + 3
    assert (run / "log.txt").read_text().count("phase 0: D only") == 1  # rank 0 writes the log
    state = torch.load(run / "warp-2.pt", weights_only=False)
    assert len(state["ranks"]) == 2
    assert not torch.equal(state["ranks"][0]["rng"]["torch"], state["ranks"][1]["rng"]["torch"])

    # Without --run-dir each rank would number its own dir: refused in one line.
    bad = torchrun(cmd[:-2], cwd=tmp_path, timeout=300)
    assert bad.returncode != 0 and "under torchrun pass --run-dir" in bad.stderr


def test_resuming_with_changed_params_is_refused_in_one_line(tmp_path) -> None:
    from adgen.errors import UserError

    params_path = make_project(tmp_path, iters_d_only=2, iters_per_warp=1, warps=1, checkpoint_every=1)
    p = config.load(params_path)
    sp = with_preset(p.train.stgan)
    train(sp, tmp_path / "run", data_root=p.root, echo=False)
    changed = sp.model_copy(update={"lr_d": 3e-4})
    with pytest.raises(UserError, match="different params"):
        train(changed, tmp_path / "run", data_root=p.root, echo=False)
    # The same params on a finished run: nothing left to do, the same final checkpoint.
    again = train(sp, tmp_path / "run", data_root=p.root, echo=False)
    assert again.steps == 3 and again.checkpoint.name == "checkpoint-000000003.pt"
