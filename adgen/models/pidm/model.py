"""The PIDM network: a texture encoder over the source image and a noise-predicting UNet that
reads the noisy target beside the target pose and attends to the encoder's features.

One class per paper concept, in the official code's structure (so the released weights map one to
one, adgen/models/pidm/official.py):

- `TextureEncoder` (the paper's texture encoder H_E): the UNet's down path without attention over
  the source image; its stem and each of its blocks give one feature map F_s, the same count and
  shapes as the UNet's down path, so UNet block k attends to feature k (and up block k to the
  mirrored one).
- `PidmUNet` (the paper's H_N): input = noisy image ⊕ target pose map (3 + 20 channels), time
  embedding into every residual block (scale and shift after the out norm), `CrossAttention` from
  the UNet's features (queries) to the encoder's (keys, values) at the chosen feature heights and in
  the middle, skip connections, output 2 x 3 channels: ε and the learned-range variance v.

The official code builds a few layers it never runs: a self-attention (`qkv`, `proj_out1`) in every
attention block, a style projection (`cond_emb_layers`) in every residual block, and in the
encoder a time embedding and per-block time projections that get no time. They are kept here
(`self_qkv`, `self_proj`, `style_proj`, `unused_time_embed`), unused as there, so the released
checkpoint loads strictly and the parameter counts are the official ones; they get no gradient.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from adgen.models.pidm.config import POSE_CHANNELS, PidmParams

IMAGE_CHANNELS = 3


class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 whatever the autocast dtype (as the official `GroupNorm32`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).type(x.dtype)


def group_norm(channels: int) -> GroupNorm32:
    return GroupNorm32(min(32, channels), channels)


def zeroed(module: nn.Module) -> nn.Module:
    """Zero-initialised output layers: each residual / attention branch starts as the identity."""
    for p in module.parameters():
        p.detach().zero_()
    return module


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps: [cos | sin] of t times
    max_period^(-i/half), i < half."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class TimeEmbedding(nn.Module):
    """Sinusoid (model_channels) → Linear → SiLU → Linear (embed_channels)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.fc1 = nn.Linear(in_channels, out_channels)
        self.fc2 = nn.Linear(out_channels, out_channels)

    def forward(self, t_emb: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.silu(self.fc1(t_emb)))


class ResBlock(nn.Module):
    """GroupNorm → SiLU → (resample) → conv, then GroupNorm, time scale/shift, SiLU, dropout, zero
    conv, plus the (1x1-projected when the width changes) input. `resample` "up" / "down" is nearest
    ×2 / average pooling, applied to both paths (BigGAN-style up/down blocks)."""

    def __init__(
        self, channels: int, out_channels: int, emb_channels: int, dropout: float, resample: str | None = None
    ):
        super().__init__()
        assert resample in (None, "up", "down")
        self.resample = resample
        self.in_norm = group_norm(channels)
        self.in_conv = nn.Conv2d(channels, out_channels, 3, padding=1)
        self.emb_proj = nn.Linear(emb_channels, 2 * out_channels)
        self.style_proj = nn.Linear(out_channels, out_channels)  # built, never run (official cond_emb_layers)
        self.out_norm = group_norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.out_conv = zeroed(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def _resample(self, x: torch.Tensor) -> torch.Tensor:
        if self.resample == "up":
            return F.interpolate(x, scale_factor=2, mode="nearest")
        if self.resample == "down":
            return F.avg_pool2d(x, 2)
        return x

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        h = F.silu(self.in_norm(x))
        h, x = self._resample(h), self._resample(x)
        h = self.out_norm(self.in_conv(h))
        if emb is not None:
            scale, shift = self.emb_proj(F.silu(emb)).type(h.dtype)[..., None, None].chunk(2, dim=1)
            h = h * (1 + scale) + shift
        h = self.out_conv(self.dropout(F.silu(h)))
        return self.skip(x) + h


class CrossAttention(nn.Module):
    """Queries from the (normalised) UNet features, keys and values from the encoder's features of
    the same width; one head, residual, zero-initialised output projection."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = group_norm(channels)
        self.self_qkv = nn.Conv1d(channels, 3 * channels, 1)  # built, never run (official qkv)
        self.to_kv = nn.Conv1d(channels, 2 * channels, 1)
        self.to_q = nn.Conv1d(channels, channels, 1)
        self.self_proj = zeroed(nn.Conv1d(channels, channels, 1))  # built, never run (official proj_out1)
        self.proj = zeroed(nn.Conv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        b, c, *spatial = x.shape
        assert style.shape[:2] == (b, c), (
            f"style features {tuple(style.shape)} for UNet features {tuple(x.shape)}"
        )
        x = x.reshape(b, c, -1)
        q = self.to_q(self.norm(x))
        k, v = self.to_kv(style.reshape(b, c, -1)).split(c, dim=1)
        # (b, 1 head, length, c); softmax(q k^T / sqrt(c)) v, as the official QKVAttentionLegacy
        a = F.scaled_dot_product_attention(
            q.transpose(1, 2)[:, None], k.transpose(1, 2)[:, None], v.transpose(1, 2)[:, None]
        )
        h = self.proj(a[:, 0].transpose(1, 2))
        return (x + h).reshape(b, c, *spatial)


class Block(nn.Module):
    """One entry of the UNet's (or encoder's) block list: a residual block, then cross-attention
    (when the level has it) and an up-sampling residual block (at the end of a decoder level)."""

    def __init__(self, res: ResBlock, attn: CrossAttention | None = None, resample: ResBlock | None = None):
        super().__init__()
        self.res = res
        if attn is not None:
            self.attn = attn
        if resample is not None:
            self.resample = resample

    def forward(self, h: torch.Tensor, emb: torch.Tensor | None, style: torch.Tensor | None) -> torch.Tensor:
        h = self.res(h, emb)
        if hasattr(self, "attn"):
            h = self.attn(h, style)
        if hasattr(self, "resample"):
            h = self.resample(h, emb)
        return h


class MiddleBlock(nn.Module):
    def __init__(self, ch: int, emb: int, dropout: float):
        super().__init__()
        self.res1 = ResBlock(ch, ch, emb, dropout)
        self.attn = CrossAttention(ch)
        self.res2 = ResBlock(ch, ch, emb, dropout)

    def forward(self, h: torch.Tensor, emb: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.res2(self.attn(self.res1(h, emb), style), emb)


def down_path(p: PidmParams, in_channels: int, attention: bool) -> tuple[nn.Conv2d, nn.ModuleList, list[int]]:
    """The stem and the blocks of the down path (the UNet's, or without attention the encoder's),
    and the width of each output (stem first): the skip widths of the decoder."""
    ch = p.channel_mult[0] * p.model_channels
    stem = nn.Conv2d(in_channels, ch, 3, padding=1)
    blocks, widths = nn.ModuleList(), [ch]
    height = p.height
    for level, mult in enumerate(p.channel_mult):
        for i in range(p.num_res_blocks):
            out = mult * p.model_channels
            attn = attention and height in p.attention_resolutions and i == p.num_res_blocks - 1
            blocks.append(
                Block(ResBlock(ch, out, p.embed_channels, p.dropout), CrossAttention(out) if attn else None)
            )
            ch = out
            widths.append(ch)
        if level != len(p.channel_mult) - 1:
            blocks.append(Block(ResBlock(ch, ch, p.embed_channels, p.dropout, resample="down")))
            widths.append(ch)
            height //= 2
    return stem, blocks, widths


class TextureEncoder(nn.Module):
    """The source image → one feature map per down-path position (stem, then each block)."""

    def __init__(self, p: PidmParams):
        super().__init__()
        # the official encoder is built from the UNet's config: it has its own (never used) time embedding
        self.unused_time_embed = TimeEmbedding(p.model_channels, p.embed_channels)
        self.stem, self.blocks, _ = down_path(p, IMAGE_CHANNELS, attention=False)

    def forward(self, source: torch.Tensor) -> list[torch.Tensor]:
        h = self.stem(source.float())
        feats = [h]
        for block in self.blocks:
            h = block(h, None, None)
            feats.append(h)
        return feats


class PidmUNet(nn.Module):
    """ε and v (2 x 3 channels) for the noisy target `x_t` at `t`, in the target `pose`, with the
    texture of the source given as the encoder's features `style` (`PidmUNet.encode(source)`)."""

    def __init__(self, p: PidmParams):
        super().__init__()
        self.p = p
        self.time_embed = TimeEmbedding(p.model_channels, p.embed_channels)
        self.stem, self.input_blocks, widths = down_path(p, IMAGE_CHANNELS + POSE_CHANNELS, attention=True)
        ch = widths[-1]
        self.middle = MiddleBlock(ch, p.embed_channels, p.dropout)
        self.output_blocks = nn.ModuleList()
        height = p.height // 2 ** (len(p.channel_mult) - 1)
        for level, mult in reversed(list(enumerate(p.channel_mult))):
            for i in range(p.num_res_blocks + 1):
                out = mult * p.model_channels
                res = ResBlock(ch + widths.pop(), out, p.embed_channels, p.dropout)
                ch = out
                attn = (
                    CrossAttention(ch)
                    if height in p.attention_resolutions and i == p.num_res_blocks - 1
                    else None
                )
                up = None
                if level and i == p.num_res_blocks:
                    up = ResBlock(ch, ch, p.embed_channels, p.dropout, resample="up")
                    height *= 2
                self.output_blocks.append(Block(res, attn, up))
        self.out_norm = group_norm(ch)
        self.out_conv = zeroed(nn.Conv2d(ch, 2 * IMAGE_CHANNELS, 3, padding=1))
        self.encoder = TextureEncoder(p)

    def encode(self, source: torch.Tensor) -> list[torch.Tensor]:
        """The texture features of `source` (zeros: the null appearance of classifier-free guidance)."""
        return self.encoder(source)

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, pose: torch.Tensor, style: list[torch.Tensor]
    ) -> torch.Tensor:
        emb = self.time_embed(timestep_embedding(t, self.p.model_channels))
        h = self.stem(torch.cat([x_t, pose], dim=1).float())
        skips = [h]
        for k, block in enumerate(self.input_blocks, start=1):
            h = block(h, emb, style[k])
            skips.append(h)
        h = self.middle(h, emb, style[-1])
        for k, block in enumerate(self.output_blocks):
            h = block(torch.cat([h, skips.pop()], dim=1), emb, style[-k - 1])
        return self.out_conv(F.silu(self.out_norm(h)))


def parameter_groups(model: PidmUNet) -> dict[str, int]:
    """Parameter counts by part, as the official code's top-level modules divide them."""

    def count(*modules: nn.Module) -> int:
        return sum(p.numel() for m in modules for p in m.parameters())

    return {
        "all": count(model),
        "time_embed": count(model.time_embed),
        "input_blocks": count(model.stem, model.input_blocks),
        "middle_block": count(model.middle),
        "output_blocks": count(model.output_blocks),
        "out": count(model.out_norm, model.out_conv),
        "encoder": count(model.encoder),
    }


def build(p: PidmParams) -> PidmUNet:
    return PidmUNet(p)
