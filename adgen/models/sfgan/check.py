"""The relighting check: how much of a known light mismatch the appearance synthesizer undoes.

The product's case with a known answer: scenes relit by a random known light L1 (a
`make_relit_dataset` index records each one), and bag cut-outs in neutral studio light, put at the
canonical centre. The right answer is the bag in the scene's light, L1(bag). Reported: the mean
absolute per-pixel error over the bag's pixels (alpha > 0.5, RGB in [0, 1]) of the synthesizer's
output and of doing nothing (pasting the studio bag as it is), and the share of the error undone.
"""

from __future__ import annotations

from pathlib import Path

import torch

from adgen.models.sfgan.data import background_lights
from adgen.models.sfgan.model import AppearanceTranslator
from adgen.models.sfgan.relight import Light, apply_light, random_light
from adgen.models.stgan.data import as_float, load_dataset


@torch.no_grad()
def relighting_errors(
    appearance: AppearanceTranslator,
    background: torch.Tensor,
    lights: Light,
    bags: torch.Tensor,
    strength: float = 0.0,
    seed: int = 0,
) -> dict[str, float]:
    """{"error_noop", "error_model", "undone"}: background [N,3,H,W], bags [K,4,H,W] (floats in [0,1])."""
    n = len(background)
    bag = bags[torch.arange(n) % len(bags)]
    rgb, alpha = bag[:, :3], bag[:, 3:4]
    truth = apply_light(rgb, lights)
    # strength > 0 also puts each bag in a random light of its own instead of the studio's.
    wrong = apply_light(rgb, random_light(n, strength, torch.Generator().manual_seed(seed)))
    device = next(appearance.parameters()).device
    out = appearance(background.to(device), torch.cat([wrong * (alpha > 0), alpha], dim=1).to(device))
    mask = (alpha > 0.5).float().expand_as(rgb)

    def error(x: torch.Tensor) -> float:
        return float(((x.cpu() - truth).abs() * mask).sum() / mask.sum().clamp_min(1.0))

    noop, model = error(wrong), error(out[:, :3])
    return {"error_noop": noop, "error_model": model, "undone": 1.0 - model / max(noop, 1e-12)}


def relighting_check(
    appearance: AppearanceTranslator,
    index: Path,
    height: int,
    width: int,
    fg_scale: float,
    strength: float,
    root: Path | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """The check on every background of a relit dataset (use one the model was not trained on)."""
    data = load_dataset(index, height, width, fg_scale, root)
    lights = background_lights(index, height)
    return relighting_errors(
        appearance, as_float(data.background), lights, as_float(data.foreground), strength, seed
    )
