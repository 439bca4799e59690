"""The filter scored against the fixture site's ground truth (which photos should be kept, and why)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class FilterScore:
    matched: int  # filtered images that the ground truth knows
    true_pos: int
    false_pos: int
    false_neg: int
    true_neg: int
    reason_agreement: float  # share of matched images whose reason equals the expected one
    confusion: pd.DataFrame  # expected_reason × reason counts

    @property
    def precision(self) -> float:
        kept = self.true_pos + self.false_pos
        return self.true_pos / kept if kept else float("nan")

    @property
    def recall(self) -> float:
        should = self.true_pos + self.false_neg
        return self.true_pos / should if should else float("nan")


def score_filter(filtered: pd.DataFrame, truth: dict) -> FilterScore | None:
    """Compare `keep`/`reason` of the filtered manifest with `/ground-truth.json`'s images.

    Images the ground truth doesn't know (e.g. crawled from elsewhere) are left out; None when no
    image matches.
    """
    images = truth.get("images", truth)
    rows = []
    for image_id, keep, reason in zip(
        filtered["image_id"], filtered["keep"], filtered["reason"], strict=True
    ):
        t = images.get(str(image_id))
        if t is None:
            continue
        rows.append(
            {
                "expected_keep": bool(t.get("expected_keep")),
                "expected_reason": str(t.get("expected_reason", "?")),
                "keep": bool(keep),
                "reason": str(reason),
            }
        )
    if not rows:
        return None
    df = pd.DataFrame(rows)
    tp = int((df.keep & df.expected_keep).sum())
    fp = int((df.keep & ~df.expected_keep).sum())
    fn = int((~df.keep & df.expected_keep).sum())
    tn = int((~df.keep & ~df.expected_keep).sum())
    confusion = pd.crosstab(df.expected_reason, df.reason)
    agree = float((df.expected_reason == df.reason).mean())
    return FilterScore(len(df), tp, fp, fn, tn, agree, confusion)
