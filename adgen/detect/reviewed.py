"""The filter's last step: reviewers' overrides (adgen.review) replace the rule's decision.

Applied at every merge, after the rule, to the rule's own decisions (the parts and the previous
manifest keep those in `rule_keep`/`rule_reason`), so an override survives re-runs and refreshes,
and an override removed from the file gives the photo its rule's decision back. An overridden photo
gets `keep` = the reviewer's choice and reason `reviewer`; its note, author and time go to
`review_note`, `review_by`, `review_at`.

Masks: the filter stores masks for the photos its rule keeps only. A photo a reviewer keeps against
the rule has none; strip then cuts it out from its boxes (strip.fallback: grabcut) or, without a
person box (no person detected), records it as skipped with reason `no_person_box`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from adgen.review.overrides import Override, in_force

REVIEWER = "reviewer"
REVIEW_COLUMNS: dict[str, str] = {
    "rule_keep": "bool",
    "rule_reason": "string",
    "review_note": "string",
    "review_by": "string",
    "review_at": "string",
}


def rule_decisions(decided: pd.DataFrame) -> pd.DataFrame:
    """Decisions read back from a previous manifest: the rule's keep/reason where it recorded them
    (a manifest written before overrides existed holds the rule's own in keep/reason)."""
    if "rule_keep" not in decided.columns:
        return decided
    out = decided.copy()
    has_rule = out["rule_reason"].notna()
    out.loc[has_rule, "keep"] = out.loc[has_rule, "rule_keep"].astype(bool)
    out.loc[has_rule, "reason"] = out.loc[has_rule, "rule_reason"]
    return out.drop(columns=[c for c in REVIEW_COLUMNS if c in out.columns])


def apply_overrides(filtered: pd.DataFrame, overrides: dict[str, Override]) -> pd.DataFrame:
    """`filtered` (the rule's decisions) with every override in force applied; adds REVIEW_COLUMNS."""
    out = filtered.copy()
    out["rule_keep"] = out["keep"].astype(bool)
    out["rule_reason"] = out["reason"]
    for column in ("review_note", "review_by", "review_at"):
        out[column] = None
    chosen = in_force(overrides)
    hit = out["image_id"].isin(chosen)
    if hit.any():
        picks: list[Override] = [chosen[i] for i in out.loc[hit, "image_id"]]
        out.loc[hit, "keep"] = [o.keep for o in picks]
        out.loc[hit, "reason"] = REVIEWER
        for column, attr in (("review_note", "note"), ("review_by", "by"), ("review_at", "at")):
            out.loc[hit, column] = [getattr(o, attr) for o in picks]
    return out


def review_stats(filtered: pd.DataFrame, overrides: dict[str, Override]) -> dict[str, Any]:
    """How many overrides the file holds, how many met a photo, and how many changed a decision."""
    applied = filtered["reason"] == REVIEWER
    changed = applied & (filtered["keep"].astype(bool) != filtered["rule_keep"].astype(bool))
    return {
        "overrides": len(in_force(overrides)),
        "applied": int(applied.sum()),
        "changed": int(changed.sum()),
        "changed_to_keep": int((changed & filtered["keep"].astype(bool)).sum()),
        "changed_to_reject": int((changed & ~filtered["keep"].astype(bool)).sum()),
    }
