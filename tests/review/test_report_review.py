"""The report shows how many decisions reviewers changed, lists them with links, and gives every
decided photo's page the keep/reject control (its texts escaped like everything else)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adgen.report.build import build_report
from tests.report.builders import build_project, image_id

HOSTILE_NOTE = "<script>alert(1)</script>looks fine"


def reviewed_project(root: Path):
    """The builders' project after a filter run that applied two overrides (photo 0: kept → rejected,
    photo 2: no_bag → kept) and one that confirmed the rule (photo 1 stays kept)."""
    params = build_project(root)
    path = root / "data/filtered/manifest.parquet"
    df = pd.read_parquet(path)
    df["rule_keep"], df["rule_reason"] = df["keep"], df["reason"]
    df["review_note"] = df["review_by"] = df["review_at"] = None
    for i, keep, note in ((0, False, HOSTILE_NOTE), (2, True, None), (1, True, "sure")):
        at = df["image_id"] == image_id(i)
        df.loc[at, ["keep", "reason", "review_note", "review_by"]] = [keep, "reviewer", note, "alice"]
    df.to_parquet(path)
    return params


def test_the_report_counts_and_lists_the_decisions_reviewers_changed(tmp_path: Path) -> None:
    report = build_report(reviewed_project(tmp_path))
    assert "review" in report.sections
    index = report.index.read_text()
    assert "<b>2</b> filter decision(s) changed by reviewers (3 photo(s) decided by a reviewer" in index
    for i in (0, 2):
        assert f'href="items/{image_id(i)}.html"' in index
        assert (report.index.parent / "items" / f"{image_id(i)}.html").is_file()
    assert "kept (kept)" in index and "rejected (no_bag)" in index
    assert HOSTILE_NOTE not in index and "&lt;script&gt;alert(1)&lt;/script&gt;looks fine" in index


def test_a_photo_page_carries_the_control_with_the_rules_and_the_reviewers_decision(tmp_path: Path) -> None:
    report = build_report(reviewed_project(tmp_path))
    page = (report.index.parent / "items" / f"{image_id(0)}.html").read_text()
    assert f'data-image-id="{image_id(0)}" data-decision="reject" data-rule="keep" data-reviewed="1"' in page
    assert 'id="decision">rejected by a reviewer (the rule: kept, kept);' in page  # then strip's
    assert HOSTILE_NOTE not in page and "&lt;script&gt;" in page
    assert '<script src="../assets/review.js"></script>' in page
    assert (report.index.parent / "assets" / "review.js").read_text().startswith("// AdGen report")
    untouched = (report.index.parent / "items" / f"{image_id(3)}.html").read_text()
    assert 'data-decision="keep" data-rule="keep" data-reviewed="0"' in untouched


def test_no_review_section_until_a_reviewer_decided_something(tmp_path: Path) -> None:
    report = build_report(build_project(tmp_path))
    assert "review" not in report.sections
