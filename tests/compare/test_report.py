"""The report's comparison section: the table reads right, and nothing from the files runs as HTML."""

from __future__ import annotations

import json

from PIL import Image

from adgen.report.compare import section_html


def _write(metrics, numbers, info):
    metrics.mkdir(parents=True, exist_ok=True)
    (metrics / "compare.json").write_text(json.dumps(numbers))
    (metrics / "compare.info.json").write_text(json.dumps(info))


def test_no_comparison_yet_means_no_section(tmp_path):
    assert section_html(tmp_path / "metrics", tmp_path / "report", tmp_path / "report" / "assets") is None


def test_table_rows_scores_skips_and_how_to_train_what_is_missing(tmp_path):
    metrics, report = tmp_path / "metrics", tmp_path / "report"
    _write(
        metrics,
        {"poses": 4, "seeds_per_pose": 2, "generators": {"approach1": {"fid": 12.5, "pose_mse": 0.01}}},
        {
            "generators": {
                "approach1": {"status": "scored", "kind": "pose-controlled",
                              "inception_score_skipped": "metrics.inception_v3_weights is not set"},
                "dcgan": {"status": "not trained", "reason": "no run", "command": "adgen train dcgan"},
                "approach2": {"status": "unavailable", "reason": "<script>alert(1)</script>", "command": "x"},
            }
        },
    )  # fmt: skip
    Image.new("RGB", (8, 8)).save(metrics / "compare_grid.png")
    out = section_html(metrics, report, report / "assets")
    assert "<td>not trained: adgen train dcgan</td>" in out
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert '<td class="num">12.5</td>' in out and "skipped" in out
    assert "approach 1" in out  # the favoured approach for `adgen generate --approach best`
    assert out.index("DCGAN") < out.index("Approach 1")  # the table keeps the fixed order
    assert (report / "assets" / "compare-grid.png").is_file() and 'src="assets/compare-grid.png"' in out
