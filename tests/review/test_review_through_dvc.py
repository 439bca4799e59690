"""Done when: two decisions flipped through the review path are applied by `dvc repro` with reason
`reviewer`, and the datasets downstream change accordingly.

A real workspace (a copy of this project, its own git + DVC repo, the demo preset) crawls the
fixture stock site and runs `dvc repro build_datasets` (crawl, filter, strip, pose, datasets). A
reviewer's downloaded file flips one kept photo to reject and one rejected photo to keep;
`adgen review apply` merges it into review/overrides.yaml, and the next `dvc repro` reruns the filter
(its dependency changed) without detecting anything again, then strip and the datasets.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.orchestrate.conftest import dvc, make_workspace

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("orchestrate-dvc")]

RAN = re.compile(r"Running stage '([^']+)'")
# rule rejects whose person the reviewer can keep (a box to cut out from), most telling first
KEEPABLE = ("bag_far_from_person", "several_people", "implausible_aspect", "person_too_small", "cropped_feet",
            "cropped_head")  # fmt: skip


def adgen(ws: Path, *args: str) -> str:
    from adgen.orchestrate import commands

    proc = subprocess.run(
        [sys.executable, "-m", "adgen.cli", *args],
        cwd=ws,
        env=commands.tool_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def stgan_ids(ws: Path) -> set[str]:
    return set(pd.read_parquet(ws / "data/datasets/stgan/index.parquet")["image_id"])


def test_two_flipped_decisions_reach_the_datasets_through_dvc_repro(
    tmp_path: Path, models_cache: Path
) -> None:
    from adgen.fixtures.site.server import FixtureSite

    with FixtureSite(images=28, seed=3, per_page=10, slow_seconds=4) as site:
        ws = make_workspace(tmp_path, site.base_url, models_cache)
        first = dvc(ws, "repro", "build_datasets")
    assert {"filter", "strip", "build_datasets"} <= set(RAN.findall(first))
    filtered = pd.read_parquet(ws / "data/filtered/manifest.parquet")
    stripped = pd.read_parquet(ws / "data/stripped/manifest.parquet").set_index("image_id")
    before = stgan_ids(ws)
    # a photo the rule kept, cut out and in the ST-GAN set; a rejected one with a person box
    kept = sorted(
        i for i in filtered.loc[filtered["keep"], "image_id"] if i in before and stripped.loc[i, "keep"]
    )
    assert kept, "the fixture crawl should keep some photos"
    rejects = filtered[~filtered["keep"] & filtered["reason"].isin(KEEPABLE)]
    assert len(rejects), f"no keepable reject among {filtered['reason'].value_counts().to_dict()}"
    to_reject = kept[0]
    to_keep = sorted(
        rejects.assign(o=rejects["reason"].map(KEEPABLE.index)).sort_values(["o", "image_id"])["image_id"]
    )[0]
    assert to_keep not in before and to_keep not in stripped.index

    download = tmp_path / "adgen-overrides.json"  # what the report's "download overrides" button saves
    download.write_text(json.dumps({"version": 1, "overrides": [
        {"image_id": to_reject, "decision": "reject", "note": "the bag is a shadow", "by": "test"},
        {"image_id": to_keep, "decision": "keep", "note": "a person with a bag after all", "by": "test"},
    ]}))  # fmt: skip
    said = adgen(ws, "review", "apply", str(download))
    assert "2 flipped (1 to keep, 1 to reject), 0 unchanged, 0 unknown id(s) skipped" in said

    second = dvc(ws, "repro", "build_datasets")
    assert {"filter", "strip", "build_datasets"} <= set(RAN.findall(second)), second
    assert "crawl" not in RAN.findall(second)
    after = pd.read_parquet(ws / "data/filtered/manifest.parquet").set_index("image_id")
    assert (after.loc[to_reject, "keep"], after.loc[to_reject, "reason"]) == (False, "reviewer")
    assert (after.loc[to_keep, "keep"], after.loc[to_keep, "reason"]) == (True, "reviewer")
    assert after.loc[to_reject, "rule_reason"] == "kept"
    assert after.loc[to_keep, "rule_reason"] == rejects.set_index("image_id").loc[to_keep, "reason"]
    stats = json.loads((ws / "metrics/filter.json").read_text())
    assert stats["review"]["changed"] == 2 and stats["reasons"]["reviewer"] == 2

    stripped = pd.read_parquet(ws / "data/stripped/manifest.parquet").set_index("image_id")
    assert to_reject not in stripped.index  # gone from the cut-outs...
    assert to_reject not in stgan_ids(ws)  # ...and from the datasets
    row = stripped.loc[
        to_keep
    ]  # cut out from its boxes (no masks for a rule reject) or dropped with a reason
    assert bool(row["keep"]) or row["reason"] not in ("", None)
    if bool(row["keep"]):
        assert to_keep in stgan_ids(ws)
    report = adgen(ws, "report")
    assert "review" in report  # the report's section of the decisions reviewers changed
    index = (ws / "report/index.html").read_text()
    assert "<b>2</b> filter decision(s) changed by reviewers" in index
    assert f"items/{to_keep}.html" in index and f"items/{to_reject}.html" in index
