"""Issue 14, case 1: one weights-only loader, so no new `torch.load` can slip back to pickle.

Before the fix three modules called `torch.load(..., weights_only=False)` themselves.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOADER = REPO / "adgen/training/checkpoint.py"
UNSAFE = re.compile(r"torch\.load\(|pickle\.loads?\(|yaml\.load\(|yaml\.unsafe_load|weights_only\s*=\s*False")


def _sources() -> list[Path]:
    return sorted(
        [*(REPO / "adgen").rglob("*.py"), *(REPO / "crawlers").rglob("*.py"), *(REPO / "flows").rglob("*.py")]
    )


def test_every_torch_file_is_read_by_the_one_weights_only_loader() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in _sources()
        if path != LOADER
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if UNSAFE.search(line)
    ]
    assert offenders == []
    loader = LOADER.read_text()
    calls = [line for line in loader.splitlines() if "torch.load(" in line and "`" not in line]
    assert calls and all("weights_only=True" in line for line in calls)
    assert "add_safe_globals" not in loader  # nothing registered as safe
