"""LPIPS (Zhang et al. 2018, v0.1, AlexNet "lin") from user-supplied weight files, for pose-transfer pairs.

Two files, both standard: torchvision's ImageNet AlexNet (`alexnet-owt-7be5be79.pth`, keys
`features.*`) and the LPIPS linear heads (`lpips/weights/v0.1/alex.pth` of the lpips package, keys
`lin0.model.1.weight` … `lin4.model.1.weight`). One file holding both sets of keys works too. Nothing is
downloaded: without the files LPIPS is skipped (see adgen.metrics.pairs.score_pairs).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from adgen.errors import UserError

HINT = (
    "set metrics.lpips_weights to the lpips package's weights/v0.1/alex.pth and "
    "metrics.lpips_alexnet_weights to torchvision's alexnet-owt-7be5be79.pth"
)
TAPS = (1, 4, 7, 9, 11)  # relu1 … relu5 in torchvision's AlexNet.features
CHANNELS = (64, 192, 384, 256, 256)
SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)


def alexnet_features() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
    )  # fmt: skip


class NetLinLayer(nn.Module):
    """One linear head (the lpips package's name and layout: model = [Dropout, 1x1 conv, no bias])."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Lpips(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = alexnet_features()
        for i, c in enumerate(CHANNELS):
            setattr(self, f"lin{i}", NetLinLayer(c))
        self.requires_grad_(False)
        self.eval()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Per-image distance between two batches of [-1, 1] images."""
        xa, xb = (a - SHIFT) / SCALE, (b - SHIFT) / SCALE
        total = torch.zeros(a.shape[0])
        tap = 0
        for idx, layer in enumerate(self.features[: TAPS[-1] + 1]):
            xa, xb = layer(xa), layer(xb)
            if idx in TAPS:
                na = xa / (xa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                nb = xb / (xb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                total = total + getattr(self, f"lin{tap}")((na - nb) ** 2).mean(dim=(1, 2, 3))
                tap += 1
        return total


def _read(path: Path) -> dict[str, torch.Tensor]:
    if not Path(path).is_file():
        raise UserError(f"LPIPS weights {path} not found; {HINT}")
    from adgen.training import checkpoint

    return checkpoint.read(path, "LPIPS weights")  # the project's one weights-only loader


def load_lpips(lin_weights: Path, alexnet_weights: Path | None = None) -> Lpips:
    state = dict(_read(lin_weights))
    if alexnet_weights is not None:
        state.update({k: v for k, v in _read(alexnet_weights).items() if k.startswith("features.")})
    # the lpips package's whole-model dicts name the backbone net.slice<k>.<features index>.*
    state = {re.sub(r"^net\.slice\d+\.", "features.", k): v for k, v in state.items()}
    net = Lpips()
    wanted = net.state_dict()
    missing = sorted(set(wanted) - set(state))
    if missing:
        raise UserError(f"LPIPS weights: {missing[0]} missing (+{len(missing) - 1} more); {HINT}")
    net.load_state_dict({k: state[k] for k in wanted})
    return net


def _tensor(img: Image.Image) -> torch.Tensor:
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 127.5 - 1
    return torch.from_numpy(arr).permute(2, 0, 1)


@torch.no_grad()
def lpips_distance(
    a: list[Image.Image], b: list[Image.Image], lin_weights: Path, alexnet_weights: Path | None = None
) -> list[float]:
    net = load_lpips(lin_weights, alexnet_weights)
    out: list[float] = []
    for x, y in zip(a, b, strict=True):
        out += net(_tensor(x)[None], _tensor(y)[None]).tolist()
    return out
