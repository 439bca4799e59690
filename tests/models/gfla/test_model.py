"""The network is the official DeepFashion GFLA, counted parameter for parameter."""

from __future__ import annotations

import torch

from adgen.models.gfla.config import GflaParams
from adgen.models.gfla.model import PoseGenerator, ResDiscriminator, count_parameters
from adgen.models.registry import with_preset


def test_official_configuration_has_the_official_parameter_counts():
    p = with_preset(GflaParams(), "deepfashion256")
    g, d = PoseGenerator(p), ResDiscriminator(p)
    assert count_parameters(g.source) == 1_434_758
    assert count_parameters(g.target) == 6_004_425
    assert count_parameters(g.flow_net) == 6_608_212
    assert count_parameters(g) == 14_047_395
    assert count_parameters(d) == 664_577
    assert count_parameters(g.target.attn0) == 591_113  # H/8, k 3
    assert count_parameters(g.target.attn1) == 822_553  # H/4, k 5


def test_state_dicts_have_the_official_key_counts_including_aliases_and_spectral_norm_buffers():
    p = with_preset(GflaParams(), "deepfashion256")
    gs, ds = PoseGenerator(p).state_dict(), ResDiscriminator(p).state_dict()
    assert len(gs) == 204 and sum(v.numel() for v in gs.values()) == 14_823_718
    assert len(ds) == 52 and sum(v.numel() for v in ds.values()) == 672_032
    assert "target.outconv.conv1.weight" in gs and "target.outconv.model.2.weight" in gs
    assert {"block0.model.1.weight_orig", "block0.model.1.weight_u", "block0.model.1.weight_v"} <= set(ds)


def test_flows_and_masks_come_at_one_eighth_and_one_quarter_resolution():
    p = with_preset(GflaParams(), "demo").model_copy(update={"height": 128, "width": 64})
    g, d = PoseGenerator(p), ResDiscriminator(p)
    src, pose = torch.randn(2, 3, 128, 64), torch.rand(2, 18, 128, 64)
    image, flows, masks = g(src, pose, pose)
    assert image.shape == (2, 3, 128, 64) and image.abs().max() <= 1
    assert [f.shape[2:] for f in flows] == [(16, 8), (32, 16)]
    assert [m.shape[2:] for m in masks] == [(16, 8), (32, 16)] and all(
        ((m >= 0) & (m <= 1)).all() for m in masks
    )
    assert d(image).shape == (2, 1, 8, 4)
