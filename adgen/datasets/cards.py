"""Dataset cards: what is in a training set and where it came from (a DVC metric per dataset).

A card answers the questions a reviewer asks before training on crawled images: how many, what
size, from which sites, and under which licences. Written deterministically (sorted keys, no
timestamps) so `dvc metrics diff` shows real changes only.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from adgen import atomic


def write_card(
    out_dir: Path,
    name: str,
    counts: dict[str, int],
    sizes: Any,
    sources: Counter,
    licences: Counter,
    notes: str = "",
) -> Path:
    card = {
        "name": name,
        "counts": dict(sorted(counts.items())),
        "sizes": sizes,
        "sources": dict(sorted(sources.items())),
        "licences": dict(sorted(licences.items())),
        "notes": notes,
    }
    path = out_dir / "card.json"
    atomic.write_json(path, card)
    # The same card under data/datasets/cards/<name>.json: DVC metrics may not sit inside an output
    # directory, so dvc.yaml declares these copies as the metrics.
    atomic.write_json(out_dir.parent / "cards" / f"{name}.json", card)
    return path
