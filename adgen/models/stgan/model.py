"""ST-GAN's networks, one class per paper concept: the warp generator and the discriminator.

Layer for layer the official glasses model (TensorFlow 1): 4x4 stride-2 convolutions with TF "SAME"
padding, every weight drawn from N(0, std) (0.01) and every bias zero, the last fc layer included.
At 144x144 a homography `WarpGenerator` has 6,221,288 parameters and the `Discriminator` 2,792,417.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from adgen.models.stgan import warp

GEN_CHANNELS = (32, 64, 128, 256, 512)
DIS_CHANNELS = (32, 64, 128, 256, 512)
INPUT_CHANNELS = 7  # background RGB + warped foreground RGBA
FC_WIDTH = 256


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's "SAME" padding: output = ceil(in / stride), the odd pixel padded bottom/right."""
    h, w = x.shape[-2:]
    pad_h = max((math.ceil(h / stride) - 1) * stride + kernel - h, 0)
    pad_w = max((math.ceil(w / stride) - 1) * stride + kernel - w, 0)
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


def half_size_average(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling; odd sizes are first zero-padded at the bottom/right (as the official)."""
    h, w = x.shape[-2:]
    return F.avg_pool2d(F.pad(x, (0, w % 2, 0, h % 2)), 2, 2)


class SameConv2d(nn.Conv2d):
    """A convolution with TF "SAME" padding, initialised N(0, std) with zero bias."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, std: float):
        super().__init__(cin, cout, kernel, stride, padding=0, bias=True)
        nn.init.normal_(self.weight, 0.0, std)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(same_pad(x, self.kernel_size[0], self.stride[0]))


def fc_fan_in(height: int, width: int) -> int:
    """Inputs of the first fc layer: 519 channels (512 + the 7 input channels) at ceil(H/32)xceil(W/32)."""
    return (GEN_CHANNELS[-1] + INPUT_CHANNELS) * math.ceil(height / 32) * math.ceil(width / 32)


class WarpGenerator(nn.Module):
    """One warp of ST-GAN: looks at the background and the currently warped bag, predicts dp.

    After each convolution the 7-channel input, average-pooled to that size, is concatenated back
    on, so every layer still sees the raw images at its resolution.
    """

    def __init__(
        self,
        height: int,
        width: int,
        warp_type: warp.WarpType = "homography",
        init_std: float = 0.01,
    ):
        super().__init__()
        self.height, self.width, self.warp_type = height, width, warp_type
        convs = []
        cin = INPUT_CHANNELS
        for cout in GEN_CHANNELS:
            convs.append(SameConv2d(cin, cout, 4, 2, init_std))
            cin = cout + INPUT_CHANNELS
        self.convs = nn.ModuleList(convs)
        self.fc6 = nn.Linear(fc_fan_in(height, width), FC_WIDTH)
        self.fc7 = nn.Linear(FC_WIDTH, warp.warp_dim(warp_type))
        for fc in (self.fc6, self.fc7):
            nn.init.normal_(fc.weight, 0.0, init_std)
            nn.init.zeros_(fc.bias)

    def forward(self, background: torch.Tensor, warped_foreground: torch.Tensor) -> torch.Tensor:
        """[B,3,H,W] background + [B,4,H,W] warped RGBA foreground -> [B, warp dim] update dp."""
        assert background.shape[1] == 3 and warped_foreground.shape[1] == 4
        assert background.shape[-2:] == (self.height, self.width), background.shape
        image = torch.cat([background, warped_foreground], dim=1)
        feat = image
        for conv in self.convs:
            feat = F.relu(conv(feat))
            image = half_size_average(image)
            feat = torch.cat([feat, image], dim=1)
        # Flatten in TF's NHWC order so fc6 rows line up with the official layout.
        feat = feat.permute(0, 2, 3, 1).flatten(1)
        return self.fc7(F.relu(self.fc6(feat)))


class Discriminator(nn.Module):
    """Scores a composite RGB image (unconditional): five 4x4 stride-2 convs, then a 3x3 score map.

    `norm="layer"` (the exp2 change) normalises conv2..conv5 over (C, H, W) with a per-channel gain
    and bias (GroupNorm with one group), which keeps the parameter count independent of image size.
    BatchNorm is not offered: it breaks the per-sample gradient penalty of WGAN-GP.
    """

    def __init__(self, norm: Literal["none", "layer"] = "none", init_std: float = 0.01):
        super().__init__()
        convs, norms = [], []
        cin = 3
        for i, cout in enumerate(DIS_CHANNELS):
            convs.append(SameConv2d(cin, cout, 4, 2, init_std))
            norms.append(nn.GroupNorm(1, cout) if norm == "layer" and i > 0 else nn.Identity())
            cin = cout
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(norms)
        self.score = SameConv2d(cin, 1, 3, 1, init_std)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] -> [B, 1, ceil(H/32), ceil(W/32)] score map (losses average over it)."""
        feat = image
        for conv, norm in zip(self.convs, self.norms, strict=True):
            feat = F.leaky_relu(norm(conv(feat)), 0.2)
        return self.score(feat)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class WarpSequence(nn.Module):
    """The stack of warp generators; applies the first `n` of them to an initial placement p0."""

    def __init__(self, generators: list[WarpGenerator], warp_type: warp.WarpType, exp_terms: int):
        super().__init__()
        self.generators = nn.ModuleList(generators)
        self.warp_type = warp_type
        self.exp_terms = exp_terms

    def warp(self, foreground: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        return warp.warp_image(foreground, p, self.warp_type, self.exp_terms)

    def forward(
        self, background: torch.Tensor, foreground: torch.Tensor, p0: torch.Tensor, n: int
    ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """Returns the parameters after each warp ([p0, p1, ..., pn]) and the newest dp."""
        ps, dp = [p0], None
        p = p0
        for gen in self.generators[:n]:
            dp = gen(background, self.warp(foreground, p)).float()
            p = warp.compose(p, dp)
            ps.append(p)
        return ps, dp
