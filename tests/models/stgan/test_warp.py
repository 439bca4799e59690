"""The warp maths match closed forms and the official conventions, and gradients reach dp."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from adgen.models.stgan import warp


def test_series_matches_reference_matrix_exponential() -> None:
    gen = torch.Generator().manual_seed(0)
    for warp_type in ("homography", "affine"):
        p = 0.3 * torch.randn(16, warp.warp_dim(warp_type), generator=gen, dtype=torch.float64)
        series = warp.truncated_exp(warp.lie_algebra(p, warp_type)).numpy()
        for a, m in zip(warp.lie_algebra(p, warp_type).numpy(), series, strict=True):
            np.testing.assert_allclose(m, scipy.linalg.expm(a), atol=1e-5, rtol=0)


def test_homography_algebra_has_the_official_layout_and_trace_zero() -> None:
    p = torch.arange(1.0, 9.0)[None]  # p1..p8
    a = warp.lie_algebra(p, "homography")[0]
    expected = torch.tensor([[3.0, 2.0, 1.0], [6.0, -3.0 - 7.0, 5.0], [4.0, 8.0, 7.0]])
    assert torch.equal(a, expected)
    assert a.trace() == 0
    b = warp.lie_algebra(torch.arange(1.0, 7.0)[None], "affine")[0]
    assert torch.equal(b, torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, 0.0, 0.0]]))


def test_zero_parameters_are_the_identity_warp() -> None:
    image = torch.rand(2, 4, 9, 13)
    for warp_type in ("homography", "affine"):
        p = torch.zeros(2, warp.warp_dim(warp_type))
        assert torch.equal(warp.to_matrix(p, warp_type), torch.eye(3).expand(2, 3, 3))
        torch.testing.assert_close(warp.warp_image(image, p, warp_type), image, atol=1e-5, rtol=0)


def test_pure_translation_is_exactly_a_shift() -> None:
    # Homography p1 (x) and p5 (y) translate; A is nilpotent so exp(A) = I + A exactly.
    tx, ty = 0.25, -0.5
    m = warp.to_matrix(torch.tensor([[tx, 0, 0, 0, ty, 0, 0, 0]]), "homography")[0]
    torch.testing.assert_close(m, torch.tensor([[1.0, 0, tx], [0, 1.0, ty], [0, 0, 1.0]]))
    # On a 9x9 image a canonical step of 0.25 is one pixel: sampling at x + 2px shows the content
    # two pixels to the left; what came from outside reads zero.
    image = torch.rand(1, 4, 9, 9)
    p = torch.tensor([[0.5, 0, 0, 0, 0.25, 0, 0, 0]])
    out = warp.warp_image(image, p, "homography")
    torch.testing.assert_close(out[..., :-1, :-2], image[..., 1:, 2:], atol=1e-5, rtol=0)
    assert out[..., -1, :].abs().max() < 1e-6 and out[..., :, -2:].abs().max() < 1e-6


def test_affine_translation_sits_in_p3_and_p6() -> None:
    m = warp.to_matrix(torch.tensor([[0, 0, 0.3, 0, 0, -0.2]]), "affine")[0]
    torch.testing.assert_close(m, torch.tensor([[1.0, 0, 0.3], [0, 1.0, -0.2], [0, 0, 1.0]]))


@pytest.mark.parametrize("theta", [0.1, math.pi / 2, -1.0])
def test_rotation_generator_exponentiates_to_a_rotation(theta: float) -> None:
    # The official background perturbation p = [tx, rot, 0, 0, ty, -rot, 0, 0] with tx = ty = 0.
    m = warp.to_matrix(torch.tensor([[0, theta, 0, 0, 0, -theta, 0, 0]], dtype=torch.float64), "homography")[
        0
    ]
    c, s = math.cos(theta), math.sin(theta)
    expected = torch.tensor([[c, s, 0], [-s, c, 0], [0, 0, 1]], dtype=torch.float64)
    torch.testing.assert_close(m, expected, atol=1e-7, rtol=0)


def test_quarter_turn_rotates_the_image_by_ninety_degrees() -> None:
    image = torch.rand(1, 3, 7, 7)
    p = torch.tensor([[0, math.pi / 2, 0, 0, 0, -math.pi / 2, 0, 0]])
    out = warp.warp_image(image, p, "homography")
    # Output (x, y) reads the input at (y, -x): out[r, c] = in[n - 1 - c, r], a flip then a transpose.
    torch.testing.assert_close(out, torch.flip(image, dims=[-2]).transpose(-1, -2), atol=1e-4, rtol=0)


def test_composition_is_additive_and_matches_the_matrix_product_for_commuting_warps() -> None:
    def rot_trans(theta: float) -> torch.Tensor:
        return torch.tensor([[0, theta, 0, 0, 0, -theta, 0, 0]], dtype=torch.float64)

    a, b = rot_trans(0.3), rot_trans(-0.8)
    ab = warp.compose(a, b)
    torch.testing.assert_close(ab, a + b)
    m = lambda p: warp.to_matrix(p, "homography")  # noqa: E731
    torch.testing.assert_close(m(ab), m(a) @ m(b), atol=1e-7, rtol=0)
    ta = torch.tensor([[0.2, 0, 0, 0, 0.1, 0, 0, 0]], dtype=torch.float64)
    tb = torch.tensor([[-0.5, 0, 0, 0, 0.3, 0, 0, 0]], dtype=torch.float64)
    torch.testing.assert_close(m(warp.compose(ta, tb)), m(ta) @ m(tb), atol=1e-7, rtol=0)
    torch.testing.assert_close(
        m(warp.inverse(ab)) @ m(ab), torch.eye(3, dtype=torch.float64)[None], atol=1e-7, rtol=0
    )


def test_alpha_is_zero_where_the_bag_was_warped_in_from_outside() -> None:
    fg = torch.ones(1, 4, 16, 16)
    p = torch.tensor([[1.0, 0, 0, 0, 0, 0, 0, 0]])  # half the canvas to the left is now outside
    alpha = warp.warp_image(fg, p, "homography")[:, 3]
    assert alpha[..., :, 9:].max() == 0  # sampled at x > 1
    assert alpha[..., :, :7].min() > 0.99


def test_composite_puts_rgb_over_background_by_alpha() -> None:
    fg = torch.tensor([1.0, 0.0, 0.0, 0.25]).view(1, 4, 1, 1)
    bg = torch.tensor([0.0, 0.0, 1.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(warp.composite(fg, bg).flatten(), torch.tensor([0.25, 0.0, 0.75]))


def test_gradients_reach_the_warp_update_dp() -> None:
    fg = torch.zeros(1, 4, 16, 16)
    fg[:, :, 5:11, 5:11] = 1.0
    bg = torch.full((1, 3, 16, 16), 0.5)
    for warp_type in ("homography", "affine"):
        dp = torch.zeros(1, warp.warp_dim(warp_type), requires_grad=True)
        p = warp.compose(0.05 * torch.ones(1, warp.warp_dim(warp_type)), dp)
        comp = warp.composite(warp.warp_image(fg, p, warp_type), bg)
        comp[:, 0, :, :8].sum().backward()  # a loss that cares where the bag is
        assert dp.grad is not None and torch.isfinite(dp.grad).all()
        assert dp.grad.abs().sum() > 1e-3


def test_alpha_centroid_is_normalised_to_the_image() -> None:
    alpha = torch.zeros(1, 1, 11, 21)
    alpha[..., 5, 15] = 1.0
    torch.testing.assert_close(warp.alpha_centroid(alpha), torch.tensor([[0.75, 0.5]]))
