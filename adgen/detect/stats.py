"""filter_stats.json: how many images each reason took, and (given ground truth) how right `keep` is.

DVC diffs this file between runs (a `metrics` output), so a threshold change shows up as "kept
7,064 → 7,310, precision 0.97 → 0.93" instead of a hunch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adgen.detect.rule import REASONS
from adgen.errors import UserError


@dataclass(frozen=True)
class Truth:
    keep: bool
    reason: str | None = None  # the filter reason the photo should get, when the truth says


def load_ground_truth(path: Path) -> dict[str, Truth]:
    """image_id (sha256) → Truth, from the fixture site's /ground-truth.json layout
    (`{"images": {sha: {"expected_keep": bool, "expected_reason": str, ...}}}`) or a flat
    `{sha: bool}` mapping."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read ground truth ({exc.__class__.__name__})") from None
    images = data.get("images", data) if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise UserError(f"{path}: ground truth must map image ids to truths (see docs/filter.md)")
    out: dict[str, Truth] = {}
    for image_id, truth in images.items():
        value = truth.get("expected_keep") if isinstance(truth, dict) else truth
        reason = truth.get("expected_reason") if isinstance(truth, dict) else None
        if isinstance(value, bool):
            out[str(image_id)] = Truth(value, reason if isinstance(reason, str) else None)
    return out


def filter_stats(filtered: pd.DataFrame, truth: dict[str, Truth] | None = None) -> dict[str, Any]:
    counts = {r: 0 for r in REASONS}
    for reason, n in filtered["reason"].value_counts().items():
        counts[str(reason)] = int(n)
    total = len(filtered)
    kept = int(filtered["keep"].sum())
    stats: dict[str, Any] = {
        "total": total,
        "kept": kept,
        "rejected": total - kept,
        "kept_fraction": round(kept / total, 4) if total else 0.0,
        "reasons": counts,
    }
    if truth is not None:
        stats["ground_truth"] = keep_quality(filtered, truth)
    return stats


def keep_quality(filtered: pd.DataFrame, truth: dict[str, Truth]) -> dict[str, Any]:
    """Precision and recall of `keep` against `expected_keep` over images present in both, and how
    often the reason matches `expected_reason` where the truth gives one."""
    both = filtered[filtered["image_id"].isin(truth)]
    predicted = both["keep"].astype(bool).to_numpy()
    expected = np.array([truth[i].keep for i in both["image_id"]], bool)
    tp = int((predicted & expected).sum())
    fp = int((predicted & ~expected).sum())
    fn = int((~predicted & expected).sum())
    with_reason = [
        (r, truth[i].reason) for i, r in zip(both["image_id"], both["reason"], strict=True) if truth[i].reason
    ]
    return {
        "matched": len(both),
        "unmatched": len(filtered) - len(both),
        "true_positive": tp,
        "false_positive": fp,
        "false_negative": fn,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "reason_agreement": round(sum(a == b for a, b in with_reason) / len(with_reason), 4)
        if with_reason
        else None,
    }
