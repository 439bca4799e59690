"""train.dpig: presets overlaid by what params.yaml says, and every value bounded."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adgen.errors import UserError
from adgen.models.dpig.config import DpigParams
from adgen.models.registry import with_preset


def test_presets_set_the_official_setups_and_explicit_keys_win():
    df = with_preset(DpigParams(), "deepfashion256")
    assert (df.height, df.width, df.batch, df.batch_ii, df.lr, df.lr_half_every) == (
        256,
        256,
        6,
        16,
        2e-5,
        50_000,
    )
    assert (df.stage1_steps, df.stage2_steps, df.critic_steps, df.clip) == (120_000, 120_000, 5, 0.01)
    market = with_preset(DpigParams(batch=4), "market128")
    assert (market.height, market.width, market.appearance_dim, market.batch) == (128, 64, 352, 4)
    assert with_preset(DpigParams(preset="demo")).preset == "demo"


@pytest.mark.parametrize(
    "bad",
    [
        {"batch": 0},
        {"batch_ii": 0},
        {"lr": 0},
        {"lr": 2},
        {"height": 4},
        {"height": 250},  # not a multiple of 16 (the decoder halves it 4 times)
        {"clip": 0},
        {"critic_steps": 0},
        {"sources": ["flickr"]},
        {"stage1_steps": 0, "stage2_steps": 0},
        {"steps": 10},  # unknown key
    ],
)
def test_out_of_bounds_values_and_unknown_keys_are_refused(bad):
    with pytest.raises(ValidationError):
        DpigParams(**bad)


def test_an_unknown_preset_is_a_one_line_error():
    with pytest.raises(UserError, match="unknown DPIG preset 'paper'"):
        with_preset(DpigParams(), "paper")
