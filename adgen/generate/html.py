"""index.html of a generate run: one row per ad, the chain from new person to finished ad, left to right.

With `--approach best` each ad shows both chains side by side (StyleGAN2 → GFLA → ST-GAN and
DPIG → ST-GAN), the one the ad kept (lower pose error) marked.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from adgen import atomic
from adgen.generate.chain import APPROACH_NAMES, Ad

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table.chain { border-collapse: collapse; margin-bottom: 1.5em; }
table.chain td { padding: 4px 8px; text-align: center; vertical-align: top; font-size: 0.8em; }
table.chain img { height: 192px; image-rendering: pixelated; border: 1px solid #ccc; display: block; }
td.arrow { font-size: 1.6em; vertical-align: middle; color: #888; }
.metrics td, .metrics th { padding: 2px 10px; text-align: left; }
div.both { display: flex; gap: 1.5em; align-items: flex-start; flex-wrap: wrap; }
div.both > div { border: 2px solid #ddd; padding: 0 0.6em; }
div.both > div.kept { border-color: #2a7; }
"""

_INTRO = {
    "1": "StyleGAN2 draws a new person, GFLA moves them into the requested pose, ST-GAN places the bag.",
    "2": "DPIG draws a new person straight into the requested pose, ST-GAN places the bag.",
    "best": (
        "Each seed runs both chains — StyleGAN2 → GFLA → ST-GAN and DPIG → ST-GAN — and the ad keeps the "
        "person whose estimated pose is nearer the requested one (lower pose MSE); the kept chain is framed green."
    ),
}


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    return f"{v:.4g}" if isinstance(v, float) else html.escape(str(v))


def _chain(files: dict[str, str]) -> str:
    cells = []
    for i, (label, rel) in enumerate(files.items()):
        if i:
            cells.append('<td class="arrow">→</td>')
        cells.append(
            f'<td><img src="{html.escape(rel)}" alt="{html.escape(label)}"><div>{html.escape(label)}</div></td>'
        )
    return f'<table class="chain"><tr>{"".join(cells)}</tr></table>'


def write_page(
    out_dir: Path,
    ads: list[Ad],
    metrics: dict[str, Any],
    bag_file: str,
    pose_source: str,
    approach: str = "1",
) -> Path:
    rows = []
    for ad in ads:
        if ad.candidates:
            cols = []
            for c in ad.candidates:
                kept = c["approach"] == ad.approach
                cols.append(
                    f'<div class="{"kept" if kept else "other"}"><h3>approach {html.escape(c["approach"])}: '
                    f"{html.escape(APPROACH_NAMES[c['approach']])}{' — kept' if kept else ''}</h3>"
                    f"<p>pose MSE: person {_fmt(c['pose_mse_reposed'])}, ad {_fmt(c['pose_mse_ad'])}</p>"
                    f"{_chain(c['files'])}</div>"
                )
            rows.append(
                f"<h2>seed {ad.seed}: from approach {html.escape(ad.approach)}</h2>"
                f'<div class="both">{"".join(cols)}</div>'
            )
            continue
        rows.append(
            f"<h2>seed {ad.seed}</h2><p>pose MSE (requested vs estimated): re-posed {_fmt(ad.pose_mse_reposed)}, "
            f"ad {_fmt(ad.pose_mse_ad)}</p>{_chain(ad.files)}"
        )
    summary = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>"
        for k, v in metrics.items()
        if not isinstance(v, dict)
    )
    ckpts = "".join(
        f"<li>{html.escape(k)}: <code>{html.escape(v)}</code></li>"
        for k, v in metrics.get("checkpoints", {}).items()
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>AdGen: generated ads</title><style>{_STYLE}</style></head>
<body><h1>Generated ads</h1>
<p>{html.escape(_INTRO[approach])}</p>
<p>Requested pose: <code>{html.escape(pose_source)}</code>. Bag: <img src="{html.escape(bag_file)}" style="height:64px" alt="bag"></p>
<table class="metrics">{summary}</table><ul>{ckpts}</ul>
{"".join(rows)}
</body></html>
"""
    path = Path(out_dir) / "index.html"
    atomic.write_text(path, page)
    return path
