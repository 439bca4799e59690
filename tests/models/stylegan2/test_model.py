"""The networks are StyleGAN2 as published: same parameter counts, same maths, tall outputs."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from adgen.models.registry import with_preset
from adgen.models.stylegan2 import model as m
from adgen.models.stylegan2.config import StyleGAN2Params


def _counts(preset: str, resolution=(128, 128)):
    params = with_preset(StyleGAN2Params(resolution=resolution), preset)
    G, D = m.build(params)
    return m.count_params(G), m.count_params(G.mapping), m.count_params(D), G.num_ws


def test_paper_preset_matches_nvlabs_stylegan2_cfg_parameter_for_parameter():
    assert _counts("paper") == (29_328_669, 2_101_248, 28_389_121, 12)


def test_auto_preset_matches_nvlabs_auto_cfg_parameter_for_parameter():
    assert _counts("auto") == (22_949_277, 525_312, 23_882_369, 12)


@pytest.mark.parametrize("resolution", [(32, 16), (32, 32), (64, 32)])
def test_square_and_tall_outputs_have_the_requested_size(resolution):
    params = with_preset(StyleGAN2Params(resolution=resolution), "demo")
    G, D = m.build(params)
    img = G(torch.randn(4, params.z_dim))
    assert img.shape == (4, 3, *resolution)
    assert D(img).shape == (4, 1)
    assert G.synthesis.blocks[0].const.shape[1:] == (4, 4 * resolution[1] // resolution[0])


def test_resampling_keeps_a_flat_image_flat_and_halves_or_doubles_its_size():
    x = torch.full((1, 2, 8, 4), 3.0)
    up = m.upsample2d(x)
    down = m.downsample2d(x)
    assert up.shape == (1, 2, 16, 8) and down.shape == (1, 2, 4, 2)
    # away from the zero-padded border, the FIR filter preserves a constant exactly
    assert torch.allclose(up[..., 2:-2, 2:-2], torch.tensor(3.0))
    assert torch.allclose(down[..., 1:-1, 1:-1], torch.tensor(3.0))


def test_modulated_conv_equals_convolving_with_the_per_sample_demodulated_weight():
    torch.manual_seed(0)
    layer = m.ModulatedConv2d(5, 7, 3, w_dim=6)
    x, w = torch.randn(3, 5, 8, 8), torch.randn(3, 6)
    ours = layer(x, w)
    styles = layer.affine(w)
    expected = []
    for i in range(3):
        wi = layer.weight * styles[i].view(1, -1, 1, 1)
        wi = wi * (wi.square().sum(dim=[1, 2, 3], keepdim=True) + 1e-8).rsqrt()
        expected.append(F.conv2d(x[i : i + 1], wi, padding=1))
    assert torch.allclose(ours, torch.cat(expected), atol=1e-5)


def test_upsampling_modulated_conv_doubles_size():
    layer = m.ModulatedConv2d(4, 4, 3, w_dim=4, up=True)
    assert layer(torch.randn(2, 4, 4, 2), torch.randn(2, 4)).shape == (2, 4, 8, 4)


def test_minibatch_stddev_appends_the_group_standard_deviation():
    x = torch.randn(4, 6, 2, 2)
    out = m.MinibatchStdDev(group_size=2)(x)
    assert out.shape == (4, 7, 2, 2)
    # group members are samples i and i + N/G, as in NVlabs
    std = torch.stack([x[0], x[2]]).std(dim=0, unbiased=False).mean()
    assert math.isclose(float(out[0, 6, 0, 0]), float(std), rel_tol=1e-4)
    assert torch.equal(out[0, 6], out[2, 6])


def test_truncation_zero_gives_the_average_person_for_every_seed():
    params = with_preset(StyleGAN2Params(), "demo")
    G, _ = m.build(params)
    G.mapping.w_avg.normal_()
    a = G(torch.randn(1, params.z_dim), truncation=0.0, noise_mode="const")
    b = G(torch.randn(1, params.z_dim), truncation=0.0, noise_mode="const")
    assert torch.allclose(a, b, atol=1e-6)


def test_activations_run_channels_last_and_the_layout_never_changes_the_result():
    """G and D switch activations to NHWC (faster FIR convs on CPU); the maths must not notice."""
    torch.manual_seed(0)
    G = m.Generator((32, 16), z_dim=16, w_dim=16, mapping_layers=2, channel_base=256, channel_max=32)
    D = m.Discriminator((32, 16), channel_base=256, channel_max=32, mbstd_group=2)
    img = G(torch.randn(2, 16), noise_mode="const")
    assert img.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(D(img), D(img.contiguous()), atol=1e-6)

    layer = m.ModulatedConv2d(5, 7, 3, w_dim=6, up=True)
    x, w = torch.randn(3, 5, 8, 8), torch.randn(3, 6)
    nhwc = layer(x.contiguous(memory_format=torch.channels_last), w)
    assert torch.allclose(nhwc, layer(x, w), atol=1e-5)
