"""GFLA's training losses (weights are in GflaParams; the official ones by default).

Generator, stage 2: 5·L1 + 5·sampling correctness + 2·LSGAN + 0.0025·flow regularisation
+ 500·style + 0.5·content. Stage 1 (flow estimator alone): 20·correctness + 0.01·regularisation.
Discriminator: 0.5·(MSE(D(real), 1) + MSE(D(fake), 0)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from adgen.models.gfla.flow_ops import affine_regularization, gaussian_resample
from adgen.models.gfla.vgg import VGG19

CONTENT_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
STYLE_LAYERS = ("relu2_2", "relu3_4", "relu4_4", "relu5_2")
# flow 0 (H/8) is judged on relu4_1 (also H/8), flow 1 (H/4) on relu3_1 (H/4)
CORRECTNESS_LAYERS = ("relu4_1", "relu3_1")
# affine-regularisation window per flow: k 3 at H/8, k 5 at H/4 (the attention windows)
EPS = 1e-8


def l1(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(generated, target)


def lsgan_g(d_fake: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(d_fake, torch.ones_like(d_fake))


def lsgan_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (F.mse_loss(d_real, torch.ones_like(d_real)) + F.mse_loss(d_fake, torch.zeros_like(d_fake)))


def gram(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    f = x.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def content_loss(gen_feats: dict[str, torch.Tensor], real_feats: dict[str, torch.Tensor]) -> torch.Tensor:
    return sum(F.l1_loss(gen_feats[k], real_feats[k]) for k in CONTENT_LAYERS)  # type: ignore[return-value]


def style_loss(gen_feats: dict[str, torch.Tensor], real_feats: dict[str, torch.Tensor]) -> torch.Tensor:
    return sum(F.l1_loss(gram(gen_feats[k]), gram(real_feats[k])) for k in STYLE_LAYERS)  # type: ignore[return-value]


def sampling_correctness_at(
    flow: torch.Tensor, target_feat: torch.Tensor, source_feat: torch.Tensor
) -> torch.Tensor:
    """How well the flow-warped source features match the target's, relative to the best match.

    For each target position: cos(warped source, target) divided by the best cosine any source
    position reaches; loss = mean exp(-ratio) - e^-1 (0 when every position gets its best match).
    """
    b, c, h, w = target_feat.shape
    if flow.shape[2:] != (h, w):
        flow = F.interpolate(flow, size=(h, w))  # official: nearest, values unscaled
    target_all = target_feat.reshape(b, c, h * w)
    source_all = source_feat.reshape(b, c, h * w).transpose(1, 2)
    source_norm = source_all / (source_all.norm(dim=2, keepdim=True) + EPS)
    target_norm = target_all / (target_all.norm(dim=1, keepdim=True) + EPS)
    best = torch.bmm(source_norm, target_norm).max(dim=1).values  # (B, HW)
    warped = gaussian_resample(source_feat, flow, sigma=2.0).reshape(b, c, h * w)
    cos = F.cosine_similarity(warped, target_all, dim=1)
    return torch.exp(-cos / (best + EPS)).mean() - math.exp(-1.0)


def sampling_correctness(
    vgg: VGG19, target: torch.Tensor, source: torch.Tensor, flows: list[torch.Tensor]
) -> torch.Tensor:
    layers = CORRECTNESS_LAYERS[: len(flows)]
    with torch.no_grad():
        t_feats = vgg(target, layers)
        s_feats = vgg(source, layers)
    return sum(  # type: ignore[return-value]
        sampling_correctness_at(flow, t_feats[name], s_feats[name])
        for flow, name in zip(flows, layers, strict=True)
    )


def flow_regularization(flows: list[torch.Tensor], kernels: tuple[int, int]) -> torch.Tensor:
    return sum(affine_regularization(f, k) for f, k in zip(flows, kernels, strict=True))  # type: ignore[return-value]


def perceptual(
    vgg: VGG19, generated: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(content, style) between the generated image and the real target."""
    layers = tuple(dict.fromkeys(CONTENT_LAYERS + STYLE_LAYERS))
    gen = vgg(generated, layers)
    with torch.no_grad():
        real = vgg(target, layers)
    return content_loss(gen, real), style_loss(gen, real)
