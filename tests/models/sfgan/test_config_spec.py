"""SF-GAN's params and its one declaration: bounds, presets, and what the registry derives from it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from adgen.errors import UserError
from adgen.models import registry
from adgen.models.registry import with_preset
from adgen.models.sfgan.config import LOSS_COLUMNS, SfganParams


def test_unknown_keys_and_out_of_range_values_are_errors_naming_the_key():
    with pytest.raises(ValidationError, match="warpz"):
        SfganParams(warpz=3)
    for key, value in (
        ("gf_radius", -1),
        ("gf_eps", 0.0),
        ("batch", 1),
        ("identity_share", 1.5),
        ("device", "tpu"),
    ):
        with pytest.raises(ValidationError, match=key):
            SfganParams(**{key: value})


def test_presets_are_starting_points_and_keys_written_win():
    demo = with_preset(SfganParams(), "demo")
    assert (demo.height, demo.warps, demo.iters) == (32, 2, 200)
    mine = with_preset(SfganParams(iters=7, warps=3), "demo")
    assert (mine.iters, mine.warps, mine.height, mine.preset) == (7, 3, 32, "demo")
    assert with_preset(SfganParams()).height == 128
    with pytest.raises(UserError, match="unknown SF-GAN preset 'huge'"):
        with_preset(SfganParams(), "huge")


def test_the_geometry_part_is_st_gan_with_the_shared_keys():
    p = with_preset(SfganParams(warp_type="affine", warps=3, pert_bg=0.05), "demo")
    g = p.geometry_params()
    assert (g.height, g.warps, g.warp_type, g.pert_bg, g.batch, g.d_norm) == (
        32,
        3,
        "affine",
        0.05,
        8,
        "layer",
    )
    assert g.iters_d_only == p.geometry_iters_d_only and g.lr_g == p.geometry_lr
    assert g.history_mix < g.batch  # a valid ST-GAN config for any batch


def test_the_registry_finds_sfgan_and_derives_its_parts():
    spec = registry.get("sfgan")
    assert spec.params_section is SfganParams and spec.loss_columns == LOSS_COLUMNS
    options = with_preset(SfganParams(), "demo")
    assert spec.run_name(options) == "sfgan-32x32-demo"
    nets = spec.networks(options)
    assert set(nets) == {"G_geometry", "G_appearance", "D_geometry", "D_appearance"}
    assert set(spec.path_options) == {"index", "stgan_checkpoint"}


def test_preflight_names_a_missing_dataset_or_st_gan_in_one_line(tmp_path):
    spec = registry.get("sfgan")
    job = SimpleNamespace(options=SfganParams(index=tmp_path / "nope.parquet"))
    with pytest.raises(UserError, match="dataset index not found"):
        spec.preflight(job)
    (tmp_path / "index.parquet").write_bytes(b"")
    job = SimpleNamespace(
        options=SfganParams(index=tmp_path / "index.parquet", stgan_checkpoint=tmp_path / "gone")
    )
    with pytest.raises(UserError, match="stgan_checkpoint .*not found"):
        spec.preflight(job)
