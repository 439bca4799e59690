"""The DCGAN generator and discriminator, laid out as in the paper (Radford et al., ICLR 2016).

G: z (1x1) → a transposed convolution to the base frame (4x4, or 8x4 for 2:1), then stride-2
4x4 transposed convolutions halving the channels each time, down to RGB; BatchNorm + ReLU after
every layer but the last (tanh); no biases. D mirrors it: stride-2 4x4 convolutions doubling the
channels (no BatchNorm on the first), LeakyReLU 0.2, and a final convolution over the whole base
frame to one logit. At 64x64 with 64 channels: G 3,576,704 and D 2,765,568 parameters.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from adgen.models.dcgan.config import DcganParams


def layout(resolution: tuple[int, int]) -> tuple[tuple[int, int], int]:
    """(base frame (h, w), number of stride-2 layers): 64x64 → ((4, 4), 4); 128x64 → ((8, 4), 4)."""
    h, w = resolution
    n = int(math.log2(w // 4))
    return (h // 2**n, w // 2**n), n


class Generator(nn.Module):
    def __init__(self, resolution: tuple[int, int], z_dim: int = 100, channels: int = 64):
        super().__init__()
        self.resolution = tuple(resolution)
        self.z_dim = z_dim
        base, n = layout(self.resolution)
        widths = [channels * 2 ** (n - 1 - i) for i in range(n)]  # 64x64: 512, 256, 128, 64
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, widths[0], base, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim] (or [N, z_dim, 1, 1]) → images [N, 3, H, W] in [-1, 1]."""
        assert z.shape[1] == self.z_dim, f"z has {z.shape[1]} dims, G expects {self.z_dim}"
        x = self.main(z.reshape(z.shape[0], self.z_dim, 1, 1))
        assert tuple(x.shape[2:]) == self.resolution
        return x


class Discriminator(nn.Module):
    def __init__(self, resolution: tuple[int, int], channels: int = 64):
        super().__init__()
        self.resolution = tuple(resolution)
        base, n = layout(self.resolution)
        widths = [channels * 2**i for i in range(n)]  # 64x64: 64, 128, 256, 512
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for c_in, c_out in zip(widths, widths[1:], strict=False):
            layers += [
                nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.LeakyReLU(0.2, True),
            ]
        layers += [nn.Conv2d(widths[-1], 1, base, 1, 0, bias=False)]
        self.main = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images [N, 3, H, W] → one logit each [N] (sigmoid of it = probability of real)."""
        assert tuple(images.shape[1:]) == (3, *self.resolution), f"D got {tuple(images.shape)}"
        return self.main(images).reshape(images.shape[0])


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """The paper's initialisation: conv weights N(0, std), BatchNorm scale N(1, std), shift 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, std)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def build(params: DcganParams) -> tuple[Generator, Discriminator]:
    G = Generator(params.resolution, params.z_dim, params.g_channels)
    D = Discriminator(params.resolution, params.d_channels)
    init_weights(G, params.init_std)
    init_weights(D, params.init_std)
    return G, D


def count_params(module: nn.Module) -> int:
    """Trainable parameters (BatchNorm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in module.parameters())
