"""SF-GAN's networks, one class per paper concept.

- Geometry synthesizer: ST-GAN's `WarpSequence` of `WarpGenerator`s (imported, not copied).
- `GeometryDiscriminator`: ST-GAN's discriminator; it judges the warped composite against real
  people with bags (is the bag in a believable place, size and pose?).
- `AppearanceTranslator`: the appearance synthesizer. From the scene (with a hole where the bag
  goes, so it can never copy what lies under the bag) and the warped bag, it predicts a global light
  change (per-channel gain: colour cast and brightness; gamma: contrast; offset: haze) and, optionally, a per-pixel
  style correction; the guided filter, with the untouched bag as its guide, then keeps the bag's
  texture and edges. The last layers start at zero, so an untrained translator leaves bags alone.
- `AppearanceDiscriminator`: a PatchGAN (LSGAN) on the final composite: does the bag's light match?
- `SpatialFusion`: both synthesizers in order, as training and the compositor use them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from adgen.models.sfgan.guided_filter import guided_filter
from adgen.models.stgan import warp
from adgen.models.stgan.model import Discriminator as GeometryDiscriminator
from adgen.models.stgan.model import WarpSequence, count_parameters

__all__ = [
    "AppearanceDiscriminator",
    "AppearanceTranslator",
    "FusionOutput",
    "GeometryDiscriminator",
    "SpatialFusion",
    "count_parameters",
]

TRANSLATOR_INPUTS = 7  # scene with a hole (3) + bag RGB (3) + bag alpha (1)


def hole(alpha: torch.Tensor) -> torch.Tensor:
    """Where the scene is hidden from the translator: the bag, dilated by ~4% of the image side.

    The dilation keeps a bag's own fringe (a real bag's edge pixels around a relit patch in the
    relight cycle, or anything under a soft alpha edge) from telling the answer.
    """
    r = max(1, round(0.04 * max(alpha.shape[-2:])))
    return F.max_pool2d((alpha > 0).to(alpha), 2 * r + 1, stride=1, padding=r)


def straight_colour(bag_rgba: torch.Tensor) -> torch.Tensor:
    """The bag's colour without its alpha: warps leave the edge pixels premultiplied (darkened)."""
    rgb, alpha = bag_rgba[:, :3], bag_rgba[:, 3:4]
    return (rgb / alpha.clamp_min(1e-3)).clamp(0.0, 1.0) * (alpha > 0).to(rgb)


def translator_input(background: torch.Tensor, bag_rgba: torch.Tensor) -> torch.Tensor:
    rgb, alpha = bag_rgba[:, :3], bag_rgba[:, 3:4]
    return torch.cat([background * (1.0 - hole(alpha)), rgb * alpha, alpha], dim=1)


# Bounds of the global light change: gains 0.37..2.7, gamma 0.61..1.65, offset +-0.2.
MAX_LOG_GAIN, MAX_LOG_GAMMA, MAX_OFFSET = 1.0, 0.5, 0.2
COLOUR_STATS = 18  # mean, std and max of R, G, B, for the bag and for the scene


def masked_mean(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] averaged over the pixels weighted by [B, 1, H, W] -> [B, C]."""
    return (x * weight).sum(dim=(2, 3)) / weight.sum(dim=(2, 3)).clamp_min(1e-6)


def colour_stats(rgb: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean, standard deviation and maximum of each channel's log intensity over a region -> [B, 9].

    In log space a light's gain is an offset, so the head compares regions by subtraction. The
    maximum is the white-patch cue: the brightest pixels of a region show its light's colour.
    """
    log = torch.log(rgb.float().clamp_min(0.0) + 0.01)
    mean = masked_mean(log, weight)
    var = masked_mean((log - mean[:, :, None, None]) ** 2, weight)
    top = torch.where(weight > 0.5, log, torch.full_like(log, math.log(0.01))).amax(dim=(2, 3))
    return torch.cat([mean, (var + 1e-6).sqrt(), top], dim=1)


class AppearanceTranslator(nn.Module):
    """Warped bag (RGBA) + scene (RGB) -> the bag relit to match the scene (RGBA, same alpha)."""

    def __init__(
        self,
        channels: int = 32,
        levels: int = 4,
        style_residual: bool = True,
        gf_radius: int = 2,
        gf_eps: float = 1e-3,
    ):
        super().__init__()
        self.gf_radius, self.gf_eps, self.style_residual = gf_radius, gf_eps, style_residual
        widths = [channels * 2**i for i in range(levels)]
        self.down = nn.ModuleList()
        cin = TRANSLATOR_INPUTS
        for w in widths:
            self.down.append(nn.Conv2d(cin, w, 3, stride=2, padding=1))
            cin = w
        # Global light change (3 log-gains, 1 log-gamma, 3 offsets) from the bag's and the scene's deepest
        # features, each pooled over its own region, and their colour statistics side by side.
        head_in = 2 * widths[-1] + COLOUR_STATS
        self.colour = nn.Sequential(
            nn.Linear(head_in, widths[-1]), nn.LeakyReLU(0.2), nn.Linear(widths[-1], 12)
        )
        nn.init.zeros_(self.colour[-1].weight)
        nn.init.zeros_(self.colour[-1].bias)
        self.up = nn.ModuleList()
        if style_residual:
            skips = [TRANSLATOR_INPUTS, *widths[:-1]]
            cin = widths[-1]
            for skip in reversed(skips):
                out = max(skip, channels // 2) if skip != TRANSLATOR_INPUTS else channels // 2
                self.up.append(nn.Conv2d(cin + skip, out, 3, padding=1))
                cin = out
            self.to_rgb = nn.Conv2d(cin, 3, 3, padding=1)
            nn.init.zeros_(self.to_rgb.weight)
            nn.init.zeros_(self.to_rgb.bias)

    def light_change(
        self, feat: torch.Tensor, background: torch.Tensor, bag_rgba: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-image gain [B, 3], gamma [B, 1] and offset [B, 3]; bounded, identity at zero."""
        alpha = bag_rgba[:, 3:4]
        small = F.adaptive_avg_pool2d(alpha, feat.shape[-2:])
        pooled = torch.cat(
            [
                masked_mean(feat, small),
                masked_mean(feat, 1.0 - small),
                colour_stats(straight_colour(bag_rgba), (alpha > 0.5).to(alpha)),
                colour_stats(background, 1.0 - hole(alpha)),
            ],
            dim=1,
        )
        out = torch.tanh(self.colour(pooled).float())
        gain = torch.exp(MAX_LOG_GAIN * out[:, 0:3])
        gamma = torch.exp(MAX_LOG_GAMMA * out[:, 3:4])
        return gain, gamma, MAX_OFFSET * out[:, 4:7]

    def forward(self, background: torch.Tensor, bag_rgba: torch.Tensor) -> torch.Tensor:
        assert background.shape[1] == 3 and bag_rgba.shape[1] == 4, (background.shape, bag_rgba.shape)
        x = translator_input(background, bag_rgba)
        feats = [x]
        for conv in self.down:
            feats.append(F.leaky_relu(conv(feats[-1]), 0.2))
        gain, gamma, offset = self.light_change(feats[-1], background, bag_rgba)
        rgb, alpha = bag_rgba[:, :3].float(), bag_rgba[:, 3:4].float()
        raw = (
            gain[:, :, None, None] * rgb.clamp_min(1e-4) ** gamma[:, :, None, None] + offset[:, :, None, None]
        )
        if self.style_residual:
            y = feats[-1]
            for conv, skip in zip(self.up, reversed(feats[:-1]), strict=True):
                y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
                y = F.leaky_relu(conv(torch.cat([y, skip], dim=1)), 0.2)
            raw = raw + self.to_rgb(y).float()
        # The guided filter fits `raw` as a local linear function of the original bag, weighted by
        # alpha so the empty canvas around the bag does not bleed into its edge.
        adjusted = guided_filter(rgb, raw, self.gf_radius, self.gf_eps, weight=alpha).clamp(0.0, 1.0)
        return torch.cat([adjusted * (alpha > 0).to(adjusted), alpha], dim=1)


class AppearanceDiscriminator(nn.Module):
    """PatchGAN on the composite RGB: 4x4 stride-2 convs (GroupNorm after the first), a 3x3 score map.

    GroupNorm with one group, not BatchNorm, so each image is judged on its own.
    """

    def __init__(self, channels: int = 64, layers: int = 3):
        super().__init__()
        blocks: list[nn.Module] = []
        cin = 3
        for i in range(layers):
            cout = channels * 2**i
            blocks.append(nn.Conv2d(cin, cout, 4, stride=2, padding=1))
            if i > 0:
                blocks.append(nn.GroupNorm(1, cout))
            blocks.append(nn.LeakyReLU(0.2))
            cin = cout
        blocks.append(nn.Conv2d(cin, 1, 3, padding=1))
        self.net = nn.Sequential(*blocks)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


@dataclass
class FusionOutput:
    ps: list[torch.Tensor]  # warp parameters p0, p1, ..., pN
    dp: torch.Tensor | None  # the last warp's update
    warped: torch.Tensor  # [B, 4, H, W] the bag after every warp
    geometry_composite: torch.Tensor  # the warped bag pasted as it is (what ST-GAN gives)
    adjusted: torch.Tensor  # [B, 4, H, W] the warped bag relit by the appearance synthesizer
    composite: torch.Tensor  # the final SF-GAN composite


class SpatialFusion(nn.Module):
    """Geometry synthesizer (ST-GAN warps), then appearance synthesizer, on one scene and bag."""

    def __init__(self, geometry: WarpSequence, appearance: AppearanceTranslator):
        super().__init__()
        self.geometry = geometry
        self.appearance = appearance

    def forward(
        self, background: torch.Tensor, foreground: torch.Tensor, p0: torch.Tensor, warps: int | None = None
    ) -> FusionOutput:
        n = len(self.geometry.generators) if warps is None else warps
        ps, dp = self.geometry(background, foreground, p0, n)
        warped = self.geometry.warp(foreground, ps[-1])
        adjusted = self.appearance(background, warped)
        return FusionOutput(
            ps,
            dp,
            warped,
            warp.composite(warped, background),
            adjusted,
            warp.composite(adjusted, background),
        )
