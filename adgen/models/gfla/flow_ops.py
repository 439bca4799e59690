"""Flow-field operations used by GFLA's losses, in plain PyTorch.

- `gaussian_resample`: warp a feature map by a flow field with a 4 x 4 Gaussian-weighted tap
  (σ 2), the official `Resample2d(4, 1, sigma=2)` the sampling-correctness loss uses. A wider, smoother
  footprint than bilinear sampling, so the loss gives the flow useful gradients from further away.
- `affine_regularization`: how far the flow is from locally affine: in every k x k window, the
  squared residual of the best least-squares affine fit of the sampling grid (official
  `AffineRegularizationLoss`, written as ||K g||² with K = A(AᵀA)⁻¹Aᵀ - I over unfolded windows).

Each has a `naive_*` loop version written from the definition, used by the tests.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _gaussian_taps(frac: torch.Tensor, sigma: float) -> torch.Tensor:
    """Weights of the 4 taps floor-1, floor, floor+1, floor+2 for fractional part `frac`."""
    d = torch.stack((1 + frac, frac, 1 - frac, 2 - frac), dim=0)
    return torch.exp(-(d * d) / (2 * sigma * sigma))


def gaussian_resample(source: torch.Tensor, flow: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    """source (B, C, Hs, Ws) read at (x + flow_x, y + flow_y) for each (y, x) of flow (B, 2, H, W)."""
    b, c, hs, ws = source.shape
    _, _, h, w = flow.shape
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype).view(1, 1, w)
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype).view(1, h, 1)
    xf = xs + flow[:, 0]
    yf = ys + flow[:, 1]
    x0, y0 = torch.floor(xf).detach(), torch.floor(yf).detach()
    wx = _gaussian_taps(xf - x0, sigma)  # (4, B, H, W)
    wy = _gaussian_taps(yf - y0, sigma)
    x0l, y0l = x0.long(), y0.long()
    flat = source.reshape(b, c, hs * ws)
    val = source.new_zeros(b, c, h, w)
    norm = flow.new_zeros(b, h, w)
    for i in range(4):
        row = (y0l + (i - 1)).clamp(0, hs - 1)
        for j in range(4):
            col = (x0l + (j - 1)).clamp(0, ws - 1)
            idx = (row * ws + col).view(b, 1, h * w).expand(b, c, h * w)
            wt = wy[i] * wx[j]
            val = val + wt.unsqueeze(1) * flat.gather(2, idx).view(b, c, h, w)
            norm = norm + wt
    return val / norm.unsqueeze(1)


def naive_gaussian_resample(source: torch.Tensor, flow: torch.Tensor, sigma: float = 2.0) -> torch.Tensor:
    b, c, hs, ws = source.shape
    _, _, h, w = flow.shape
    out = torch.zeros(b, c, h, w, dtype=source.dtype)
    for n in range(b):
        for y in range(h):
            for x in range(w):
                xf = x + flow[n, 0, y, x]
                yf = y + flow[n, 1, y, x]
                fx, fy = math.floor(float(xf.detach())), math.floor(float(yf.detach()))
                acc = torch.zeros(c, dtype=source.dtype)
                total = 0.0
                for r in range(fy - 1, fy + 3):
                    for q in range(fx - 1, fx + 3):
                        wgt = torch.exp(-((yf - r) ** 2) / (2 * sigma**2)) * torch.exp(
                            -((xf - q) ** 2) / (2 * sigma**2)
                        )
                        rr, qq = min(max(r, 0), hs - 1), min(max(q, 0), ws - 1)
                        acc = acc + wgt * source[n, :, rr, qq]
                        total = total + wgt
                out[n, :, y, x] = acc / total
    return out


def affine_projector(k: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """K = A(AᵀA)⁻¹Aᵀ - I for a k x k window, rows of A = (row, col, 1) in unfold order."""
    ii, jj = torch.meshgrid(torch.arange(k, dtype=dtype), torch.arange(k, dtype=dtype), indexing="ij")
    a = torch.stack((ii.reshape(-1), jj.reshape(-1), torch.ones(k * k, dtype=dtype)), dim=1)
    return a @ torch.linalg.inv(a.T @ a) @ a.T - torch.eye(k * k, dtype=dtype)


def affine_regularization(flow: torch.Tensor, k: int) -> torch.Tensor:
    """Sum over x and y of the mean (over windows) squared residual of a local affine fit.

    The official loss fits the sampling grid (coordinates + flow); the coordinates are affine, so the
    residual is the flow's own, and fitting the flow alone avoids cancelling large numbers.
    """
    kmat = affine_projector(k).to(device=flow.device, dtype=flow.dtype)
    b, _, h, w = flow.shape
    loss = flow.new_zeros(())
    for ch in range(2):
        patches = F.unfold(flow[:, ch : ch + 1], kernel_size=k)  # (B, k*k, L)
        residual = torch.einsum("pq,bql->bpl", kmat, patches)
        loss = loss + residual.pow(2).sum(dim=1).mean()
    return loss


def naive_affine_regularization(flow: torch.Tensor, k: int) -> torch.Tensor:
    """Per window: least-squares affine fit of the sampling grid with lstsq, squared residual."""
    b, _, h, w = flow.shape
    ii, jj = torch.meshgrid(
        torch.arange(k, dtype=flow.dtype), torch.arange(k, dtype=flow.dtype), indexing="ij"
    )
    a = torch.stack((ii.reshape(-1), jj.reshape(-1), torch.ones(k * k, dtype=flow.dtype)), dim=1)
    total = flow.new_zeros(())
    for ch in range(2):
        acc = []
        for n in range(b):
            for y in range(h - k + 1):
                for x in range(w - k + 1):
                    coord = (torch.arange(k, dtype=flow.dtype).view(1, k) + x) if ch == 0 else None
                    if ch == 1:
                        coord = torch.arange(k, dtype=flow.dtype).view(k, 1) + y
                    grid = (flow[n, ch, y : y + k, x : x + k] + coord).reshape(-1, 1)
                    sol = torch.linalg.lstsq(a, grid).solution
                    acc.append((a @ sol - grid).pow(2).sum())
        total = total + torch.stack(acc).mean()
    return total
