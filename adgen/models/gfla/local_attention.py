"""GFLA's local attention in plain PyTorch (no custom CUDA kernels).

For every target position the flow field says where to look in the source features. Local attention
takes the k x k source patch centred there (bilinear, coordinates clamped to the border), predicts k*k
softmax weights from that patch and the target's own k x k neighbourhood, and averages the patch
with those weights. The official code does the patch extraction (`BlockExtractor`) and the weight
reshaping (`LocalAttnReshape`) in CUDA; here they are one `grid_sample` and one `unfold`, laid out in
the same "block" layout (each position becomes a k x k tile of a (H*k, W*k) map), so the official
`fully_connect_layer` weights apply unchanged.

The `naive_*` functions are slow loop versions written straight from the definition; tests check
the fast ones against them, values and gradients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _offsets(k: int, like: torch.Tensor) -> torch.Tensor:
    """Window offsets -k//2 … k-1-k//2 (centred for odd k, as the official kernels)."""
    return torch.arange(k, device=like.device, dtype=like.dtype) - (k // 2)


def sample_blocks(source: torch.Tensor, flow: torch.Tensor, k: int) -> torch.Tensor:
    """k x k source patches at the flow-moved positions, as a (B, C, H*k, W*k) block map.

    `flow` is (B, 2, H, W) in pixels of the source map, channel 0 = x, 1 = y; position (y, x) reads
    the patch centred at (y + flow_y, x + flow_x). Bilinear; outside the map the border value is used.
    """
    b, _, hs, ws = source.shape
    _, _, h, w = flow.shape
    off = _offsets(k, flow)
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype)
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype)
    # positions laid out (B, H, k, W, k): row block y, row offset i, column block x, column offset j
    px = xs.view(1, 1, 1, w, 1) + flow[:, 0].reshape(b, h, 1, w, 1) + off.view(1, 1, 1, 1, k)
    py = ys.view(1, h, 1, 1, 1) + flow[:, 1].reshape(b, h, 1, w, 1) + off.view(1, 1, k, 1, 1)
    px, py = torch.broadcast_tensors(px, py)
    gx = px.reshape(b, h * k, w * k) * (2.0 / max(ws - 1, 1)) - 1.0
    gy = py.reshape(b, h * k, w * k) * (2.0 / max(hs - 1, 1)) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    return F.grid_sample(source, grid, mode="bilinear", padding_mode="border", align_corners=True)


def neighbourhood_blocks(x: torch.Tensor, k: int) -> torch.Tensor:
    """Each position's own k x k neighbourhood (border replicated), as a (B, C, H*k, W*k) block map.

    The same as `sample_blocks(x, zero flow, k)`, done with `unfold` because no interpolation is needed.
    """
    b, c, h, w = x.shape
    before, after = k // 2, k - 1 - k // 2
    padded = F.pad(x, (before, after, before, after), mode="replicate") if k > 1 else x
    cols = F.unfold(padded, kernel_size=k)  # (B, C*k*k, H*W), column index = (c, i, j)
    blocks = cols.view(b, c, k, k, h, w).permute(0, 1, 4, 2, 5, 3)  # (B, C, H, k, W, k)
    return blocks.reshape(b, c, h * k, w * k)


def attend(weights: torch.Tensor, blocks: torch.Tensor, k: int) -> torch.Tensor:
    """Average each k x k tile of `blocks` with its k*k `weights` (B, k*k, H, W) → (B, C, H, W).

    Matches the official `avg_pool2d(reshape(weights) * blocks, k)`: the weighted sum divided by k*k.
    """
    b, c, hk, wk = blocks.shape
    h, w = hk // k, wk // k
    tiles = blocks.view(b, c, h, k, w, k)
    a = weights.view(b, 1, k, k, h, w).permute(0, 1, 4, 2, 5, 3)  # (B, 1, H, k, W, k)
    return (tiles * a).sum(dim=(3, 5)) / (k * k)


class ExtractorAttn(nn.Module):
    """One local-attention block (official name kept so checkpoint keys line up).

    `fully_connect_layer` sees the target neighbourhood and the flow-sampled source patch of each
    position (a k x k conv with stride k over the block map) and predicts the k*k softmax weights.
    """

    def __init__(self, feature_nc: int, kernel_size: int, nonlinearity: nn.Module, hidden_nc: int = 128):
        super().__init__()
        self.kernel_size = kernel_size
        k = kernel_size
        self.fully_connect_layer = nn.Sequential(
            nn.Conv2d(2 * feature_nc, hidden_nc, kernel_size=k, stride=k, padding=0),
            nonlinearity,
            nn.Conv2d(hidden_nc, k * k, kernel_size=1, stride=1, padding=0),
            nn.Softmax(dim=1),
        )

    def attention_weights(
        self, source: torch.Tensor, target: torch.Tensor, flow: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.kernel_size
        block_source = sample_blocks(source, flow, k)
        block_target = neighbourhood_blocks(target, k)
        weights = self.fully_connect_layer(torch.cat((block_target, block_source), dim=1))
        return weights, block_source

    def forward(self, source: torch.Tensor, target: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        assert source.shape[2:] == target.shape[2:] == flow.shape[2:], (
            source.shape,
            target.shape,
            flow.shape,
        )
        weights, block_source = self.attention_weights(source, target, flow)
        return attend(weights, block_source, self.kernel_size)


# --------------------------------------------------------------------------------------------------
# Naive references (loops over every position and window offset; small tensors only)
# --------------------------------------------------------------------------------------------------


def naive_bilinear(img: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """img (C, H, W) at one real-valued point, integer corners clamped to the map (official kernel)."""
    _, h, w = img.shape
    x0f, y0f = torch.floor(x), torch.floor(y)
    ax, ay = x - x0f, y - y0f
    x0, y0 = int(x0f), int(y0f)
    xl, xr = min(max(x0, 0), w - 1), min(max(x0 + 1, 0), w - 1)
    yt, yb = min(max(y0, 0), h - 1), min(max(y0 + 1, 0), h - 1)
    return (
        (1 - ax) * (1 - ay) * img[:, yt, xl]
        + ax * (1 - ay) * img[:, yt, xr]
        + (1 - ax) * ay * img[:, yb, xl]
        + ax * ay * img[:, yb, xr]
    )


def naive_sample_blocks(source: torch.Tensor, flow: torch.Tensor, k: int) -> torch.Tensor:
    b, c, _, _ = source.shape
    _, _, h, w = flow.shape
    out = []
    for n in range(b):
        rows = []
        for y in range(h):
            for i in range(k):
                row = []
                for x in range(w):
                    for j in range(k):
                        px = x + flow[n, 0, y, x] + (j - k // 2)
                        py = y + flow[n, 1, y, x] + (i - k // 2)
                        row.append(naive_bilinear(source[n], px, py))
                rows.append(torch.stack(row, dim=-1))  # (C, W*k)
        out.append(torch.stack(rows, dim=-2))  # (C, H*k, W*k)
    return torch.stack(out)


def naive_attend(weights: torch.Tensor, blocks: torch.Tensor, k: int) -> torch.Tensor:
    b, c, hk, wk = blocks.shape
    h, w = hk // k, wk // k
    out = torch.zeros(b, c, h, w, dtype=blocks.dtype)
    for n in range(b):
        for y in range(h):
            for x in range(w):
                acc = torch.zeros(c, dtype=blocks.dtype)
                for i in range(k):
                    for j in range(k):
                        acc = acc + weights[n, i * k + j, y, x] * blocks[n, :, y * k + i, x * k + j]
                out[n, :, y, x] = acc / (k * k)
    return out


def naive_local_attention(
    block: ExtractorAttn, source: torch.Tensor, target: torch.Tensor, flow: torch.Tensor
) -> torch.Tensor:
    """The whole block from the definition: loops for patches and averaging, the block's own layers."""
    k = block.kernel_size
    block_source = naive_sample_blocks(source, flow, k)
    block_target = naive_sample_blocks(target, torch.zeros_like(flow), k)
    weights = block.fully_connect_layer(torch.cat((block_target, block_source), dim=1))
    return naive_attend(weights, block_source, k)
