"""Loss curves: the losses a model declares (`ModelSpec.loss_columns`, the same list dvc.yaml plots)
from its `<model>_loss.csv`, smoothed, on a log scale when they span decades, with phase markers.

Only declared columns are drawn: a CSV may carry other columns (GFLA's `stage`), which are not losses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from adgen import atomic

DECADES_FOR_LOG = 2.0  # a column spanning more than this many decades (and all positive) → log y
EMA_ALPHA = 0.1  # weight of the newest point in the smoothed curve (the raw curve is drawn faintly)


@dataclass(frozen=True)
class Phase:
    """Where a phase starts: the step and its label (GFLA "stage 2", ST-GAN "phase warp1")."""

    step: float
    label: str


@dataclass(frozen=True)
class LossPlot:
    columns: list[str]  # the columns drawn, in the declared order
    log_scale: bool
    phases: list[Phase]


def ema(values: Sequence[float], alpha: float = EMA_ALPHA) -> np.ndarray:
    """Exponential moving average, ignoring gaps (NaN keeps the previous smoothed value)."""
    out = np.full(len(values), np.nan)
    level = np.nan
    for i, v in enumerate(values):
        if not np.isnan(v):
            level = v if np.isnan(level) else alpha * v + (1 - alpha) * level
        out[i] = level
    return out


def wants_log(frame: pd.DataFrame) -> bool:
    """True when every value is positive and some column spans more than DECADES_FOR_LOG decades."""
    values = frame.to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0 or (values <= 0).any():
        return False
    spans = [
        np.log10(col.max() / col.min())
        for col in (frame[c].dropna().to_numpy(float) for c in frame)
        if col.size
    ]
    return max(spans, default=0.0) > DECADES_FOR_LOG


def phase_starts(steps: Sequence[float], phases: Sequence[object], name: str) -> list[Phase]:
    """A marker at every step where the phase value changes (the first phase gets none)."""
    out: list[Phase] = []
    previous: object = None
    for i, (step, value) in enumerate(zip(steps, phases, strict=True)):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if i and previous is not None and value != previous:
            out.append(Phase(float(step), f"{name} {value}"))
        previous = value
    return out


def loss_curves(
    csv_path: Path,
    out: Path,
    title: str,
    columns: Sequence[str],
    phases: Sequence[Phase] = (),
    phase_column: str | None = None,
) -> LossPlot | None:
    """Plot the declared `columns` of `csv_path` against its first column (the step); None if none.

    Phase markers: `phases` (from the run's stats.jsonl), else where `phase_column` changes in the CSV.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.read_csv(csv_path)
    if df.empty:
        return None
    step_key = "step" if "step" in df.columns else df.columns[0]
    x = df[step_key].to_numpy(float)
    cols = [c for c in columns if c in df.columns and c != step_key]
    data = df[cols].apply(pd.to_numeric, errors="coerce")
    cols = [c for c in cols if data[c].notna().any()]
    if not cols:
        return None
    if not phases and phase_column and phase_column in df.columns and phase_column not in cols:
        phases = phase_starts(x.tolist(), df[phase_column].tolist(), phase_column)
    log = wants_log(data[cols])
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    for c in cols:
        y = data[c].to_numpy(float)
        (line,) = ax.plot(x, ema(y), label=c, linewidth=1.4)
        ax.plot(x, y, color=line.get_color(), alpha=0.25, linewidth=0.8)
    for ph in phases:
        ax.axvline(ph.step, color="#555", linestyle="--", linewidth=0.9)
        ax.annotate(ph.label, (ph.step, 1), xycoords=("data", "axes fraction"), rotation=90,
                    va="top", ha="right", fontsize=7, color="#333")  # fmt: skip
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(step_key)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    drawn = ax.get_legend_handles_labels()[1]  # what the figure holds, not what was asked for
    log = ax.get_yscale() == "log"
    with atomic.atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return LossPlot(drawn, log, list(phases))


def run_phases(stats_jsonl: Path, step_key: str, phase_column: str) -> list[Phase]:
    """Phase starts from a run dir's `stats.jsonl` (records with `step_key` and `phase_column`)."""
    import json

    steps, values = [], []
    try:
        lines = stats_jsonl.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and phase_column in rec and isinstance(rec.get(step_key), int | float):
            steps.append(float(rec[step_key]))
            values.append(rec[phase_column])
    order = sorted(range(len(steps)), key=lambda i: steps[i])
    return phase_starts([steps[i] for i in order], [values[i] for i in order], phase_column)
