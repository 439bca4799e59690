"""Tiny DCGAN set-ups that train in seconds on a CPU: a zip of 32x16 people and the demo preset."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from adgen.models.dcgan.config import DcganParams
from adgen.models.registry import with_preset
from adgen.models.stylegan2.data import write_zip
from tests.models.stylegan2.conftest import tall_people


@pytest.fixture
def people_zip(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "people.zip", tall_people(12))


@pytest.fixture
def demo_options(people_zip: Path) -> DcganParams:
    torch.set_num_threads(1)
    p = with_preset(DcganParams(dataset=people_zip, device="cpu"), "demo")
    # the tests' own schedule, whatever the demo preset's is
    return p.model_copy(
        update={"total_steps": 30, "tick_steps": 5, "checkpoint_steps": 10, "sample_steps": 15}
    )
