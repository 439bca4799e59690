"""VGG19 features for GFLA's perceptual losses, with torchvision's exact layer layout (no torchvision).

`features.0` … `features.36` are the same modules at the same indices as `torchvision.models.vgg19`,
so a standard ImageNet VGG19 state dict (torchvision's `vgg19-dcbb9e9d.pth`, or any file with its key
names) loads by path; its `classifier.*` keys are ignored. As in the official GFLA code the network
gets [-1, 1] images with no ImageNet normalisation, and is frozen.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from adgen.errors import UserError
from adgen.metrics.weights import require_file

# torchvision's cfg "E": conv widths, "M" = max-pool
_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]

# relu name → index of that ReLU in `features`
RELU_INDEX: dict[str, int] = {}
_i, _block, _n = 0, 1, 1
for _v in _CFG:
    if _v == "M":
        _i, _block, _n = _i + 1, _block + 1, 1
    else:
        RELU_INDEX[f"relu{_block}_{_n}"] = _i + 1
        _i, _n = _i + 2, _n + 1

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
WEIGHTS_HINT = f"download torchvision's ImageNet VGG19 ({VGG19_URL}) and set train.gfla.vgg19_weights to it"


class VGG19(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_c = 3
        for v in _CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(in_c, int(v), kernel_size=3, padding=1), nn.ReLU(inplace=False)]
                in_c = int(v)
        self.features = nn.Sequential(*layers)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG19:  # frozen: never leaves eval mode
        return super().train(False)

    def forward(self, x: torch.Tensor, layers: list[str] | tuple[str, ...]) -> dict[str, torch.Tensor]:
        """The named ReLU outputs; runs only as deep as the deepest one asked for."""
        wanted = {RELU_INDEX[name]: name for name in layers}
        out: dict[str, torch.Tensor] = {}
        last = max(wanted)
        for idx, module in enumerate(self.features):
            x = module(x)
            if idx in wanted:
                out[wanted[idx]] = x
            if idx == last:
                break
        return out


def vgg19_weights_file(path: str | Path | None, param: str = "train.gfla.vgg19_weights") -> Path:
    """The VGG19 weights file named by `param`, or one line saying where to get it."""
    return require_file(path, param, "VGG19 ImageNet weights", WEIGHTS_HINT)


def load_vgg19(path: str | Path | None, param: str = "train.gfla.vgg19_weights") -> VGG19:
    """A frozen VGG19 with the ImageNet weights at `path` (torchvision key names)."""
    path = vgg19_weights_file(path, param)
    from adgen.training import checkpoint

    try:
        state = checkpoint.read(path, f"{param}: VGG19 weights")  # weights only: never runs code
    except UserError as exc:
        raise UserError(f"{exc}; {WEIGHTS_HINT}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = VGG19()
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    expected = net.state_dict()
    missing = sorted(set(expected) - set(features))
    if missing:
        raise UserError(
            f"{param}: {path} is not a VGG19 state dict (missing {len(missing)} keys, e.g. {missing[0]}); "
            f"{WEIGHTS_HINT}"
        )
    for k, v in features.items():
        if k in expected and expected[k].shape != v.shape:
            raise UserError(
                f"{param}: {path}: {k} has shape {tuple(v.shape)}, VGG19 needs {tuple(expected[k].shape)}"
            )
    net.load_state_dict({k: v for k, v in features.items() if k in expected}, strict=True)
    return net
