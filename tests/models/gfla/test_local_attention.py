"""The pure-PyTorch attention and flow ops equal loop implementations written from the definition."""

from __future__ import annotations

import pytest
import torch

from adgen.models.gfla.flow_ops import (
    affine_regularization,
    gaussian_resample,
    naive_affine_regularization,
    naive_gaussian_resample,
)
from adgen.models.gfla.local_attention import (
    ExtractorAttn,
    naive_local_attention,
    naive_sample_blocks,
    neighbourhood_blocks,
    sample_blocks,
    sample_patches,
)


@pytest.fixture(autouse=True)
def float64():
    """Compare in double precision, so any difference is a real one, not rounding."""
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def _flow(b, h, w, scale, seed):
    g = torch.Generator().manual_seed(seed)
    # non-integer displacements (bilinear is not differentiable at integers), some pointing off the map
    return (torch.rand(b, 2, h, w, generator=g) - 0.5) * 2 * scale + 0.37


def _grads(fn, *inputs):
    out = fn(*inputs)
    weights = torch.linspace(-1, 1, out.numel()).view_as(out)
    (out * weights).sum().backward()
    return out.detach(), [x.grad.clone() for x in inputs]


@pytest.mark.parametrize("k", [3, 5])
def test_patch_sampling_along_the_flow_matches_the_naive_loops(k):
    torch.manual_seed(0)
    src = torch.randn(2, 3, 6, 5, requires_grad=True)
    flow = _flow(2, 6, 5, scale=2.5, seed=k).requires_grad_(True)
    fast, fast_g = _grads(lambda s, f: sample_blocks(s, f, k), src, flow)
    src2, flow2 = src.detach().clone().requires_grad_(True), flow.detach().clone().requires_grad_(True)
    slow, slow_g = _grads(lambda s, f: naive_sample_blocks(s, f, k), src2, flow2)
    assert fast.shape == (2, 3, 6 * k, 5 * k)
    torch.testing.assert_close(fast, slow, atol=1e-10, rtol=1e-9)
    torch.testing.assert_close(fast_g[0], slow_g[0], atol=1e-10, rtol=1e-9)  # d/d source
    torch.testing.assert_close(fast_g[1], slow_g[1], atol=1e-9, rtol=1e-8)  # d/d flow


def test_target_neighbourhoods_are_patches_at_zero_flow():
    x = torch.randn(2, 4, 5, 7)
    for k in (1, 3, 5):
        torch.testing.assert_close(neighbourhood_blocks(x, k), sample_blocks(x, torch.zeros(2, 2, 5, 7), k))


@pytest.mark.parametrize("k", [3, 5])
def test_local_attention_block_matches_the_naive_reference_values_and_gradients(k):
    torch.manual_seed(2)
    block = ExtractorAttn(4, k, torch.nn.LeakyReLU(0.1), hidden_nc=6).double()
    src = torch.randn(1, 4, 4, 5, requires_grad=True)
    tgt = torch.randn(1, 4, 4, 5, requires_grad=True)
    flow = _flow(1, 4, 5, scale=1.5, seed=10 + k).requires_grad_(True)

    out = block(src, tgt, flow)
    w = torch.linspace(-1, 1, out.numel()).view_as(out)
    (out * w).sum().backward()
    fast = [t.grad.clone() for t in (src, tgt, flow)] + [p.grad.clone() for p in block.parameters()]

    for t in (src, tgt, flow):
        t.grad = None
    block.zero_grad()
    ref = naive_local_attention(block, src, tgt, flow)
    (ref * w).sum().backward()
    slow = [t.grad.clone() for t in (src, tgt, flow)] + [p.grad.clone() for p in block.parameters()]

    assert out.shape == (1, 4, 4, 5)
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=1e-9)
    with torch.no_grad():  # the weights equal the official layer run on the official block layout
        blocks = torch.cat(
            (naive_sample_blocks(tgt, torch.zeros_like(flow), k), naive_sample_blocks(src, flow, k)), 1
        )
        torch.testing.assert_close(block.attention_weights(src, tgt, flow), block.fully_connect_layer(blocks))
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-8)


def test_gaussian_resampling_for_correctness_matches_the_naive_loops():
    torch.manual_seed(3)
    src = torch.randn(2, 3, 5, 6, requires_grad=True)
    flow = _flow(2, 5, 6, scale=2.0, seed=4).requires_grad_(True)
    fast, fast_g = _grads(gaussian_resample, src, flow)
    src2, flow2 = src.detach().clone().requires_grad_(True), flow.detach().clone().requires_grad_(True)
    slow, slow_g = _grads(naive_gaussian_resample, src2, flow2)
    torch.testing.assert_close(fast, slow)
    torch.testing.assert_close(fast_g[0], slow_g[0])
    torch.testing.assert_close(fast_g[1], slow_g[1])


def test_gaussian_resampling_with_zero_flow_is_a_normalised_blur_that_keeps_constants():
    const = torch.full((1, 2, 4, 4), 3.0)
    torch.testing.assert_close(gaussian_resample(const, torch.randn(1, 2, 4, 4)), const)


@pytest.mark.parametrize("k", [3, 5])
def test_flow_regularisation_is_the_residual_of_a_local_affine_fit(k):
    torch.manual_seed(5)
    flow = torch.randn(1, 2, 6, 7, requires_grad=True)
    fast = affine_regularization(flow, k)
    (g_fast,) = torch.autograd.grad(fast, flow)
    slow = naive_affine_regularization(flow, k)
    (g_slow,) = torch.autograd.grad(slow, flow)
    torch.testing.assert_close(fast, slow)
    torch.testing.assert_close(g_fast, g_slow)


def test_affine_flows_are_not_penalised():
    ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    flow = torch.stack((0.3 * xs - 0.2 * ys + 1.5, 0.1 * xs + 0.4 * ys - 2.0))[None]
    assert affine_regularization(flow, 3).item() < 1e-18
    assert affine_regularization(flow + torch.randn_like(flow), 3).item() > 0.1


def test_patch_positions_stay_exact_under_mixed_precision():
    torch.set_default_dtype(torch.float32)
    src = torch.randn(1, 2, 64, 64)
    flow = torch.full((1, 2, 64, 64), 0.3)
    under_bf16 = sample_patches(src.bfloat16(), flow.bfloat16(), 3)  # 63.3 is not representable in bf16
    assert under_bf16.dtype == torch.float32
    torch.testing.assert_close(under_bf16, sample_patches(src.bfloat16().float(), flow.bfloat16().float(), 3))
    block = ExtractorAttn(2, 3, torch.nn.LeakyReLU(0.1))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = block(src, src, flow)
    out.float().sum().backward()
    assert torch.isfinite(out.float()).all() and block.fully_connect_layer[0].weight.grad is not None
