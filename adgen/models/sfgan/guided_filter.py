"""The guided filter (He, Sun, Tang, ECCV 2010), differentiable, in PyTorch.

SF-GAN's appearance synthesizer changes a bag's colour and light; a network that repaints pixels
also blurs the bag's print, stitching and edges. The guided filter fixes that: within every
(2r+1)x(2r+1) window it fits the network's output as a linear function of the original bag,
q = a * I + b, and averages the fits. A colour/brightness/contrast change is such a function (it
passes through exactly), while the texture and edges come from the guide I, the untouched bag.

Box means use cumulative sums (O(1) per pixel for any r); windows are clipped at the image border
and divided by the number of pixels they hold, as in He's reference code. An optional `weight`
(the bag's alpha) turns every mean into a weighted mean, so the empty canvas around a bag does not
pull its edge colours towards black.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def box_sum(x: torch.Tensor, r: int) -> torch.Tensor:
    """Sum of x over the (2r+1)x(2r+1) window around each pixel, clipped at the border ([B,C,H,W])."""
    assert x.ndim == 4, x.shape
    h, w = x.shape[-2:]
    # Cumulative sums with a zero row/column in front: window sum = S[hi] - S[lo].
    c = F.pad(x.cumsum(dim=2), (0, 0, 1, 0))
    rows = torch.arange(h, device=x.device)
    hi = (rows + r + 1).clamp(max=h)
    lo = (rows - r).clamp(min=0)
    y = c[:, :, hi] - c[:, :, lo]
    c = F.pad(y.cumsum(dim=3), (1, 0))
    cols = torch.arange(w, device=x.device)
    hi = (cols + r + 1).clamp(max=w)
    lo = (cols - r).clamp(min=0)
    return c[..., hi] - c[..., lo]


def box_mean(x: torch.Tensor, r: int, weight: torch.Tensor | None = None, eps: float = 1e-6) -> torch.Tensor:
    """Mean over each clipped window; with `weight` ([B,1,H,W]) the weighted mean."""
    if weight is None:
        ones = torch.ones_like(x[:, :1])
        return box_sum(x, r) / box_sum(ones, r)
    return box_sum(x * weight, r) / (box_sum(weight, r) + eps)


def _full(x: torch.Tensor) -> torch.Tensor:
    """float32 (or float64, kept): the variance terms cancel badly in half precision."""
    return x if x.dtype == torch.float64 else x.float()


def guided_filter(
    guide: torch.Tensor,
    src: torch.Tensor,
    radius: int,
    eps: float,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Filter `src` guided by `guide`, channel by channel ([B,C,H,W] each, or a 1-channel guide).

    `eps` is the regulariser of the linear fit: small keeps more of the guide's detail, large lets
    the output follow `src` (the usual range for images in [0, 1] is 1e-4 .. 1e-2).
    """
    assert guide.ndim == 4 and src.ndim == 4 and guide.shape[-2:] == src.shape[-2:], (guide.shape, src.shape)
    assert guide.shape[1] in (1, src.shape[1]), (guide.shape, src.shape)
    assert radius >= 0 and eps > 0
    with torch.autocast(device_type=src.device.type, enabled=False):
        guide, src = _full(guide), _full(src)
        weight = None if weight is None else _full(weight)
        mean_i = box_mean(guide, radius, weight)
        mean_p = box_mean(src, radius, weight)
        cov_ip = box_mean(guide * src, radius, weight) - mean_i * mean_p
        var_i = box_mean(guide * guide, radius, weight) - mean_i * mean_i
        a = cov_ip / (var_i + eps)
        b = mean_p - a * mean_i
        # The second averaging is over all windows covering the pixel (unweighted, as in He et al.):
        # every pixel's a, b are already fitted on the bag's own pixels.
        return box_mean(a, radius) * guide + box_mean(b, radius)
