"""Mixed precision and DDP: the paths a GPU pool takes, run here on CPU (autocast; two gloo ranks)."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from adgen.models.sfgan.data import anchors_of
from adgen.models.sfgan.train import SfganTrainer, load_state, pretrain_geometry
from adgen.models.stgan.data import load_dataset
from adgen.training.dist import Runtime
from tests.torchrun import torchrun as run_torchrun
from tests.training.helpers import stats_rows

from .helpers import tiny_params


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_mixed_precision_joint_steps_have_finite_losses(tmp_path: Path, dtype: torch.dtype) -> None:
    params = tiny_params(tmp_path)
    data = load_dataset(params.index, 32, 32, params.fg_scale, tmp_path)
    runtime = Runtime(torch.device("cpu"), amp_dtype=dtype)
    trainer = SfganTrainer(params, data, tmp_path, runtime, anchors_of(params.index, "real", 32))
    assert trainer.scaler.is_enabled() == (dtype == torch.float16)
    before = [p.detach().clone() for p in trainer.nets.fusion.appearance.parameters()]
    for _ in range(3):
        stats = trainer.step()
        assert all(math.isfinite(v) for v in stats.values()), stats
    after = list(trainer.nets.fusion.appearance.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


SCRIPT = """
import sys
from pathlib import Path
from adgen.models.sfgan.train import run
sys.path.insert(0, {tests!r})
from models.sfgan.helpers import tiny_params
root = Path({root!r})
geometry = {geometry!r}
params = tiny_params(root, iters=4, checkpoint_every=2, stgan_checkpoint=geometry and Path(geometry))
run(params, root / "run", None, data_root=root, echo=False)
"""


def torchrun(tmp_path: Path, geometry: Path | None) -> subprocess.CompletedProcess:
    script = tmp_path / "train_two_ranks.py"
    tests = str(Path(__file__).resolve().parents[2])
    script.write_text(SCRIPT.format(tests=tests, root=str(tmp_path), geometry=geometry and str(geometry)))
    return run_torchrun([script], cwd=tmp_path, timeout=300)


@pytest.mark.slow
def test_torchrun_with_two_ranks_trains_into_one_run_dir(tmp_path: Path) -> None:
    """The joint stage under DDP (two CPU processes, gloo): one log, a checkpoint with each rank's RNG."""
    params = tiny_params(tmp_path)
    # Under torchrun the geometry must come trained: ST-GAN's trainer ends the process group.
    refused = torchrun(tmp_path, None)
    assert refused.returncode != 0 and "train ST-GAN first" in refused.stderr
    pretrain_geometry(params, tmp_path / "pre", tmp_path, echo=False)
    shutil.rmtree(tmp_path / "run")
    proc = torchrun(tmp_path, tmp_path / "pre" / "geometry")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "run"
    records = stats_rows(run_dir)
    assert [r["step"] for r in records] == [1, 2, 3, 4]  # rank 0 alone writes the stats
    state = load_state(run_dir / "checkpoint-000000004.pt")
    assert len(state["ranks"]) == 2
    assert not torch.equal(state["ranks"][0]["torch"], state["ranks"][1]["torch"])
