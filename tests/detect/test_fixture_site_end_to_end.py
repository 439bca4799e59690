"""The promise `make demo` relies on: the FIXTURE detector + the rule recover the fixture site's truth."""

from __future__ import annotations

import json

from adgen.detect.stage import run_filter
from adgen.fixtures.site import synth

from .conftest import Project


def test_filter_matches_fixture_ground_truth_with_high_precision_and_recall(project: Project) -> None:
    truth = {}
    for index in range(40):  # two blocks of 20: every scenario at least twice
        rendered = synth.photo(7, index)
        truth[project.add(synth.encode_jpeg(rendered.image), "jpg")] = rendered.truth
    gt = project.root / "ground-truth.json"
    gt.write_text(json.dumps({"images": truth}))
    result = run_filter(project.write(), ground_truth=gt)

    quality = result.stats["ground_truth"]
    assert quality["matched"] == 40
    assert quality["precision"] >= 0.95 and quality["recall"] >= 0.95, quality
    assert quality["reason_agreement"] >= 0.9, quality
    kept = project.filtered()["keep"]
    assert 0 < kept.sum() < 40  # both outcomes happen: the scenarios are not all one kind
