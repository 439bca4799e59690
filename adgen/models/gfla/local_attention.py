"""GFLA's local attention in plain PyTorch (no custom CUDA kernels).

For every target position the flow field says where to look in the source features. Local attention
takes the k x k source patch centred there (bilinear, coordinates clamped to the border), predicts k*k
softmax weights from that patch and the target's own k x k neighbourhood, and averages the patch
with those weights. The official code does the patch extraction (`BlockExtractor`) and the weight
reshaping (`LocalAttnReshape`) in CUDA; here the source patches are one `grid_sample`, the target
neighbourhoods one `unfold`, and the official `fully_connect_layer` weights apply unchanged.

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


def sample_patches(source: torch.Tensor, flow: torch.Tensor, k: int) -> torch.Tensor:
    """k x k source patches at the flow-moved positions, (B, C, H*W, k*k).

    `flow` is (B, 2, H, W) in pixels of the source map, channel 0 = x, 1 = y; position (y, x) reads
    the patch centred at (y + flow_y, x + flow_x). Bilinear; outside the map the border value is used
    (the official kernel clamps the corner indices, which gives the same values and gradients).
    Computed in float32 (or float64) whatever the input precision.
    """
    # positions need float32 at least: in bf16 a coordinate near 64 is only good to 0.25 px (AMP)
    dtype = torch.promote_types(source.dtype, torch.float32)
    source, flow = source.to(dtype), flow.to(dtype)
    b, _, hs, ws = source.shape
    _, _, h, w = flow.shape
    off = _offsets(k, flow)
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype)
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype)
    # positions laid out (B, H, W, i, j): patch row offset i, column offset j
    px = xs.view(1, 1, w, 1, 1) + flow[:, 0].reshape(b, h, w, 1, 1) + off.view(1, 1, 1, 1, k)
    py = ys.view(1, h, 1, 1, 1) + flow[:, 1].reshape(b, h, w, 1, 1) + off.view(1, 1, 1, k, 1)
    px, py = torch.broadcast_tensors(px, py)
    gx = px.reshape(b, h * w, k * k) * (2.0 / max(ws - 1, 1)) - 1.0
    gy = py.reshape(b, h * w, k * k) * (2.0 / max(hs - 1, 1)) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    return F.grid_sample(source, grid, mode="bilinear", padding_mode="border", align_corners=True)


def neighbourhood_patches(x: torch.Tensor, k: int) -> torch.Tensor:
    """Each position's own k x k neighbourhood (border replicated), (B, C, H*W, k*k).

    The same as `sample_patches(x, zero flow, k)`, done with `unfold` as no interpolation is needed.
    """
    b, c, h, w = x.shape
    before, after = k // 2, k - 1 - k // 2
    padded = F.pad(x, (before, after, before, after), mode="replicate") if k > 1 else x
    return F.unfold(padded, kernel_size=k).view(b, c, k * k, h * w).transpose(2, 3)


def to_block_map(patches: torch.Tensor, h: int, w: int, k: int) -> torch.Tensor:
    """(B, C, H*W, k*k) patches → the official (B, C, H*k, W*k) block layout (each patch a k x k tile)."""
    b, c = patches.shape[:2]
    return patches.reshape(b, c, h, w, k, k).permute(0, 1, 2, 4, 3, 5).reshape(b, c, h * k, w * k)


def sample_blocks(source: torch.Tensor, flow: torch.Tensor, k: int) -> torch.Tensor:
    """`sample_patches` in the official block layout (what `BlockExtractor` returns)."""
    return to_block_map(sample_patches(source, flow, k), flow.shape[2], flow.shape[3], k)


def neighbourhood_blocks(x: torch.Tensor, k: int) -> torch.Tensor:
    return to_block_map(neighbourhood_patches(x, k), x.shape[2], x.shape[3], k)


class ExtractorAttn(nn.Module):
    """One local-attention block (official name and parameters, so checkpoint keys line up).

    `fully_connect_layer` is the official [conv k x k stride k (2C → 128), LReLU, conv 1x1 (128 → k*k),
    softmax]. Its first conv sees non-overlapping k x k tiles, i.e. it is one matrix product per
    position; it runs as such on the (target, source) patches, which skips building the block map
    and the channel concatenation (1.7x faster than the strided conv on CPU, same result).
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

    def _weights(self, target_patches: torch.Tensor, source_patches: torch.Tensor) -> torch.Tensor:
        """Softmax weights (B, H*W, k*k) from the two patch sets (B, C, H*W, k*k)."""
        conv0, act, conv1, _ = self.fully_connect_layer
        b, c, hw, kk = source_patches.shape
        w0 = conv0.weight.reshape(conv0.out_channels, 2, c * kk)  # input channels: target, then source
        cols_t = target_patches.permute(0, 2, 1, 3).reshape(b, hw, c * kk)
        cols_s = source_patches.permute(0, 2, 1, 3).reshape(b, hw, c * kk)
        hidden = act(F.linear(cols_t, w0[:, 0]) + F.linear(cols_s, w0[:, 1], conv0.bias))
        logits = F.linear(hidden, conv1.weight.reshape(kk, -1), conv1.bias)
        return torch.softmax(logits, dim=-1)

    def attention_weights(
        self, source: torch.Tensor, target: torch.Tensor, flow: torch.Tensor
    ) -> torch.Tensor:
        """The k*k weights per target position, (B, k*k, H, W) (the official `hook_attn_param`)."""
        k = self.kernel_size
        weights = self._weights(neighbourhood_patches(target, k), sample_patches(source, flow, k))
        b, _, h, w = flow.shape
        return weights.transpose(1, 2).reshape(b, k * k, h, w)

    def forward(self, source: torch.Tensor, target: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        assert source.shape[2:] == target.shape[2:] == flow.shape[2:], (
            source.shape,
            target.shape,
            flow.shape,
        )
        k = self.kernel_size
        b, c, h, w = source.shape
        patches = sample_patches(source, flow, k)
        weights = self._weights(neighbourhood_patches(target, k), patches)
        # the official avg_pool2d(weights * patch, k): the weighted sum over the window divided by k*k
        out = torch.einsum("bcpk,bpk->bcp", patches, weights) / (k * k)
        return out.reshape(b, c, h, w)


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
