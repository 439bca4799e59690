"""The report's 'Bags composited' section: what `adgen evaluate composites` wrote, escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

from PIL import Image

from adgen.report.composites import section_html


def test_the_section_shows_each_scored_compositor_the_skipped_fid_and_the_grid(tmp_path: Path):
    metrics, report = tmp_path / "metrics", tmp_path / "report"
    metrics.mkdir()
    numbers = {
        "count": 8,
        "real_colour_gap": 0.05,
        "stgan": {"placement_error": 0.2, "colour_gap": 0.3, "colour_consistency": 0.25},
        "sfgan": {"placement_error": 0.1, "colour_gap": 0.1, "colour_consistency": 0.05},
    }
    info = {"stgan": {"fid": "skipped: <b>no graph</b>"}, "sfgan": {"fid": "skipped: <b>no graph</b>"}}
    (metrics / "composites.json").write_text(json.dumps(numbers))
    (metrics / "composites.info.json").write_text(json.dumps(info))
    Image.new("RGB", (8, 8)).save(metrics / "composites.png")
    html = section_html(metrics, report, report / "assets")
    assert re.findall(r"<tr><td>([^<]*)</td>", html) == ["ST-GAN", "SF-GAN"]  # by role, in its order
    assert "&lt;b&gt;no graph&lt;/b&gt;" in html and "<b>no graph</b>" not in html
    assert 'src="assets/composites.png"' in html and (report / "assets" / "composites.png").is_file()


def test_no_section_before_the_first_evaluation(tmp_path: Path):
    assert section_html(tmp_path, tmp_path / "report", tmp_path / "report" / "assets") is None
