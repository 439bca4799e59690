"""The filter applies reviewers' overrides after its rule, on every run, without detecting again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from adgen.detect.stage import run_filter
from adgen.review.apply import apply_file
from adgen.review.overrides import Override, read, write
from tests.detect.conftest import PERSON, RED, Project, draw_photo, kept_photo

pytestmark = pytest.mark.integration


@pytest.fixture
def three(project: Project):
    """A decided project: one kept photo, one rejected for no_bag, one with nobody in it."""
    ids = {
        "kept": project.add_image(kept_photo()),
        "no_bag": project.add_image(draw_photo([(PERSON, RED)], [])),
        "no_person": project.add_image(draw_photo([], [])),
    }
    params = project.write()
    first = run_filter(params)
    assert first.processed == 3
    return project, params, ids


def overrides_file(path: Path, **choices: str) -> Path:
    path.write_text(
        json.dumps({"version": 1, "overrides": [{"image_id": i, "decision": d} for i, d in choices.items()]})
    )
    return path


def test_two_flipped_decisions_get_reason_reviewer_and_keep_the_rules_reason(three, tmp_path: Path) -> None:
    project, params, ids = three
    overrides_file(tmp_path / "dl.json", **{ids["kept"]: "reject", ids["no_bag"]: "keep"})
    result = apply_file(params, tmp_path / "dl.json")
    assert (result.flipped, result.unchanged, result.unknown) == (2, 0, [])
    again = run_filter(params)
    assert again.processed == 0  # the decisions are reused: nothing is detected again
    rows = project.by_id()
    kept, no_bag, nobody = rows[ids["kept"]], rows[ids["no_bag"]], rows[ids["no_person"]]
    assert (kept["keep"], kept["reason"], kept["rule_keep"], kept["rule_reason"]) == (
        False,
        "reviewer",
        True,
        "kept",
    )
    assert (no_bag["keep"], no_bag["reason"], no_bag["rule_reason"]) == (True, "reviewer", "no_bag")
    assert (nobody["keep"], nobody["reason"], nobody["rule_reason"]) == (False, "no_person", "no_person")
    assert again.stats["review"] == {
        "overrides": 2, "applied": 2, "changed": 2, "changed_to_keep": 1, "changed_to_reject": 1
    }  # fmt: skip
    assert again.stats["reasons"]["reviewer"] == 2 and again.stats["kept"] == 1


def test_an_override_survives_reruns_and_removing_it_restores_the_rule(three) -> None:
    project, params, ids = three
    path = params.path(params.review.overrides)
    write(path, {ids["kept"]: Override(ids["kept"], "reject", note="bag is a shadow")})
    run_filter(params)
    assert project.by_id()[ids["kept"]]["reason"] == "reviewer"
    assert run_filter(params).up_to_date  # unchanged overrides: nothing to do
    # a second merge reads its decisions back from the manifest written with the override
    project.add_image(draw_photo([(PERSON, RED)], [], size=(170, 240)))
    project.write()
    refreshed = run_filter(params)
    assert refreshed.processed == 1  # a refresh detects only the new photo...
    row = project.by_id()[ids["kept"]]
    assert (row["keep"], row["reason"], row["review_note"]) == (
        False,
        "reviewer",
        "bag is a shadow",
    )  # ...old override holds
    write(path, {})
    back = run_filter(params)
    assert back.processed == 0 and not back.up_to_date  # the changed file alone re-merges
    row = project.by_id()[ids["kept"]]
    assert (row["keep"], row["reason"], row["rule_reason"]) == (True, "kept", "kept")
    assert back.stats["review"]["changed"] == 0


def test_a_reviewer_kept_photo_without_a_person_box_is_skipped_by_strip_with_a_reason(three) -> None:
    from adgen.matting.strip import strip

    project, params, ids = three
    write(params.path(params.review.overrides), {ids["no_person"]: Override(ids["no_person"], "keep")})
    run_filter(params)
    result = strip(params)
    stripped = pd.read_parquet(result.manifest_path).set_index("image_id")
    assert stripped.loc[ids["no_person"], "reason"] == "no_person_box"
    assert not stripped.loc[ids["no_person"], "keep"]
    assert stripped.loc[ids["kept"], "keep"]  # the rest is cut out as before


def test_apply_counts_flipped_unchanged_and_unknown_and_rule_entries_drop_an_override(
    three, tmp_path: Path
) -> None:
    project, params, ids = three
    unknown = "c" * 64
    overrides_file(tmp_path / "a.json", **{ids["kept"]: "reject", ids["no_bag"]: "reject", unknown: "keep"})
    first = apply_file(params, tmp_path / "a.json")
    assert (first.flipped, first.rejected, first.unchanged, first.unknown) == (1, 1, 1, [unknown])
    assert set(read(params.path(params.review.overrides), params.review)) == {ids["kept"], ids["no_bag"]}
    overrides_file(tmp_path / "b.json", **{ids["kept"]: "rule"})
    second = apply_file(params, tmp_path / "b.json")
    assert (second.flipped, second.kept, second.in_force) == (1, 1, 1)
    assert set(read(params.path(params.review.overrides), params.review)) == {ids["no_bag"]}


def test_review_apply_on_the_command_line_says_what_changed(three, tmp_path: Path) -> None:
    project, params, ids = three
    overrides_file(tmp_path / "dl.json", **{ids["no_bag"]: "keep"})

    def adgen(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "adgen.cli", *args], cwd=project.root, capture_output=True, text=True
        )

    ok = adgen("review", "apply", str(tmp_path / "dl.json"))
    assert ok.returncode == 0, ok.stderr
    assert "1 flipped (1 to keep, 0 to reject), 0 unchanged, 0 unknown id(s) skipped" in ok.stdout
    (tmp_path / "bad.yaml").write_text("version: 1\noverrides:\n- {image_id: ../x, decision: keep}\n")
    bad = adgen("review", "apply", str(tmp_path / "bad.yaml"))
    assert bad.returncode == 2 and "is not a sha256 hex digest" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
