"""StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN").

One class per paper concept, readable top to bottom beside the paper: equalised-learning-rate
layers, the mapping network, modulated/demodulated convolution, styled conv + noise, ToRGB, the
skip generator, and the residual discriminator with minibatch standard deviation.

Faithful to NVlabs' `stylegan2` networks at the same configuration (same parameter counts, same
resampling filter and padding), with two choices made for speed:
- Modulation is applied to the activations (x * s, shared-weight conv, x * demod) rather than to
  a per-sample grouped weight: the same maths, but one ordinary batched convolution, which is far
  faster on CPU and is what NVlabs itself does while training.
- The [1,3,3,1] FIR resampling filter is a depthwise (grouped) convolution, fused with the
  stride-2 step where possible, instead of generic upfirdn loops.
- Biases are added in the activations' dtype, so under mixed precision the activations stay
  half-width between convolutions instead of being promoted back to float32 by every bias add.
- Activations are channels-last (NHWC) from the generator's constant and the discriminator's
  input on: oneDNN's depthwise FIR convolutions run 2.5x faster so on CPU, and tensor cores want
  it under mixed precision on GPU. Parameters keep their usual layout (checkpoints unchanged).

Outputs may be square or tall (H:W = 2:1, e.g. 128x64 for full bodies): the generator starts from
a 4x2 constant instead of 4x4 and the discriminator ends on a 4x2 map. Nothing is ever cropped.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def channels_at(res: int, channel_base: int, channel_max: int) -> int:
    """NVlabs' channel rule: channel_base / resolution, capped at channel_max."""
    return min(channel_base // res, channel_max)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


# --- resampling with the [1, 3, 3, 1] filter -------------------------------------------------------


def _fir_kernel(channels: int, gain: float, like: torch.Tensor) -> torch.Tensor:
    f = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=like.dtype, device=like.device)
    k = torch.outer(f, f)
    k = k / k.sum() * gain
    return k.expand(channels, 1, 4, 4)


def blur(x: torch.Tensor, pad: int, gain: float = 1.0) -> torch.Tensor:
    """Depthwise 4x4 FIR filter with `pad` zeros each side (output grows by 2*pad - 3)."""
    c = x.shape[1]
    return F.conv2d(F.pad(x, [pad] * 4), _fir_kernel(c, gain, x), groups=c)


def upsample2d(x: torch.Tensor) -> torch.Tensor:
    """2x upsampling (NVlabs upfirdn2d.upsample2d): zero-insertion and FIR in one transposed conv."""
    c = x.shape[1]
    return F.conv_transpose2d(x, _fir_kernel(c, 4.0, x), stride=2, padding=1, groups=c)


def downsample2d(x: torch.Tensor) -> torch.Tensor:
    """2x downsampling (FIR then keep every other pixel) as one strided depthwise conv."""
    c = x.shape[1]
    return F.conv2d(x, _fir_kernel(c, 1.0, x), stride=2, padding=1, groups=c)


def float32(like: torch.Tensor):
    """Autocast off: small, precision-sensitive maths (mapping, styles) runs in float32."""
    return torch.autocast(like.device.type, enabled=False)


# --- equalised learning rate -------------------------------------------------------------------


class EqualLinear(nn.Module):
    """Fully connected layer with equalised learning rate (weights scaled at run time)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_mult: float = 1.0,
        activation: bool = False,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mult)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init))) if bias else None
        self.weight_gain = lr_mult / math.sqrt(in_features)
        self.bias_gain = lr_mult
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bias * self.bias_gain if self.bias is not None else None
        x = F.linear(x, self.weight * self.weight_gain, b)
        if self.activation:
            x = F.leaky_relu(x, 0.2) * SQRT2
        return x


class EqualConv2d(nn.Module):
    """Convolution with equalised learning rate, optionally with FIR 2x downsampling.

    `down=True` follows NVlabs' conv2d_resample: FIR first (padding so the sizes halve exactly),
    then a stride-2 convolution; a 1x1 conv is simply applied after the strided FIR.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        activation: bool = True,
        down: bool = False,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.kernel_size = kernel_size
        self.activation = activation
        self.down = down

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = self.weight * self.weight_gain
        k = self.kernel_size
        if self.down and k == 1:
            x = F.conv2d(downsample2d(x), w)
        elif self.down:
            x = F.conv2d(blur(x, pad=(k - 1) // 2 + 1), w, stride=2)
        else:
            x = F.conv2d(x, w, padding=k // 2)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype).view(1, -1, 1, 1)
        if self.activation:
            x = F.leaky_relu(x, 0.2) * SQRT2
        return x * gain if gain != 1.0 else x


# --- generator ---------------------------------------------------------------------------------


class MappingNetwork(nn.Module):
    """z -> w: normalise z, then an MLP with a 0.01 learning-rate multiplier; tracks mean w."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int, num_ws: int, lr_mult: float = 0.01):
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws = z_dim, w_dim, num_ws
        dims = [z_dim] + [w_dim] * num_layers
        self.layers = nn.Sequential(
            *[EqualLinear(dims[i], dims[i + 1], lr_mult=lr_mult, activation=True) for i in range(num_layers)]
        )
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(
        self, z: torch.Tensor, truncation: float = 1.0, update_w_avg: bool = False, w_avg_beta=0.995
    ) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.z_dim, z.shape
        with float32(z):
            w = self.layers(normalize_2nd_moment(z.float()))
        if update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().mean(0).lerp(self.w_avg, w_avg_beta))
        ws = w.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation != 1.0:
            ws = self.w_avg.lerp(ws, truncation)
        return ws


class ModulatedConv2d(nn.Module):
    """Conv whose input channels are scaled by a per-sample style, then output demodulated.

    Computed as (x * s) conv w, then * d with d = 1/sqrt(sum (w*s)^2): identical to
    convolving with the per-sample weight w*s*d, but an ordinary batched conv.
    `up=True` is a stride-2 transposed conv followed by the FIR filter (NVlabs' layout).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        w_dim: int,
        demodulate: bool = True,
        up: bool = False,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.kernel_size, self.demodulate, self.up = kernel_size, demodulate, up
        # ToRGB (no demodulation) keeps the equalised-LR gain on its styles.
        self.style_gain = 1.0 if demodulate else 1.0 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        weight = self.weight
        with float32(w):  # styles and demodulation stay float32 under mixed precision (as NVlabs)
            styles = self.affine(w.float()) * self.style_gain  # [B, in]
            if self.demodulate:
                wsq = weight.square().sum(dim=[2, 3])  # [out, in]
                dcoefs = (styles.square() @ wsq.t() + 1e-8).rsqrt()  # [B, out]
        x = x * styles.to(x.dtype).view(*styles.shape, 1, 1)
        if self.up:
            x = F.conv_transpose2d(x, weight.transpose(0, 1), stride=2)
            x = blur(x, pad=1, gain=4.0)
        else:
            x = F.conv2d(x, weight, padding=self.kernel_size // 2)
        if self.demodulate:
            x = x * dcoefs.to(x.dtype).view(*dcoefs.shape, 1, 1)
        return x


class NoiseInjection(nn.Module):
    """Per-pixel noise scaled by a learned strength; fixed 'const' noise for reproducible samples."""

    def __init__(self, size: tuple[int, int]):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(1, 1, *size))

    def forward(self, x: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        if noise_mode == "none":
            return x
        if noise_mode == "const":
            noise = self.noise_const
        else:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], dtype=x.dtype, device=x.device)
        return x + noise * self.strength


class StyledConv(nn.Module):
    """Modulated 3x3 conv + noise + bias + leaky ReLU: one synthesis layer."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, size: tuple[int, int], up=False):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, up=up)
        self.noise = NoiseInjection(size)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        x = self.noise(self.conv(x, w), noise_mode)
        return F.leaky_relu(x + self.bias.to(x.dtype).view(1, -1, 1, 1), 0.2) * SQRT2


class ToRGB(nn.Module):
    """1x1 modulated conv (no demodulation) to RGB, added to the upsampled skip image."""

    def __init__(self, in_channels: int, w_dim: int, img_channels: int = 3):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, img_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(img_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        y = self.conv(x, w)
        return y + self.bias.to(y.dtype).view(1, -1, 1, 1)


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator: (up-)conv, conv, ToRGB."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, size: tuple[int, int], first: bool):
        super().__init__()
        self.first = first
        if first:
            self.const = nn.Parameter(torch.randn(out_channels, *size))
            self.conv0 = None
        else:
            self.conv0 = StyledConv(in_channels, out_channels, w_dim, size, up=True)
        self.conv1 = StyledConv(out_channels, out_channels, w_dim, size)
        self.torgb = ToRGB(out_channels, w_dim)
        self.num_conv = 1 if first else 2

    def forward(self, x, img, ws: torch.Tensor, noise_mode: str = "random"):
        if self.first:
            x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = x.contiguous(memory_format=torch.channels_last)
            x = self.conv1(x, ws[:, 0], noise_mode)
        else:
            x = self.conv0(x, ws[:, 0], noise_mode)
            x = self.conv1(x, ws[:, 1], noise_mode)
        y = self.torgb(x, ws[:, self.num_conv])
        img = y if img is None else upsample2d(img) + y
        return x, img


def block_sizes(resolution: tuple[int, int]) -> list[tuple[int, int]]:
    """Feature-map sizes from the 4x4 (or 4x2 for tall images) start up to the output size."""
    h, w = resolution
    n = int(math.log2(h)) - 1  # blocks: 4, 8, ..., h
    return [(4 * 2**i, 4 * 2**i * w // h) for i in range(n)]


class SynthesisNetwork(nn.Module):
    """w+ (one w per layer) -> image, with skip connections through ToRGB at every resolution."""

    def __init__(self, w_dim: int, resolution: tuple[int, int], channel_base: int, channel_max: int):
        super().__init__()
        self.resolution = tuple(resolution)
        sizes = block_sizes(self.resolution)
        blocks = []
        in_ch = 0
        for i, size in enumerate(sizes):
            out_ch = channels_at(size[0], channel_base, channel_max)
            blocks.append(SynthesisBlock(in_ch, out_ch, w_dim, size, first=i == 0))
            in_ch = out_ch
        self.blocks = nn.ModuleList(blocks)
        self.num_ws = sum(b.num_conv for b in blocks) + 1

    def forward(self, ws: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        assert ws.ndim == 3 and ws.shape[1] == self.num_ws, ws.shape
        x = img = None
        idx = 0
        for block in self.blocks:
            x, img = block(x, img, ws[:, idx : idx + block.num_conv + 1], noise_mode)
            idx += block.num_conv
        return img


class Generator(nn.Module):
    """z -> image in [-1, 1] (roughly): mapping network + synthesis network."""

    def __init__(
        self,
        resolution: tuple[int, int],
        z_dim: int = 512,
        w_dim: int = 512,
        mapping_layers: int = 8,
        channel_base: int = 32768,
        channel_max: int = 512,
        mapping_lr_mult: float = 0.01,
    ):
        super().__init__()
        self.resolution = tuple(resolution)
        self.z_dim = z_dim
        self.synthesis = SynthesisNetwork(w_dim, self.resolution, channel_base, channel_max)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, self.num_ws, mapping_lr_mult)

    def forward(self, z: torch.Tensor, truncation: float = 1.0, noise_mode: str = "random"):
        return self.synthesis(self.mapping(z, truncation), noise_mode)


# --- discriminator -----------------------------------------------------------------------------


class DiscriminatorBlock(nn.Module):
    """Residual block: (fromRGB), conv, down-conv, plus a 1x1 down-sampled skip; sum * sqrt(1/2)."""

    def __init__(self, in_channels: int, out_channels: int, from_rgb: bool, img_channels: int = 3):
        super().__init__()
        self.fromrgb = EqualConv2d(img_channels, in_channels, 1) if from_rgb else None
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3, down=True)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False, activation=False, down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fromrgb is not None:
            x = self.fromrgb(x)
        y = self.skip(x, gain=math.sqrt(0.5))
        x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
        return y + x


class MinibatchStdDev(nn.Module):
    """Appends the std-dev of features across a group of samples: lets D see low variety."""

    def __init__(self, group_size: int, num_channels: int = 1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n)
        assert n % g == 0, f"batch {n} must be divisible by the mbstd group {g}"
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(dim=0)).square().mean(dim=0)
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4])  # [n/g, f]
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(nn.Module):
    """At 4x4 (4x2): minibatch-stddev, conv, fully connected, one logit."""

    def __init__(self, channels: int, size: tuple[int, int], mbstd_group: int, mbstd_channels: int):
        super().__init__()
        self.mbstd = MinibatchStdDev(mbstd_group, mbstd_channels)
        self.conv = EqualConv2d(channels + mbstd_channels, channels, 3)
        self.fc = EqualLinear(channels * size[0] * size[1], channels, activation=True)
        self.out = EqualLinear(channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.mbstd(x))
        return self.out(self.fc(x.flatten(1)))


class Discriminator(nn.Module):
    """Image -> realness logit; residual architecture (StyleGAN2 config E/F)."""

    def __init__(
        self,
        resolution: tuple[int, int],
        channel_base: int = 32768,
        channel_max: int = 512,
        mbstd_group: int = 4,
        mbstd_channels: int = 1,
    ):
        super().__init__()
        self.resolution = tuple(resolution)
        sizes = block_sizes(self.resolution)[::-1]  # h, h/2, ..., 4
        blocks = []
        for i, size in enumerate(sizes[:-1]):
            in_ch = channels_at(size[0], channel_base, channel_max)
            out_ch = channels_at(sizes[i + 1][0], channel_base, channel_max)
            blocks.append(DiscriminatorBlock(in_ch, out_ch, from_rgb=i == 0))
        self.blocks = nn.Sequential(*blocks)
        last = channels_at(4, channel_base, channel_max)
        self.epilogue = DiscriminatorEpilogue(last, sizes[-1], mbstd_group, mbstd_channels)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        assert img.shape[2:] == self.resolution, (img.shape, self.resolution)
        return self.epilogue(self.blocks(img.contiguous(memory_format=torch.channels_last)))


def build(params) -> tuple[Generator, Discriminator]:
    """G and D for a (resolved) StyleGAN2Params."""
    g = Generator(
        params.resolution,
        params.z_dim,
        params.w_dim,
        params.mapping_layers,
        params.channel_base,
        params.channel_max,
        params.mapping_lr_mult,
    )
    d = Discriminator(
        params.resolution, params.channel_base, params.channel_max, params.mbstd_group, params.mbstd_channels
    )
    return g, d


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
