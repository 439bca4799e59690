"""The diffusion's formulas are the closed forms (computed here independently, in float64 with
numpy/math on a few values), and the DDIM sampler is deterministic per seed and guided."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from adgen.models.pidm.config import preset
from adgen.models.pidm.diffusion import GaussianDiffusion, Guidance, ddim_sample, ddim_update, guided_eps
from adgen.models.pidm.model import PidmUNet

T = [0, 1, 17, 500, 999]


@pytest.fixture(scope="module")
def diffusion() -> GaussianDiffusion:
    return GaussianDiffusion.from_params(preset("deepfashion256"))


def alpha_bar(t: int) -> float:
    """ᾱ_t = Π_{s<=t} (1 - β_s), β_s linear from 1e-4 to 2e-2 over 1000 steps."""
    return math.prod(1 - (1e-4 + (2e-2 - 1e-4) * s / 999) for s in range(t + 1))


def test_the_schedule_is_linear_1e4_to_2e2_over_1000_steps(diffusion):
    assert diffusion.num_timesteps == 1000
    assert diffusion.betas[0] == pytest.approx(1e-4, abs=1e-15)
    assert diffusion.betas[-1] == pytest.approx(2e-2, abs=1e-15)
    assert np.allclose(np.diff(diffusion.betas), (2e-2 - 1e-4) / 999, rtol=0, atol=1e-15)
    for t in T:
        assert diffusion.alphas_cumprod[t] == pytest.approx(alpha_bar(t), rel=1e-12)


def test_q_sample_is_sqrt_alpha_bar_x0_plus_sqrt_one_minus_alpha_bar_noise(diffusion):
    x0, noise = torch.tensor([[0.5, -0.25]]), torch.tensor([[1.5, 0.3]])
    for t in T:
        got = diffusion.q_sample(x0, torch.tensor([t]), noise)
        a = alpha_bar(t)
        want = [math.sqrt(a) * 0.5 + math.sqrt(1 - a) * 1.5, math.sqrt(a) * -0.25 + math.sqrt(1 - a) * 0.3]
        assert got[0].tolist() == pytest.approx(want, rel=1e-6)


def test_the_posterior_is_the_product_of_the_two_gaussians(diffusion):
    """q(x_{t-1} | x_t, x_0) ∝ N(x_{t-1}; √ᾱ_{t-1} x_0, 1 - ᾱ_{t-1}) · N(x_t; √α_t x_{t-1}, β_t)."""
    x0, xt = 0.3, -0.8
    for t in [1, 17, 500, 999]:
        a_prev, a_t = alpha_bar(t - 1), alpha_bar(t)
        alpha = a_t / a_prev
        beta = 1 - alpha
        precision = 1 / (1 - a_prev) + alpha / beta
        mean = (math.sqrt(a_prev) * x0 / (1 - a_prev) + math.sqrt(alpha) * xt / beta) / precision
        got_mean, got_var, got_log = diffusion.q_posterior(
            torch.tensor([[x0]]), torch.tensor([[xt]]), torch.tensor([t])
        )
        assert got_mean.item() == pytest.approx(mean, rel=1e-5)
        assert got_var.item() == pytest.approx(1 / precision, rel=1e-5)
        assert got_log.item() == pytest.approx(math.log(1 / precision), rel=1e-5)


def test_the_learned_range_spans_the_posterior_variance_to_beta(diffusion):
    x_t = torch.zeros(1, 3, 1, 1)
    t = torch.tensor([500])
    eps = torch.zeros(1, 3, 1, 1)
    top = diffusion.p_mean_variance(torch.cat([eps, torch.ones_like(eps)], 1), x_t, t)["log_variance"]
    bottom = diffusion.p_mean_variance(torch.cat([eps, -torch.ones_like(eps)], 1), x_t, t)["log_variance"]
    mid = diffusion.p_mean_variance(torch.cat([eps, torch.zeros_like(eps)], 1), x_t, t)["log_variance"]
    beta = 1 - alpha_bar(500) / alpha_bar(499)
    post = beta * (1 - alpha_bar(499)) / (1 - alpha_bar(500))
    assert top.flatten()[0].item() == pytest.approx(math.log(beta), rel=1e-5)
    assert bottom.flatten()[0].item() == pytest.approx(math.log(post), rel=1e-5)
    assert mid.flatten()[0].item() == pytest.approx((math.log(beta) + math.log(post)) / 2, rel=1e-5)


def test_the_ddim_update_is_the_closed_form():
    x_t, eps, noise = torch.tensor([0.7]), torch.tensor([-0.4]), torch.tensor([0.9])
    a_t, a_next = alpha_bar(980), alpha_bar(960)
    x0 = (0.7 - math.sqrt(1 - a_t) * -0.4) / math.sqrt(a_t)
    want = math.sqrt(a_next) * x0 + math.sqrt(1 - a_next) * -0.4
    assert ddim_update(x_t, eps, a_t, a_next).item() == pytest.approx(want, rel=1e-5)
    # η = 1: σ² = (1 - ᾱ_next)/(1 - ᾱ_t) · (1 - ᾱ_t/ᾱ_next), the DDPM posterior's variance
    s2 = (1 - a_next) / (1 - a_t) * (1 - a_t / a_next)
    want = math.sqrt(a_next) * x0 + math.sqrt(1 - a_next - s2) * -0.4 + math.sqrt(s2) * 0.9
    assert ddim_update(x_t, eps, a_t, a_next, 1.0, noise).item() == pytest.approx(want, rel=1e-5)
    # the last step (ᾱ = 1 past t = 0) lands on x̂0
    assert ddim_update(x_t, eps, a_t, 1.0).item() == pytest.approx(x0, rel=1e-5)


def test_clipping_x0_clamps_it_and_walks_on_with_the_eps_it_implies():
    x_t, eps = torch.tensor([2.0, 0.1]), torch.tensor([-1.0, 0.1])
    a_t, a_next = 0.25, 0.5
    x0 = [(2.0 + math.sqrt(0.75)) / 0.5, (0.1 - math.sqrt(0.75) * 0.1) / 0.5]  # 5.73 (out of range), 0.027
    assert x0[0] > 1 and abs(x0[1]) < 1
    clipped = [1.0, x0[1]]
    implied = [(2.0 - 0.5 * 1.0) / math.sqrt(0.75), 0.1]  # ε recomputed from the clamped x̂0; unchanged inside
    want = [math.sqrt(0.5) * c + math.sqrt(0.5) * e for c, e in zip(clipped, implied, strict=True)]
    assert ddim_update(x_t, eps, a_t, a_next, clip_x0=True).tolist() == pytest.approx(want, rel=1e-5)
    unclipped = [math.sqrt(0.5) * x + math.sqrt(0.5) * e for x, e in zip(x0, [-1.0, 0.1], strict=True)]
    assert ddim_update(x_t, eps, a_t, a_next).tolist() == pytest.approx(unclipped, rel=1e-5)
    assert ddim_update(x_t, eps, a_t, 1.0, clip_x0=True).tolist() == pytest.approx(clipped, rel=1e-5)


def test_ddim_walks_the_official_timesteps(diffusion):
    assert diffusion.ddim_timesteps(50) == list(range(0, 1000, 20))
    assert diffusion.ddim_timesteps(1000) == list(range(1000))


def test_the_vb_term_trains_the_variance_only(diffusion):
    torch.manual_seed(0)
    x0, noise = torch.rand(2, 3, 4, 4) * 2 - 1, torch.randn(2, 3, 4, 4)
    t = torch.tensor([0, 400])
    x_t = diffusion.q_sample(x0, t, noise)
    out = torch.randn(2, 6, 4, 4, requires_grad=True)
    losses = diffusion.training_losses(out, x0, x_t, t, noise)
    assert torch.allclose(losses["mse"], ((noise - out[:, :3]) ** 2).mean(dim=(1, 2, 3)))
    (grad,) = torch.autograd.grad(losses["vb"].sum(), out)
    assert grad[:, :3].abs().sum() == 0 and grad[:, 3:].abs().sum() > 0
    assert torch.allclose(losses["loss"], losses["mse"] + losses["vb"])


# --- the sampler, with a real (tiny) network ------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    p = preset("demo")
    model = PidmUNet(p)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # a fresh network's zero output layers would ignore every condition
        for q in model.parameters():
            q.copy_(torch.randn(q.shape, generator=g) * 0.2)
    g = torch.Generator().manual_seed(1)
    source = torch.rand(2, 3, p.height, p.width, generator=g) * 2 - 1
    pose = torch.rand(2, 20, p.height, p.width, generator=g)
    return model, GaussianDiffusion.from_params(p), source, pose


def test_ddim_sampling_is_deterministic_per_seed(tiny):
    model, diffusion, source, pose = tiny
    a = ddim_sample(model, diffusion, source, pose, [3, 4], steps=4)
    b = ddim_sample(model, diffusion, source, pose, [3, 4], steps=4)
    c = ddim_sample(model, diffusion, source, pose, [5, 4], steps=4)
    assert a.shape == source.shape and torch.equal(a, b)
    assert not torch.allclose(a[0], c[0]) and torch.allclose(a[1], c[1], atol=1e-5)
    assert model.training  # the sampler leaves the mode it found
    clipped = ddim_sample(model, diffusion, source, pose, [3, 4], steps=4, clip_x0=True)
    assert not torch.allclose(clipped, a)  # the random network's x̂0 leaves [-1, 1]: clipping changes it
    assert torch.equal(clipped, ddim_sample(model, diffusion, source, pose, [3, 4], steps=4, clip_x0=True))


def test_guidance_changes_the_guided_eps_and_the_sample(tiny):
    model, diffusion, source, pose = tiny
    model.eval()
    x, t = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2)), torch.tensor([500.0, 500.0])
    style, null = model.encode(source), model.encode(torch.zeros_like(source))
    with torch.no_grad():
        eps = {w: guided_eps(model, x, t, pose, style, null, w) for w in GUIDANCES}
    model.train()
    off, on, paper, paper_no_pose = (eps[w] for w in GUIDANCES)
    assert (off - on).abs().max() > 1e-3  # appearance scale 0 vs 2
    assert (paper - paper_no_pose).abs().max() > 1e-3  # pose scale 2 vs 0
    # the official form at scale 1 is the plain conditional prediction
    with torch.no_grad():
        one = guided_eps(model.eval(), x, t, pose, style, null, Guidance(style=1.0))
        plain = model(x, t, pose, style)[:, :3]
    model.train()
    assert torch.allclose(one, plain, atol=1e-5)
    a = ddim_sample(model, diffusion, source, pose, [3, 4], steps=4, guidance=GUIDANCES[0])
    b = ddim_sample(model, diffusion, source, pose, [3, 4], steps=4, guidance=GUIDANCES[1])
    assert not torch.allclose(a, b, atol=1e-6)


GUIDANCES = (
    Guidance(style=0.0),
    Guidance(style=2.0),
    Guidance(style=2.0, pose=2.0),
    Guidance(style=2.0, pose=0.0),
)
