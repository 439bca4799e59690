"""PIDM's diffusion: the linear β schedule, the forward process, the posterior, the learned-range
variance, the training objective, and the DDIM sampler with disentangled classifier-free guidance.

As in the official code (diffusion.py, itself from improved-diffusion): schedule arrays in float64,
gathered per sample as float32; the network predicts ε and v ∈ [-1, 1], the log-variance being
v's interpolation between the clipped posterior log-variance and log β_t (Nichol & Dhariwal's
learned range); the objective is MSE(ε) + L_vb, L_vb in bits per dimension with the mean frozen
(so it trains the variance only), the decoder NLL at t = 0. The DDIM steps are the official
`ddim_steps`: t = 0, T/n, 2T/n, … from the top, ᾱ = 1 past the last, no clipping of x̂0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from adgen.models.pidm.config import PidmParams


def linear_betas(timesteps: int, start: float, end: float) -> np.ndarray:
    return np.linspace(start, end, timesteps, dtype=np.float64)


def mean_flat(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=list(range(1, x.ndim)))


def normal_kl(mean1, logvar1, mean2, logvar2) -> torch.Tensor:
    """KL(N(mean1, e^logvar1) ‖ N(mean2, e^logvar2)), elementwise, in nats."""
    return 0.5 * (
        -1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2)
    )


def _approx_std_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def discretized_gaussian_log_likelihood(
    x: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor
) -> torch.Tensor:
    """log p(x) of 8-bit images in [-1, 1] (bins 2/255 wide, open-ended at the extremes)."""
    centered = x - means
    inv_stdv = torch.exp(-log_scales)
    cdf_plus = _approx_std_normal_cdf(inv_stdv * (centered + 1.0 / 255.0))
    cdf_min = _approx_std_normal_cdf(inv_stdv * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    cdf_delta = cdf_plus - cdf_min
    return torch.where(
        x < -0.999,
        log_cdf_plus,
        torch.where(x > 0.999, log_one_minus_cdf_min, torch.log(cdf_delta.clamp(min=1e-12))),
    )


class GaussianDiffusion:
    """The schedule's arrays and the formulas that use them (a `PidmUNet`'s output is [ε | v])."""

    def __init__(self, betas: np.ndarray):
        self.betas = betas = np.asarray(betas, dtype=np.float64)
        self.num_timesteps = len(betas)
        alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(alphas)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        self.sqrt_alphas_cumprod = np.sqrt(self.alphas_cumprod)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - self.alphas_cumprod)
        self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod)
        self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod - 1)
        self.posterior_variance = betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        # the posterior variance is 0 at t = 0: its log takes t = 1's value there
        self.posterior_log_variance_clipped = np.log(
            np.append(self.posterior_variance[1], self.posterior_variance[1:])
        )
        self.posterior_mean_coef1 = betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_mean_coef2 = (
            (1.0 - self.alphas_cumprod_prev) * np.sqrt(alphas) / (1.0 - self.alphas_cumprod)
        )
        self.log_betas = np.log(betas)

    @classmethod
    def from_params(cls, p: PidmParams) -> GaussianDiffusion:
        return cls(linear_betas(p.timesteps, p.beta_start, p.beta_end))

    @staticmethod
    def _at(arr: np.ndarray, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        out = torch.from_numpy(arr).to(t.device)[t.long()].float()
        return out.view(-1, *([1] * (like.ndim - 1))).to(like.device)

    # --- the forward process and its posterior ----------------------------------------------
    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t ~ q(x_t | x_0) = N(√ᾱ_t x_0, (1 - ᾱ_t) I), with the given noise."""
        return (
            self._at(self.sqrt_alphas_cumprod, t, x0) * x0
            + self._at(self.sqrt_one_minus_alphas_cumprod, t, x0) * noise
        )

    def q_posterior(self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor):
        """Mean, variance and clipped log-variance of q(x_{t-1} | x_t, x_0)."""
        mean = (
            self._at(self.posterior_mean_coef1, t, x_t) * x0
            + self._at(self.posterior_mean_coef2, t, x_t) * x_t
        )
        return (
            mean,
            self._at(self.posterior_variance, t, x_t),
            self._at(self.posterior_log_variance_clipped, t, x_t),
        )

    def predict_x0(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        return (
            self._at(self.sqrt_recip_alphas_cumprod, t, x_t) * x_t
            - self._at(self.sqrt_recipm1_alphas_cumprod, t, x_t) * eps
        )

    def p_mean_variance(
        self, output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, clip: bool = True
    ) -> dict:
        """p(x_{t-1} | x_t) from the network's [ε | v]: the learned-range log-variance
        (v + 1)/2 · log β_t + (1 - v)/2 · log σ̃²_t, the mean the posterior's at x̂0(ε)."""
        eps, v = output.float().split(x_t.shape[1], dim=1)
        min_log = self._at(self.posterior_log_variance_clipped, t, x_t)
        max_log = self._at(self.log_betas, t, x_t)
        frac = (v + 1) / 2
        log_variance = frac * max_log + (1 - frac) * min_log
        x0 = self.predict_x0(x_t, t, eps)
        if clip:
            x0 = x0.clamp(-1, 1)
        mean, _, _ = self.q_posterior(x0, x_t, t)
        return {"mean": mean, "log_variance": log_variance, "pred_x0": x0, "eps": eps}

    # --- training ----------------------------------------------------------------------------
    def vb_terms(
        self, output: torch.Tensor, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor
    ) -> torch.Tensor:
        """The VLB term of each sample in bits/dim: KL(q(x_{t-1}|x_t,x_0) ‖ p(x_{t-1}|x_t)), and at
        t = 0 the decoder's NLL of the 8-bit image."""
        true_mean, _, true_log_var = self.q_posterior(x0, x_t, t)
        out = self.p_mean_variance(output, x_t, t, clip=False)
        kl = mean_flat(normal_kl(true_mean, true_log_var, out["mean"], out["log_variance"])) / math.log(2.0)
        nll = -discretized_gaussian_log_likelihood(x0, out["mean"], 0.5 * out["log_variance"])
        nll = mean_flat(nll) / math.log(2.0)
        return torch.where(t == 0, nll, kl)

    def training_losses(
        self, output: torch.Tensor, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, noise: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Per-sample `mse` (ε), `vb` (variance only: the mean is detached there) and `loss` = mse + vb
        for the network's `output` at x_t = q_sample(x0, t, noise) (official LossType.MSE with a
        learned range)."""
        eps, v = output.float().split(x0.shape[1], dim=1)
        frozen = torch.cat([eps.detach(), v], dim=1)
        vb = self.vb_terms(frozen, x0, x_t, t)
        mse = mean_flat((noise - eps) ** 2)
        return {"loss": mse + vb, "mse": mse, "vb": vb}

    # --- DDIM -----------------------------------------------------------------------------
    def ddim_timesteps(self, steps: int) -> list[int]:
        """The official ddim_steps' sequence: range(0, T, T // steps), walked from the top."""
        if not 1 <= steps <= self.num_timesteps:
            raise ValueError(f"DDIM steps must be 1 to {self.num_timesteps}")
        return list(range(0, self.num_timesteps, self.num_timesteps // steps))

    def alpha_bar(self, t: int) -> float:
        """ᾱ_t, and 1 for t = -1 (past the last step)."""
        return 1.0 if t < 0 else float(self.alphas_cumprod[t])


def ddim_update(
    x_t: torch.Tensor,
    eps: torch.Tensor,
    alpha_bar_t: float,
    alpha_bar_next: float,
    eta: float = 0.0,
    noise: torch.Tensor | None = None,
    clip_x0: bool = False,
) -> torch.Tensor:
    """One DDIM step (Song et al. eq. 12): x̂0 = (x_t - √(1-ᾱ_t) ε)/√ᾱ_t, then
    x_next = √ᾱ_next x̂0 + σ noise + √(1 - ᾱ_next - σ²) ε, σ = η √((1-ᾱ_next)/(1-ᾱ_t) (1 - ᾱ_t/ᾱ_next)).

    `clip_x0`: x̂0 clamped to [-1, 1] and ε recomputed from it, (x_t - √ᾱ_t x̂0)/√(1-ᾱ_t), as
    improved-diffusion's DDIM with clip_denoised. The official PIDM sampler does not clip; a weakly
    trained network's x̂0 (ε errors divided by √ᾱ_t ≈ 0.006 at the top step) then runs away and the
    samples saturate, which clipping prevents."""
    x0 = (x_t - eps * math.sqrt(1 - alpha_bar_t)) / math.sqrt(alpha_bar_t)
    if clip_x0:
        x0 = x0.clamp(-1, 1)
        eps = (x_t - math.sqrt(alpha_bar_t) * x0) / math.sqrt(1 - alpha_bar_t)
    sigma = eta * math.sqrt((1 - alpha_bar_t / alpha_bar_next) * (1 - alpha_bar_next) / (1 - alpha_bar_t))
    out = math.sqrt(alpha_bar_next) * x0 + math.sqrt(max(1 - alpha_bar_next - sigma**2, 0.0)) * eps
    if sigma > 0:
        out = out + sigma * noise
    return out


@dataclass(frozen=True)
class Guidance:
    """Classifier-free guidance scales.

    `pose` None: the official sampler's form, the pose always given and only the appearance guided,
    ε = ε(p, ∅) + w_s (ε(p, s) − ε(p, ∅)) (official cond_scale = w_s = 2). `pose` a number: the
    paper's disentangled form (eq. 6), ε = ε(∅, ∅) + w_p (ε(p, ∅) − ε(∅, ∅)) + w_s (ε(∅, s) − ε(∅, ∅)),
    which needs a network trained with pose dropout too (pose_drop_prob > 0). ∅ is a zero image (the
    encoder's features of it) or a zero pose map, as the training dropout makes them.
    """

    style: float = 2.0
    pose: float | None = None


def guided_eps(
    model, x_t: torch.Tensor, t: torch.Tensor, pose: torch.Tensor, style: Sequence[torch.Tensor],
    null_style: Sequence[torch.Tensor], guidance: Guidance,
) -> torch.Tensor:  # fmt: skip
    """The guided ε; the network's evaluations run as one batch."""
    n = x_t.shape[0]
    if guidance.pose is None:
        poses, styles = [pose, pose], [style, null_style]
    else:
        zero = torch.zeros_like(pose)
        poses, styles = [zero, pose, zero], [null_style, null_style, style]
    k = len(poses)
    feats = [torch.cat([s[i] for s in styles]) for i in range(len(style))]
    out = model(x_t.repeat(k, 1, 1, 1), t.repeat(k), torch.cat(poses), feats)
    eps = out[:, : x_t.shape[1]].float().split(n)
    if guidance.pose is None:
        cond, uncond = eps
        return uncond + guidance.style * (cond - uncond)
    base, with_pose, with_style = eps
    return base + guidance.pose * (with_pose - base) + guidance.style * (with_style - base)


@torch.no_grad()
def ddim_sample(
    model,
    diffusion: GaussianDiffusion,
    source: torch.Tensor,
    pose: torch.Tensor,
    seeds: Sequence[int],
    steps: int = 50,
    guidance: Guidance = Guidance(),
    eta: float = 0.0,
    clip_x0: bool = False,
) -> torch.Tensor:
    """The person of `source` in `pose` (both batched, one per seed), in [-1, 1].

    Each sample's starting noise (and η > 0 noise) comes from its own seed: the same seed, source
    and pose give the same image. The network runs in eval mode (no dropout) and is left as it was.
    `clip_x0` clamps each step's x̂0 (see `ddim_update`; the official sampler does not)."""
    was_training = model.training
    model.eval()
    try:
        return _ddim_loop(model, diffusion, source, pose, seeds, steps, guidance, eta, clip_x0)
    finally:
        model.train(was_training)


def _ddim_loop(model, diffusion, source, pose, seeds, steps, guidance, eta, clip_x0) -> torch.Tensor:
    device = source.device
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    shape = source.shape[1:]

    def normal() -> torch.Tensor:
        return torch.stack([torch.randn(shape, generator=g) for g in gens]).to(device)

    style = model.encode(source)
    null_style = model.encode(torch.zeros_like(source))
    x = normal()
    seq = diffusion.ddim_timesteps(steps)
    for t, t_next in zip(reversed(seq), reversed([-1, *seq[:-1]]), strict=True):
        tt = torch.full((len(seeds),), float(t), device=device)
        eps = guided_eps(model, x, tt, pose, style, null_style, guidance)
        noise = normal() if eta > 0 else None
        x = ddim_update(x, eps, diffusion.alpha_bar(t), diffusion.alpha_bar(t_next), eta, noise, clip_x0)
    return x.clamp(-1, 1)
