"""Loss plots draw only the losses a model declares, smoothed, on a log scale when they span decades,
with a marker where a phase starts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adgen import config
from adgen.models.registry import models
from adgen.report.build import build_report
from adgen.report.plots import Phase, ema, loss_curves, phase_starts, run_phases


def gfla_csv(path: Path, spread: float = 1.0) -> Path:
    steps = np.arange(0, 40, 2)
    frame = {"step": steps, "stage": np.where(steps < 20, 1, 2)}
    for i, c in enumerate(models()["gfla"].loss_columns):
        frame[c] = np.linspace(1.0 + i, 0.5 + i, len(steps)) * spread
    pd.DataFrame(frame).to_csv(path, index=False)
    return path


def test_only_the_declared_loss_columns_are_drawn_and_gflas_stage_is_not(tmp_path: Path):
    spec = models()["gfla"]
    assert "stage" not in spec.loss_columns
    plot = loss_curves(gfla_csv(tmp_path / "gfla_loss.csv"), tmp_path / "p.png", "gfla", spec.loss_columns)
    assert plot is not None
    assert plot.columns == list(spec.loss_columns)
    assert "stage" not in plot.columns and not plot.log_scale
    # the CSV's own `stage` column still marks where stage 2 starts, when no run's stats are at hand
    marked = loss_curves(
        tmp_path / "gfla_loss.csv", tmp_path / "q.png", "gfla", spec.loss_columns, (), "stage"
    )
    assert marked is not None and marked.phases == [Phase(20.0, "stage 2")]
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_a_column_not_declared_is_left_out_and_missing_declared_columns_are_skipped(tmp_path: Path):
    csv = tmp_path / "x.csv"
    pd.DataFrame({"step": [0, 1, 2], "loss_d": [1.0, 0.8, 0.7], "grad_norm": [9, 9, 9]}).to_csv(
        csv, index=False
    )
    plot = loss_curves(csv, tmp_path / "x.png", "x", ("loss_d", "loss_g"))
    assert plot is not None and plot.columns == ["loss_d"]
    assert loss_curves(csv, tmp_path / "y.png", "y", ("nothing",)) is None


def test_losses_spanning_more_than_two_decades_get_a_log_scale(tmp_path: Path):
    csv = tmp_path / "l.csv"
    pd.DataFrame({"step": range(5), "loss": [100.0, 10, 1, 0.1, 0.05]}).to_csv(csv, index=False)
    assert loss_curves(csv, tmp_path / "l.png", "l", ("loss",)).log_scale
    # a negative value (a WGAN critic loss) keeps the linear scale whatever the span
    pd.DataFrame({"step": range(5), "loss": [100.0, 10, 1, 0.1, -0.05]}).to_csv(csv, index=False)
    assert not loss_curves(csv, tmp_path / "l.png", "l", ("loss",)).log_scale


def test_smoothing_follows_the_trend_and_skips_gaps():
    smooth = ema([1.0, np.nan, 0.0, 0.0], alpha=0.5)
    assert smooth.tolist() == [1.0, 1.0, 0.5, 0.25]


def test_phase_markers_where_the_phase_column_changes(tmp_path: Path):
    assert phase_starts([0, 1, 2, 3, 4], [1, 1, 2, 2, 2], "stage") == [Phase(2.0, "stage 2")]
    stats = tmp_path / "stats.jsonl"
    records = [{"iteration": i, "phase": p} for i, p in enumerate(["d_only", "d_only", "warp1", "warp2"])]
    stats.write_text("".join(json.dumps(r) + "\n" for r in reversed(records)) + "not json\n")
    assert run_phases(stats, "iteration", "phase") == [Phase(2.0, "phase warp1"), Phase(3.0, "phase warp2")]


@pytest.mark.parametrize("model", ["gfla", "stgan"])
def test_the_report_marks_the_phases_of_the_newest_run(tmp_path: Path, model: str):
    spec = models()[model]
    assert spec.phase_column
    (tmp_path / "params.yaml").write_text("{}\n")
    params = config.load(tmp_path / "params.yaml")
    (tmp_path / "metrics").mkdir()
    step = "step" if model == "gfla" else "iteration"
    frame = {step: range(6), **{c: [1.0, 0.9, 0.8, 0.7, 0.6, 0.5] for c in spec.loss_columns}}
    pd.DataFrame(frame).to_csv(tmp_path / f"metrics/{model}_loss.csv", index=False)
    run = tmp_path / f"data/models/{model}/00000-tiny"
    run.mkdir(parents=True)
    phases = [1, 1, 1, 2, 2, 2]
    (run / "stats.jsonl").write_text(
        "".join(json.dumps({step: i, spec.phase_column: p}) + "\n" for i, p in enumerate(phases))
    )
    report = build_report(params)
    html = report.index.read_text()
    assert "training" in report.sections
    assert "1 phase marker(s)" in html and f"{model}-loss.png" in html
