"""Dataset cards: what is in a training set and where it came from (a DVC metric per dataset).

A card answers the questions a reviewer asks before training on crawled images: how many, what
size, from which sites, and under which licences. Written deterministically (sorted keys, no
timestamps) so `dvc metrics diff` shows real changes only.
"""

from __future__ import annotations

import json
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
    shared_copy: bool = True,
) -> Path:
    """`<out_dir>/card.json`, and (`shared_copy`) the same card in `<datasets>/cards/<name>.json`,
    which only the build_datasets stage may write: it is that stage's DVC output."""
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
    if shared_copy:
        atomic.write_json(out_dir.parent / "cards" / f"{name}.json", card)
    return path


def write_cards_metrics(metrics_dir: Path, datasets_dir: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """`<metrics_dir>/datasets.json`: the numbers DVC compares across experiments (each dataset's
    counts and pixel sizes), and `datasets.info.json`: the full cards (sources, licences, notes)."""
    from adgen.stage_metrics import split_numbers, write_training_outputs

    numbers: dict[str, Any] = {}
    cards: dict[str, Any] = {}
    for name in names:
        path = datasets_dir / name / "card.json"
        if not path.is_file():
            continue
        card = json.loads(path.read_text())
        cards[name] = card
        sizes, _ = split_numbers(card.get("sizes") or {}) if isinstance(card.get("sizes"), dict) else ({}, {})
        numbers[name] = {"counts": card.get("counts") or {}, "sizes": sizes}
    paths = write_training_outputs(metrics_dir, "datasets", numbers)
    atomic.write_json(paths["info"], cards)
    return paths
