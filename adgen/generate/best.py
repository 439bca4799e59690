"""`adgen generate --approach best`: which chain the comparison scored better.

Every chain (1: StyleGAN2 → GFLA, 2: DPIG, 3: StyleGAN2 → PIDM, and the combined ones such as
dcgan-gfla, `registry.chains()`) puts a new person in a requested pose, so
the deciding score is the one the product chose them by: pose-keypoint MSE (lower is better; a
chain whose images the pose model read without finding the target's keypoints in any has none and
loses to one that has it); when the pose model was not there, FID (lower), then Inception Score
(higher). With only one
approach scored, that one; with none, None.

It reads the comparison's output file (`adgen evaluate compare`'s compare.json), not its code: compare
runs generate's chains, so generate imports nothing from adgen.compare.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

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


def _posed_nobody(scores: Mapping[str, Any]) -> bool:
    """The pose model read this chain's images (`pose_found_share` is there) and found no target
    keypoint in any: it has no pose MSE because it put nobody in the pose, the worst pose error."""
    return isinstance(scores.get("pose_found_share"), int | float) and "pose_mse" not in scores


def _better(
    first: tuple[str, Mapping[str, Any]], second: tuple[str, Mapping[str, Any]]
) -> tuple[str, Mapping[str, Any]]:
    """The approach the first deciding score favours; a tie on every score keeps `first` (the earlier)."""
    a_none, b_none = _posed_nobody(first[1]), _posed_nobody(second[1])
    if a_none != b_none and "pose_mse" in (second[1] if a_none else first[1]):
        return second if a_none else first
    for metric, lower in CRITERIA:
        a, b = first[1].get(metric), second[1].get(metric)
        if isinstance(a, int | float) and isinstance(b, int | float) and a != b:
            return first if (a < b) == lower else second
    return first


def best_approach(
    compare_json: Mapping[str, Any] | str | Path, among: Iterable[str] | None = None
) -> str | None:
    """The id ("1", "2", …, "dcgan-gfla") of the chain compare.json (its contents or its path)
    scored best, read under each chain's key (`approach1`, `dcgan_gfla`: `Approach.key`); None when
    no chain was scored. The chains are every one `registry.chains()` makes, or only those in `among`
    (the ones `generate --approach best` could load: a skipped chain cannot be favoured), compared in
    turn, the earlier keeping a tie (approach 1: the established chain; declared before combined)."""
    from adgen.models.registry import chains

    allowed = set(chains()) if among is None else set(among)
    gens = _read(compare_json).get("generators", {})
    gens = gens if isinstance(gens, Mapping) else {}
    scored = [
        (a, gens[chain.key])
        for a, chain in chains().items()
        if a in allowed and isinstance(gens.get(chain.key), Mapping) and gens[chain.key]
    ]
    if not scored:
        return None
    winner = scored[0]
    for other in scored[1:]:
        winner = _better(winner, other)
    return winner[0]
