"""index.html of a generate run: one row per ad, the chain from new person to finished ad, left to right.

With `--approach best` each ad shows both chains side by side (StyleGAN2 → GFLA → ST-GAN and
DPIG → ST-GAN), the one the ad kept (lower pose error) marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adgen import atomic
from adgen.generate.chain import APPROACH_NAMES, Ad
from adgen.pages.render import render

_INTRO = {
    "1": "StyleGAN2 draws a new person, GFLA moves them into the requested pose, ST-GAN places the bag.",
    "2": "DPIG draws a new person straight into the requested pose, ST-GAN places the bag.",
    "best": (
        "Each seed runs both chains — StyleGAN2 → GFLA → ST-GAN and DPIG → ST-GAN — and the ad keeps the "
        "person whose estimated pose is nearer the requested one (lower pose MSE); the kept chain is framed green."
    ),
}


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
    page = render(
        "generate.html",
        title="AdGen: generated ads",
        subtitle="",
        thumb_px=96,
        intro=_INTRO[approach],
        pose_source=pose_source,
        bag_file=bag_file,
        summary=[(k, "n/a" if v is None else v) for k, v in metrics.items() if not isinstance(v, dict)],
        checkpoints=list(checkpoints.items()),
        ads=ads,
        approach_names=APPROACH_NAMES,
    )
    path = Path(out_dir) / "index.html"
    atomic.write_text(path, str(page))
    return path
