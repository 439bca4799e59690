"""`adgen generate --approach best`: which pose-controlled approach the comparison scored better.

Approach 1 (StyleGAN2 → GFLA) and approach 2 (DPIG) both put a new person in a requested pose, so
the deciding score is the one the product chose them by: pose-keypoint MSE (lower is better);
when the pose model was not there, FID (lower), then Inception Score (higher). With only one
approach scored, that one; with none, None.

It reads the comparison's output file (`adgen evaluate compare`'s compare.json), not its code: compare
runs generate's chains, so generate imports nothing from adgen.compare.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

# (metric, lower is better), in the order they decide
CRITERIA = (("pose_mse", True), ("fid", True), ("inception_score", False))


def _read(compare_json: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(compare_json, Mapping):
        return compare_json
    path = Path(compare_json)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def best_approach(compare_json: Mapping[str, Any] | str | Path) -> Literal["1", "2"] | None:
    """ "1" or "2" from compare.json (its contents or its path); None when neither approach was scored."""
    gens = _read(compare_json).get("generators", {})
    gens = gens if isinstance(gens, Mapping) else {}
    scored = {
        key: gens[f"approach{key}"]
        for key in ("1", "2")
        if isinstance(gens.get(f"approach{key}"), Mapping) and gens[f"approach{key}"]
    }
    if len(scored) == 1:
        return next(iter(scored))  # type: ignore[return-value]
    if not scored:
        return None
    one, two = scored["1"], scored["2"]
    for metric, lower in CRITERIA:
        a, b = one.get(metric), two.get(metric)
        if isinstance(a, int | float) and isinstance(b, int | float) and a != b:
            return "1" if (a < b) == lower else "2"
    return "1"  # a tie on every score: the established chain
