"""index.html of a generate run: one row per ad, the chain from new person to finished ad, left to right.

With `--approach best` each ad shows every approach's chain side by side (StyleGAN2 → GFLA → ST-GAN
and DPIG → ST-GAN), the one the ad kept (lower pose error) marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adgen import atomic
from adgen.generate.chain import DEFAULT_COMPOSITOR, Ad, approach_names, describe
from adgen.models.registry import with_role
from adgen.models.roles import Compositor
from adgen.pages.render import render


def _intro(approach: str, compositor: str | None, skipped: Any = None) -> str:
    """ "StyleGAN2 draws a new person, GFLA moves them into the requested pose, ST-GAN places the bag."
    With best: the chains that ran (not those `skipped`, {id: why}, for an untrained model)."""
    if approach != "best":
        return describe(approach, compositor)
    ran = [name for a, name in approach_names(compositor).items() if a not in (skipped or {})]
    return (
        f"Each seed runs every trained chain — {', '.join(ran)} — and the ad keeps "
        "the person whose estimated pose is nearer the requested one (lower pose MSE); the kept chain is framed green."
    )


def write_page(
    out_dir: Path,
    ads: list[Ad],
    metrics: dict[str, Any],
    bag_file: str,
    pose_source: str,
    approach: str = "1",
) -> Path:
    """Write `<out_dir>/index.html` from templates/generate.html (the report's layout, autoescaped)."""
    checkpoints = metrics.get("checkpoints") if isinstance(metrics.get("checkpoints"), dict) else {}
    compositor = next((name for name in checkpoints if name in with_role(Compositor)), DEFAULT_COMPOSITOR)
    page = render(
        "generate.html",
        title="AdGen: generated ads",
        subtitle="",
        thumb_px=96,
        intro=_intro(approach, compositor, metrics.get("skipped_approaches")),
        pose_source=pose_source,
        bag_file=bag_file,
        summary=[(k, "n/a" if v is None else v) for k, v in metrics.items() if not isinstance(v, dict)],
        checkpoints=list(checkpoints.items()),
        ads=ads,
        approach_names=approach_names(compositor),
    )
    path = Path(out_dir) / "index.html"
    atomic.write_text(path, str(page))
    return path
