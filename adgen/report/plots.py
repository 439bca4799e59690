"""Loss curves: each training's `<model>_loss.csv` (step + one column per loss) as a PNG."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adgen import atomic


def loss_curves(csv_path: Path, out: Path, title: str) -> list[str]:
    """Plot every loss column of `csv_path` against `step`; return the plotted column names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.read_csv(csv_path)
    if df.empty:
        return []
    x = df["step"] if "step" in df.columns else pd.Series(range(len(df)))
    cols = [c for c in df.columns if c != "step" and pd.api.types.is_numeric_dtype(df[c])]
    if not cols:
        return []
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    for c in cols:
        ax.plot(x, df[c], label=c, linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    with atomic.atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return cols
