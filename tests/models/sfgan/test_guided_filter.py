"""The guided filter is He et al.'s, exactly: checked against a naive loop over windows."""

from __future__ import annotations

import numpy as np
import torch

from adgen.models.sfgan.guided_filter import box_mean, guided_filter


def naive_mean(x: np.ndarray, r: int, w: np.ndarray | None = None) -> np.ndarray:
    """Window mean by explicit loops ([H, W]), windows clipped at the border."""
    h, wd = x.shape
    out = np.zeros_like(x)
    for i in range(h):
        for j in range(wd):
            sl = np.s_[max(0, i - r) : i + r + 1, max(0, j - r) : j + r + 1]
            if w is None:
                out[i, j] = x[sl].mean()
            else:
                out[i, j] = (x[sl] * w[sl]).sum() / (w[sl].sum() + 1e-6)
    return out


def naive_guided_filter(guide, src, r, eps, w=None):
    mi, mp = naive_mean(guide, r, w), naive_mean(src, r, w)
    cov = naive_mean(guide * src, r, w) - mi * mp
    var = naive_mean(guide * guide, r, w) - mi * mi
    a = cov / (var + eps)
    b = mp - a * mi
    return naive_mean(a, r) * guide + naive_mean(b, r)


def test_box_mean_matches_naive_window_means_at_the_borders_too():
    rng = np.random.default_rng(0)
    x = rng.random((9, 7))
    for r in (0, 1, 2, 5):
        got = box_mean(torch.from_numpy(x)[None, None], r)[0, 0].numpy()
        np.testing.assert_allclose(got, naive_mean(x, r), atol=1e-10)


def test_guided_filter_matches_the_naive_reference_to_1e_5():
    rng = np.random.default_rng(1)
    guide = rng.random((2, 12, 10)).astype(np.float32)
    src = rng.random((2, 12, 10)).astype(np.float32)
    for r, eps in ((1, 1e-3), (2, 1e-2), (4, 1e-4)):
        got = guided_filter(torch.from_numpy(guide)[None], torch.from_numpy(src)[None], r, eps)[0].numpy()
        for c in range(2):
            want = naive_guided_filter(guide[c].astype(np.float64), src[c].astype(np.float64), r, eps)
            np.testing.assert_allclose(got[c], want, atol=1e-5)


def test_weighted_guided_filter_matches_the_naive_reference():
    rng = np.random.default_rng(2)
    guide, src = rng.random((11, 9)), rng.random((11, 9))
    w = (rng.random((11, 9)) > 0.4).astype(np.float64) * rng.random((11, 9))
    t = lambda a: torch.from_numpy(a)[None, None]  # noqa: E731
    got = guided_filter(t(guide), t(src), 2, 1e-3, weight=t(w))[0, 0].numpy()
    np.testing.assert_allclose(got, naive_guided_filter(guide, src, 2, 1e-3, w), atol=1e-5)


def test_a_colour_and_contrast_change_passes_through_while_noise_on_it_is_smoothed():
    """q = a*I + b is what the filter fits: a gain/offset of the bag survives unchanged."""
    torch.manual_seed(0)
    bag = torch.rand(1, 3, 16, 16)
    relit = bag * torch.tensor([0.7, 1.1, 0.9]).view(1, 3, 1, 1) + 0.05
    out = guided_filter(bag, relit, 2, 1e-4)
    assert (out - relit).abs().max() < 1e-3
    noisy = relit + 0.2 * torch.randn_like(relit)
    assert (guided_filter(bag, noisy, 3, 1e-2) - relit).abs().mean() < (noisy - relit).abs().mean() / 2


def test_gradients_reach_the_source_and_the_guide():
    guide = torch.rand(1, 3, 8, 8, requires_grad=True)
    src = torch.rand(1, 3, 8, 8, requires_grad=True)
    guided_filter(guide, src, 1, 1e-2).square().sum().backward()
    assert guide.grad is not None and src.grad is not None
    assert guide.grad.abs().sum() > 0 and src.grad.abs().sum() > 0
    g64 = guide.detach().double().requires_grad_(True)
    s64 = src.detach().double().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda g, s: guided_filter(g, s, 1, 1e-2).double(), (g64, s64))
