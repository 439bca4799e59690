"""Mixed precision: the trainer's AMP paths (bf16 autocast; fp16 with a grad scaler folded into the
gradient penalty) run real steps with finite losses. On CUDA `dist.setup` picks them itself; here
the same code runs under CPU autocast."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from adgen.models.registry import with_preset
from adgen.models.stgan.config import StganParams
from adgen.models.stgan.data import load_dataset
from adgen.models.stgan.train import StganTrainer
from adgen.training.dist import Runtime

from .helpers import TINY, make_project


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_mixed_precision_steps_have_finite_losses(tmp_path: Path, dtype: torch.dtype) -> None:
    make_project(tmp_path)
    params = with_preset(StganParams(**{k: v for k, v in TINY.items() if k != "index"}))
    data = load_dataset(tmp_path / "ds" / "index.parquet", 32, 32, params.fg_scale, tmp_path)
    runtime = Runtime(torch.device("cpu"), amp_dtype=dtype)
    trainer = StganTrainer(params, data, tmp_path, runtime)
    assert trainer.scaler.is_enabled() == (dtype == torch.float16)
    before = [p.detach().clone() for p in trainer.gens.generators[0].parameters()]
    for phase in (0, 1):
        trainer.start_phase(phase)
        for _ in range(3):
            stats = trainer.step()
            assert all(math.isfinite(v) for v in stats.values()), stats
    after = list(trainer.gens.generators[0].parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))  # the warp trained
