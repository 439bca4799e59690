"""The relighting check: how much of a known light change on a bag the appearance synthesizer undoes.

Scenes from a `make_relit_dataset` index, each in its own recorded light L1, get a bag in that same
light, L1(bag), at the canonical centre: a bag that fits, the right answer. The bag is then relit by
a random known light T (strength `strength`), and the synthesizer gets T(L1(bag)) on the scene.
Reported: the mean absolute per-pixel error to L1(bag) over the bag's pixels (alpha > 0.5, RGB in
[0, 1]) of the synthesizer's output and of doing nothing, and the share of the error undone.

`studio=True` is the product's other case: the bag comes in neutral studio light (T(L1(bag)) is
replaced by the bag as it is) and must take the scene's light.
"""

from __future__ import annotations

from pathlib import Path

import torch

from adgen.models.sfgan.data import background_lights, translation_to
from adgen.models.sfgan.model import AppearanceTranslator
from adgen.models.sfgan.relight import Light, apply_light, random_light
from adgen.models.stgan import warp
from adgen.models.stgan.data import as_float, load_dataset


@torch.no_grad()
def relighting_errors(
    appearance: AppearanceTranslator,
    background: torch.Tensor,
    lights: Light,
    bags: torch.Tensor,
    strength: float,
    seed: int = 0,
    studio: bool = False,
    anchors: torch.Tensor | None = None,
) -> dict[str, float]:
    """{"error_noop", "error_model", "undone"}: background [N,3,H,W], bags [K,4,H,W] (floats in [0,1])."""
    n = len(background)
    bag = bags[torch.arange(n) % len(bags)]
    if anchors is not None:  # hang each bag where the person's bag belongs
        bag = warp.warp_image(bag, translation_to(bag[:, 3:4], anchors, "homography"), "homography")
    rgb, alpha = bag[:, :3], bag[:, 3:4]
    truth = apply_light(rgb, lights)
    known = random_light(n, strength, torch.Generator().manual_seed(seed))
    wrong = rgb if studio else apply_light(truth, known)
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
    studio: bool = False,
) -> dict[str, float]:
    """The check on every background of a relit dataset (use one the model was not trained on)."""
    data = load_dataset(index, height, width, fg_scale, root)
    lights = background_lights(index, height)
    return relighting_errors(
        appearance,
        as_float(data.background),
        lights,
        as_float(data.foreground),
        strength,
        seed,
        studio,
        data.anchors,
    )
