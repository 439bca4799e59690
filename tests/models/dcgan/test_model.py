"""The networks are the paper's: layer for layer, parameter for parameter, initialised as published."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from adgen.errors import UserError
from adgen.models.dcgan.config import DcganParams
from adgen.models.dcgan.model import build, count_params
from adgen.models.registry import with_preset


def test_dcgan64_has_the_papers_parameter_counts():
    G, D = build(with_preset(DcganParams(), "dcgan64"))
    assert count_params(G) == 3_576_704
    assert count_params(D) == 2_765_568


def test_dcgan64_layers_are_the_papers():
    G, D = build(with_preset(DcganParams(), "dcgan64"))
    g_convs = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in g_convs] == [
        (100, 512), (512, 256), (256, 128), (128, 64), (64, 3)
    ]  # fmt: skip
    assert all(m.bias is None and m.kernel_size == (4, 4) for m in g_convs)
    assert [m.stride for m in g_convs] == [(1, 1)] + [(2, 2)] * 4
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules()) == 4
    assert isinstance(list(G.main)[-1], torch.nn.Tanh)
    d_convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(m.in_channels, m.out_channels) for m in d_convs] == [
        (3, 64), (64, 128), (128, 256), (256, 512), (512, 1)
    ]  # fmt: skip
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules()) == 3  # not on the first layer
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, torch.nn.LeakyReLU))


def test_batchnorm_running_statistics_are_not_counted_as_parameters():
    G, _ = build(with_preset(DcganParams(), "dcgan64"))
    buffers = sum(b.numel() for name, b in G.named_buffers() if "running" in name)
    assert buffers == 2 * (512 + 256 + 128 + 64)
    assert count_params(G) == sum(p.numel() for p in G.parameters())


@pytest.mark.parametrize(
    "preset, shape",
    [("dcgan64", (64, 64)), ("dcgan128", (128, 128)), ("fullbody", (128, 64)), ("demo", (32, 16))],
)
def test_every_preset_makes_images_of_its_frame_and_d_scores_them(preset, shape):
    torch.manual_seed(0)
    G, D = build(with_preset(DcganParams(), preset))
    z = torch.randn(2, G.z_dim)
    images = G(z)
    assert images.shape == (2, 3, *shape)
    assert images.abs().max() <= 1
    assert D(images).shape == (2,)


def test_dcgan128_has_one_more_layer_on_each_side():
    G64, D64 = build(with_preset(DcganParams(), "dcgan64"))
    G128, D128 = build(with_preset(DcganParams(), "dcgan128"))
    convs = lambda m, t: sum(isinstance(x, t) for x in m.modules())  # noqa: E731
    assert convs(G128, torch.nn.ConvTranspose2d) == convs(G64, torch.nn.ConvTranspose2d) + 1
    assert convs(D128, torch.nn.Conv2d) == convs(D64, torch.nn.Conv2d) + 1


def test_weights_start_as_published_normal_0_002_and_batchnorm_scale_around_1():
    torch.manual_seed(0)
    G, D = build(with_preset(DcganParams(), "dcgan64"))
    w = torch.cat(
        [m.weight.detach().flatten() for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    )
    assert abs(float(w.mean())) < 1e-3 and abs(float(w.std()) - 0.02) < 1e-3
    scale = torch.cat([m.weight.detach() for m in D.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert abs(float(scale.mean()) - 1) < 0.01 and 0.01 < float(scale.std()) < 0.03


def test_preset_values_yield_to_keys_set_in_params():
    p = with_preset(DcganParams(batch=64), "dcgan64")
    assert p.batch == 64 and p.resolution == (64, 64) and p.lr == 2e-4 and p.beta1 == 0.5


def test_out_of_bounds_values_and_unknown_presets_are_refused():
    with pytest.raises(ValidationError):
        DcganParams(resolution=(96, 64))
    with pytest.raises(ValidationError):
        DcganParams(batch=0)
    with pytest.raises(ValidationError):
        DcganParams(lr=-1)
    with pytest.raises(ValidationError):
        DcganParams(bogus=1)
    with pytest.raises(UserError, match="unknown DCGAN preset"):
        with_preset(DcganParams(), "paper")
