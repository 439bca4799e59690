"""The networks have the official sizes, shapes and initialisation at any resolution."""

from __future__ import annotations

import pytest
import torch

from adgen.models.stgan.model import Discriminator, WarpGenerator, count_parameters, fc_fan_in


@pytest.mark.parametrize(
    ("height", "width", "warp_type", "expected"),
    [
        (144, 144, "homography", 6_221_288),
        (144, 144, "affine", 6_220_774),
        (120, 160, "homography", 5_556_968),
    ],
)
def test_warp_generator_has_the_official_parameter_count(height, width, warp_type, expected) -> None:
    assert count_parameters(WarpGenerator(height, width, warp_type)) == expected


@pytest.mark.parametrize(("height", "width"), [(144, 144), (120, 160), (128, 128), (33, 70)])
def test_fc_fan_in_scales_with_ceil_of_size_over_32(height: int, width: int) -> None:
    gen = WarpGenerator(height, width)
    assert gen.fc6.in_features == fc_fan_in(height, width) == 519 * -(-height // 32) * -(-width // 32)
    # And the formula 2,897,376 + 256 * fan-in + 256 + 257 * warp dim from the reference facts.
    assert count_parameters(gen) == 2_897_376 + 256 * fc_fan_in(height, width) + 256 + 257 * 8
    dp = gen(torch.rand(2, 3, height, width), torch.rand(2, 4, height, width))
    assert dp.shape == (2, 8)


@pytest.mark.parametrize("size", [(144, 144), (128, 128), (120, 160), (32, 32)])
def test_discriminator_has_2792417_parameters_at_any_size(size) -> None:
    d = Discriminator()
    assert count_parameters(d) == 2_792_417
    score = d(torch.rand(2, 3, *size))
    assert score.shape == (2, 1, -(-size[0] // 32), -(-size[1] // 32))


def test_layer_norm_discriminator_keeps_a_size_independent_count() -> None:
    d = Discriminator("layer")
    assert count_parameters(d) == 2_792_417 + 2 * (64 + 128 + 256 + 512)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    # Per-sample normalisation: one sample's score does not depend on the rest of the batch.
    x = torch.rand(3, 3, 64, 64)
    torch.testing.assert_close(d(x)[:1], d(x[:1]), atol=1e-5, rtol=0)


def test_weights_are_normal_001_and_biases_zero_including_the_last_layer() -> None:
    torch.manual_seed(0)
    gen = WarpGenerator(144, 144)
    for name, prm in gen.named_parameters():
        if name.endswith("bias"):
            assert prm.abs().max() == 0, name
        else:
            assert abs(prm.std().item() - 0.01) < 0.002, name
    assert gen.fc7.weight.abs().max() > 0  # not a zero init
