"""Lights with a known answer: relight an image by a random, recorded colour/brightness/gamma change.

SF-GAN's appearance part is trained and checked with them:
- the relight cycle (training): a bag-shaped patch of a real photo is relit by a random light and
  must come back as it was; with light = identity it must be left alone;
- the relighting check (a test and `bench`): bags relit by a random light on backgrounds whose own
  light is known; the error to the bag as the scene's light would show it, against doing nothing.

A light is x -> clamp(gain * x ** gamma + offset, 0, 1) per channel: gain carries the colour cast
and the brightness, gamma the contrast, offset the haze. `strength` s draws
log(gain_c) ~ U(-s, s), log(gamma) ~ U(-s/2, s/2), offset ~ U(-s/10, s/10); s = 0 is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Light:
    gain: torch.Tensor  # [B, 3]
    gamma: torch.Tensor  # [B, 1]
    offset: torch.Tensor  # [B, 3]

    def __len__(self) -> int:
        return len(self.gain)

    def to(self, device: torch.device | str) -> Light:
        return Light(self.gain.to(device), self.gamma.to(device), self.offset.to(device))

    def columns(self) -> dict[str, np.ndarray]:
        """Index columns (light_gain_r, ..., light_gamma, light_offset_b) of these lights."""
        out = {}
        for i, c in enumerate("rgb"):
            out[f"light_gain_{c}"] = self.gain[:, i].numpy()
            out[f"light_offset_{c}"] = self.offset[:, i].numpy()
        out["light_gamma"] = self.gamma[:, 0].numpy()
        return out

    @staticmethod
    def from_columns(table) -> Light:
        def col(name: str) -> torch.Tensor:
            return torch.tensor(table[name].to_numpy(dtype=np.float32))

        return Light(
            torch.stack([col(f"light_gain_{c}") for c in "rgb"], dim=1),
            col("light_gamma")[:, None],
            torch.stack([col(f"light_offset_{c}") for c in "rgb"], dim=1),
        )


LIGHT_COLUMNS = tuple(
    [f"light_gain_{c}" for c in "rgb"] + [f"light_offset_{c}" for c in "rgb"] + ["light_gamma"]
)


def random_light(n: int, strength: float, generator: torch.Generator | None = None) -> Light:
    """n random lights (torch RNG: the global one unless `generator` is given)."""
    u = 2 * torch.rand(n, 7, generator=generator) - 1
    return Light(
        gain=torch.exp(strength * u[:, 0:3]),
        gamma=torch.exp(0.5 * strength * u[:, 3:4]),
        offset=0.1 * strength * u[:, 4:7],
    )


def identity_light(n: int) -> Light:
    return Light(torch.ones(n, 3), torch.ones(n, 1), torch.zeros(n, 3))


def apply_light(images: torch.Tensor, light: Light) -> torch.Tensor:
    """[B, 3, H, W] in [0, 1] lit by `light` (one per image)."""
    x = images.clamp_min(1e-6) ** light.gamma.to(images).view(-1, 1, 1, 1)
    out = light.gain.to(images).view(-1, 3, 1, 1) * x + light.offset.to(images).view(-1, 3, 1, 1)
    return out.clamp(0.0, 1.0)


def mix_lights(light: Light, keep: torch.Tensor) -> Light:
    """Where keep[i] is True, light i becomes the identity."""
    ident = identity_light(len(light))
    k = keep.view(-1, 1).to(light.gain.device)
    return Light(
        torch.where(k, ident.gain.to(light.gain), light.gain),
        torch.where(k, ident.gamma.to(light.gamma), light.gamma),
        torch.where(k, ident.offset.to(light.offset), light.offset),
    )
