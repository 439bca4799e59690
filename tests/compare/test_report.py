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
    assert "<th>FID ↓</th>" in out and "pair SSIM" not in out  # no column that no generator has
    assert "IS ↑" not in out and "inception_score skipped: metrics.inception_v3_weights is not set" in out
    assert (report / "assets" / "compare-grid.png").is_file() and 'src="assets/compare-grid.png"' in out


def _ranked(tmp_path):
    numbers = {
        "poses": 4, "seeds_per_pose": 2, "held_out_pairs": 3,
        "generators": {
            "dcgan": {"fid": 20.5, "images_per_second": 50.5},
            "approach1": {"fid": 12.5, "pose_mse": 0.01, "pairs": 3, "pair_ssim": 0.7074, "pair_lpips": 0.2341,
                          "images_per_second": 3.5, "transfers_per_second": 9.5},
            "approach3": {"fid": 8.25, "pairs": 3, "pair_ssim": 0.7312, "pair_lpips": 0.1678,
                          "images_per_second": 1.5, "transfers_per_second": 0.5},
            "dcgan_pidm": {"fid": 30.5, "pairs": 3, "pair_ssim": 0.7312, "pair_lpips": 0.1678},
        },
    }  # fmt: skip
    info = {
        "generators": {
            **{
                n: {"status": "scored", "kind": "pose-controlled"}
                for n in ("approach1", "approach3", "dcgan_pidm")
            },
            "dcgan": {"status": "scored", "kind": "unconditional"},
            "approach2": {"status": "unavailable", "reason": "no checkpoint"},
        }
    }
    info["generators"]["approach1"]["pair_lpips_skipped"] = "never"  # a number beats a stale reason
    info["generators"]["approach3"]["pair_fid_skipped"] = "metrics.fid_inception_graph is not set"
    _write(tmp_path / "metrics", numbers, info)
    return numbers, info


def test_the_table_has_the_pair_columns_and_marks_the_best_value_of_each_column(tmp_path):
    numbers, _ = _ranked(tmp_path)
    out = section_html(tmp_path / "metrics", tmp_path / "report", tmp_path / "report" / "assets")
    for heading in ("pair SSIM ↑", "pair LPIPS ↓", "transfers/s ↑", "FID ↓", "images/s ↑"):
        assert f"<th>{heading}</th>" in out
    best = '<td class="num"><strong class="best">{}</strong></td>'
    plain = '<td class="num">{}</td>'
    # lower is better for FID and LPIPS, higher for SSIM and rates; a tie marks both rows
    assert out.count(best.format("8.25")) == 1 and plain.format("12.5") in out
    assert out.count(best.format("0.7312")) == 2 and plain.format("0.7074") in out
    assert out.count(best.format("0.1678")) == 2 and plain.format("0.2341") in out
    assert best.format("50.5") in out and best.format("9.5") in out
    assert plain.format("0.01") in out  # one pose MSE: nothing to rank it against
    assert "3 real held-out pairs" in out and "Bold: the best value of its column" in out
    # a column no generator has a number in is left out; the note says why
    assert "pair FID" not in out and "pair_fid skipped: metrics.fid_inception_graph is not set" in out
    assert "IS ↑" not in out
    # a row the comparison does not know (a chain added later) is shown and ranked like the rest
    assert "dcgan_pidm" in out or "DCGAN → PIDM" in out


def test_the_terminal_table_marks_the_same_winners(tmp_path):
    from adgen.compare.generators import LABELS
    from adgen.compare.ranking import text_table

    numbers, info = _ranked(tmp_path)
    gens = {n: {**numbers["generators"].get(n, {}), **i} for n, i in info["generators"].items()}
    lines = text_table(gens, LABELS).splitlines()
    header = lines[0].split("  ")
    assert "pair SSIM ↑" in lines[0] and "pose MSE ↓" in lines[0] and "IS ↑" not in lines[0]
    row = next(line for line in lines if line.startswith(LABELS["approach3"]))
    assert "8.25*" in row and "0.7312*" in row and "0.1678*" in row and "1.5 " in row + " "
    assert not any(line.startswith(LABELS["approach2"]) for line in lines)  # unavailable: no scores
    assert lines[-1] == "(* the best of its column)" and header[0] == "generator"


def test_pair_scores_skipped_for_an_old_set_are_a_note(tmp_path):
    _write(
        tmp_path / "metrics",
        {"poses": 4, "held_out_pairs": 0, "generators": {"approach1": {"fid": 12.5}}},
        {
            "pairs_skipped": "the evaluation set has no held-out pairs recorded: rebuild the set with "
            "`adgen evaluate compare-set`",
            "generators": {"approach1": {"status": "scored", "pairs_skipped": "rebuild"}},
        },
    )
    out = section_html(tmp_path / "metrics", tmp_path / "report", tmp_path / "report" / "assets")
    assert "pairs skipped: the evaluation set has no held-out pairs recorded" in out
    assert "real held-out pairs" not in out and "pair SSIM" not in out
