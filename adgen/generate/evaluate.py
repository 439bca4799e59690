"""The Inception Score of the people a generate run drew (GFLA's own held-out scores are in
adgen/models/gfla/evaluate.py).

Not configured, it is recorded as skipped with the reason, so a generate run without the Inception
files still produces its ads and its pose MSE.
"""

from __future__ import annotations

from typing import Any

from PIL import Image


def inception_of(people: list[Image.Image], params) -> dict[str, Any]:
    """{"inception_score", "inception_score_std"} or {"inception_score_skipped": why}."""
    m = params.metrics
    if not params.generate.inception_score:
        return {"inception_score_skipped": "generate.inception_score is false"}
    if m.inception_v3_weights is None:
        return {"inception_score_skipped": "metrics.inception_v3_weights is not set"}
    from adgen.metrics.inception_score import inception_score

    score = inception_score(
        people,
        params.path(m.inception_v3_weights),
        splits=min(m.is_splits, len(people)),
        batch_size=m.batch_size,
    )
    return {"inception_score": float(score.mean), "inception_score_std": float(score.std)}
