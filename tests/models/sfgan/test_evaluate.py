"""`adgen evaluate composites`: both models on the same inputs, numbers apart from strings, a grid."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
import yaml
from PIL import Image
from typer.testing import CliRunner

from adgen.clikit import CliGroups, CliState
from adgen.errors import UserError
from adgen.models.sfgan.evaluate import colour_gap, evaluate_composites


def test_colour_gap_is_zero_for_a_bag_in_the_persons_colour_and_grows_with_a_colour_cast():
    img = np.full((32, 32, 3), 255, np.uint8)
    img[4:28, 8:24] = (120, 80, 60)  # the person
    alpha = np.zeros((32, 32))
    alpha[12:20, 12:20] = 1.0
    assert colour_gap(img, alpha) == pytest.approx(0.0, abs=1e-9)
    cast = img.copy()
    cast[12:20, 12:20] = (120 * 0.7, 80, 60 * 1.3)
    bluer = img.copy()
    bluer[12:20, 12:20] = (120 * 0.5, 80, 60 * 1.6)
    assert 0 < colour_gap(cast, alpha) < colour_gap(bluer, alpha)
    assert colour_gap(img, np.zeros((32, 32))) is None  # no bag: no gap, not a number made up


@pytest.mark.slow
def test_evaluate_composites_scores_both_models_with_a_real_fid_graph(trained, tmp_path):
    from tests.metrics.conftest import build_fid_graph

    root, params, result = trained
    graph = build_fid_graph(tmp_path / "fid.pb")
    values = evaluate_composites(
        root / "run" / "geometry",
        root / "run",
        root / "ds" / "index.parquet",
        root,
        tmp_path / "m",
        graph,
        count=6,
    )
    numbers = json.loads((tmp_path / "m" / "composites.json").read_text())
    info = json.loads((tmp_path / "m" / "composites.info.json").read_text())
    for name in ("stgan", "sfgan"):
        assert numbers[name]["fid"] == pytest.approx(values[name]["fid"]) and numbers[name]["fid"] >= 0
        assert 0 <= numbers[name]["placement_error"] < 1.5
        assert numbers[name]["colour_consistency"] >= 0
        assert info[name]["checkpoint"]
    grid = Image.open(tmp_path / "m" / "composites.png")
    assert (
        grid.height > 6 * params.height and grid.width > 3 * params.width
    )  # rows of person | ST-GAN | SF-GAN


def test_evaluate_cli_without_fid_graph_says_skipped_and_keeps_numbers_only(trained, tmp_path):
    root, _, _ = trained
    params = root / "params-evaluate.yaml"  # the project root: index paths are relative to it
    params.write_text(
        yaml.safe_dump(
            {
                "paths": {"models": str(root / "models"), "metrics": str(tmp_path / "m")},
                "train": {"stgan": {"index": str(root / "ds" / "index.parquet")}},
            }
        )
    )
    app = typer.Typer()

    @app.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = CliState(params)

    from adgen.metrics.cli import register as register_metrics
    from adgen.models.sfgan.cli import register

    groups = CliGroups.under(app)
    register_metrics(groups)
    register(groups)
    out = CliRunner().invoke(
        app,
        [
            "evaluate",
            "composites",
            "--stgan",
            str(root / "run" / "geometry"),
            "--sfgan",
            str(root / "run"),
            "--count",
            "3",
        ],
    )
    assert out.exit_code == 0, out.output
    info = json.loads((tmp_path / "m" / "composites.info.json").read_text())
    numbers = json.loads((tmp_path / "m" / "composites.json").read_text())
    assert info["sfgan"]["fid"].startswith("skipped: metrics.fid_inception_graph is not set")
    assert "fid" not in numbers["sfgan"] and "placement_error" in numbers["sfgan"]
    assert "sfgan:" in out.output and "grid:" in out.output


def test_an_index_naming_a_file_outside_the_project_is_refused_in_one_line(trained, tmp_path):
    import pandas as pd

    root, _, _ = trained
    table = pd.read_parquet(root / "ds" / "index.parquet")
    table.loc[table["role"] == "background", "path"] = "../../etc/passwd"
    bad = tmp_path / "index.parquet"
    table.to_parquet(bad, index=False)
    with pytest.raises(UserError, match="must be relative to the project root"):
        evaluate_composites(root / "run" / "geometry", root / "run", bad, root, tmp_path / "m", None, count=1)
