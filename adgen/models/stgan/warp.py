"""The geometry of ST-GAN: warps in the Lie algebra, their exponential, and canonical-grid sampling.

ST-GAN never predicts a warp matrix directly. It predicts a small update `dp` in the Lie algebra
(sl(3) for homographies, aff(2) for affine warps) and adds it to the running parameters
(`p <- p + dp`), so every warp is the exponential of one matrix and stays well conditioned.

The conventions match the official implementation (chenhsuanlin/spatial-transformer-GAN):
- homography (8 params, trace zero): A = [[p3, p2, p1], [p6, -p3-p7, p5], [p4, p8, p7]]
  (p1, p5 translate; p4, p8 are the perspective terms);
- affine (6 params): A = [[p1, p2, p3], [p4, p5, p6], [0, 0, 0]] (translation in p3, p6);
- the warp matrix is I + sum_{i=1..terms-1} A^i / i!  (terms = 20), composition is p + dp and the
  inverse is -p;
- an output pixel at canonical (x, y) in [-1, 1]^2 reads the image at M [x, y, 1] / (z + 1e-8),
  bilinearly, where -1 and 1 are the centres of the first and last pixels; every corner that falls
  outside the image reads zero, so a foreground's alpha is zero wherever it was not.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

WarpType = Literal["homography", "affine"]

WARP_DIM: dict[str, int] = {"homography": 8, "affine": 6}
EXP_TERMS = 20


def warp_dim(warp_type: WarpType) -> int:
    return WARP_DIM[warp_type]


def lie_algebra(p: torch.Tensor, warp_type: WarpType) -> torch.Tensor:
    """[B, dim] warp parameters -> [B, 3, 3] Lie-algebra matrices A."""
    assert p.ndim == 2 and p.shape[1] == WARP_DIM[warp_type], p.shape
    zero = torch.zeros_like(p[:, 0])
    if warp_type == "homography":
        p1, p2, p3, p4, p5, p6, p7, p8 = p.unbind(1)
        rows = [[p3, p2, p1], [p6, -p3 - p7, p5], [p4, p8, p7]]
    else:
        p1, p2, p3, p4, p5, p6 = p.unbind(1)
        rows = [[p1, p2, p3], [p4, p5, p6], [zero, zero, zero]]
    return torch.stack([torch.stack(r, dim=1) for r in rows], dim=1)


def truncated_exp(a: torch.Tensor, terms: int = EXP_TERMS) -> torch.Tensor:
    """exp(A) as the official truncated series I + A + A^2/2! + ... + A^(terms-1)/(terms-1)!."""
    eye = torch.eye(3, dtype=a.dtype, device=a.device).expand_as(a)
    out = eye.clone()
    power = eye
    factorial = 1.0
    for i in range(1, terms):
        power = power @ a
        factorial *= i
        out = out + power / factorial
    return out


def to_matrix(p: torch.Tensor, warp_type: WarpType, terms: int = EXP_TERMS) -> torch.Tensor:
    """Warp parameters -> [B, 3, 3] warp matrices, in float32 (or float64) even under autocast."""
    with torch.autocast(device_type=p.device.type, enabled=False):
        p = p if p.dtype == torch.float64 else p.float()
        return truncated_exp(lie_algebra(p, warp_type), terms)


def compose(p: torch.Tensor, dp: torch.Tensor) -> torch.Tensor:
    """Composition in the official implementation is additive in the Lie algebra."""
    return p + dp


def inverse(p: torch.Tensor) -> torch.Tensor:
    return -p


def canonical_grid(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """[H*W, 3] homogeneous canonical coordinates, x and y each linspace(-1, 1), row-major."""
    ys = torch.linspace(-1.0, 1.0, height, device=device)
    xs = torch.linspace(-1.0, 1.0, width, device=device)
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x.flatten(), y.flatten(), torch.ones(height * width, device=device)], dim=1)


def sample(image: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Warp [B, C, H, W] images by [B, 3, 3] matrices on the canonical grid (bilinear, zero outside).

    `grid_sample(align_corners=True)` maps -1 and 1 to the first and last pixel centres, exactly the
    official reference matrix (canonical [-1, 1] -> pixel [0, W-1]), and its zero padding drops each
    out-of-range bilinear corner separately, as the official gather does.
    """
    b, _, h, w = image.shape
    assert matrix.shape == (b, 3, 3), matrix.shape
    with torch.autocast(device_type=image.device.type, enabled=False):
        grid = canonical_grid(h, w, image.device)  # [HW, 3]
        warped = torch.einsum("bij,nj->bni", matrix.float(), grid)  # [B, HW, 3]
        xy = warped[..., :2] / (warped[..., 2:] + 1e-8)
        return F.grid_sample(
            image.float(),
            xy.reshape(b, h, w, 2),
            mode="bilinear",
            padding_mode="zeros",
            align_corners=True,
        )


def warp_image(
    image: torch.Tensor, p: torch.Tensor, warp_type: WarpType, terms: int = EXP_TERMS
) -> torch.Tensor:
    """Warp images by parameters p (the official `transformImage(vec2mtrx(p))`)."""
    return sample(image, to_matrix(p, warp_type, terms))


def composite(foreground_rgba: torch.Tensor, background_rgb: torch.Tensor) -> torch.Tensor:
    """rgb * alpha + background * (1 - alpha)."""
    rgb, alpha = foreground_rgba[:, :3], foreground_rgba[:, 3:4]
    return rgb * alpha + background_rgb * (1.0 - alpha)


def background_perturbation(
    batch: int, scale: float, warp_type: WarpType, generator: torch.Generator | None = None
) -> torch.Tensor:
    """The official small random rotation + translation of backgrounds (and real images).

    rot, tx, ty ~ scale * N(0, 1); homography p = [tx, rot, 0, 0, ty, -rot, 0, 0],
    affine p = [0, rot, tx, -rot, 0, ty].
    """
    rot, tx, ty = (scale * torch.randn(3, batch, generator=generator)).unbind(0)
    o = torch.zeros(batch)
    if warp_type == "homography":
        return torch.stack([tx, rot, o, o, ty, -rot, o, o], dim=1)
    return torch.stack([o, rot, tx, -rot, o, ty], dim=1)


def perturb_background(
    images: torch.Tensor, p: torch.Tensor, warp_type: WarpType, fill: float = 0.0
) -> torch.Tensor:
    """Warp backgrounds by p; pixels from outside the image read `fill` (0 official, 1 = white)."""
    if fill == 0.0:
        return warp_image(images, p, warp_type)
    return warp_image(images - fill, p, warp_type) + fill


def alpha_centroid(alpha: torch.Tensor) -> torch.Tensor:
    """[B, 1, H, W] alpha -> [B, 2] alpha-weighted centre (x, y), normalised to [0, 1] of the image."""
    b, _, h, w = alpha.shape
    ys = torch.linspace(0.0, 1.0, h, device=alpha.device).view(1, h, 1)
    xs = torch.linspace(0.0, 1.0, w, device=alpha.device).view(1, 1, w)
    a = alpha[:, 0].float()
    mass = a.sum(dim=(1, 2)).clamp_min(1e-8)
    cx = (a * xs).sum(dim=(1, 2)) / mass
    cy = (a * ys).sum(dim=(1, 2)) / mass
    return torch.stack([cx, cy], dim=1)
