"""The one helper that turns an evaluation's metrics pair and grid into the report's fragment
(the comparison of generators and the ST-GAN vs SF-GAN composites both use it)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from adgen.pages import fragments as html


def parts(numbers: dict, info: dict) -> list:
    return [
        html.para(f"{numbers.get('n')} scored"),
        html.table([[k, v] for k, v in info.items()], ["k", "v"]),
    ]


def test_an_evaluations_fragment_is_its_parts_then_its_grid_copied_into_the_assets(tmp_path: Path):
    metrics, report = tmp_path / "metrics", tmp_path / "report"
    metrics.mkdir()
    (metrics / "eval.json").write_text(json.dumps({"n": 3}))
    (metrics / "eval.info.json").write_text(json.dumps({"note": "<script>x</script>"}))
    grid = ("eval_grid.png", "eval-grid.png", "the <grid>")
    assert "<figure>" not in html.metrics_section(metrics, report, report / "assets", "eval", parts, grid)
    Image.new("RGB", (8, 8)).save(metrics / "eval_grid.png")
    out = html.metrics_section(metrics, report, report / "assets", "eval", parts, grid)
    assert out.index("<p>3 scored</p>") < out.index("<table>") < out.index('<img src="assets/eval-grid.png"')
    assert "&lt;script&gt;x&lt;/script&gt;" in out and "<script>" not in out and "the &lt;grid&gt;" in out
    assert (report / "assets/eval-grid.png").is_file()


def test_no_fragment_before_the_evaluation_has_run(tmp_path: Path):
    (tmp_path / "eval.info.json").write_text("[1, 2]")  # not an object: as good as missing
    assert html.metrics_section(tmp_path, tmp_path / "r", tmp_path / "r/assets", "eval", parts) is None
