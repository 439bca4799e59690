"""Each chain's pose-transfer step scored on real held-out pairs: the field's ranking of pose transfers.

A chain's own people (a StyleGAN2 sample moved into a target pose) have no real photo to compare
with, so FID against the real set and pose MSE are all the comparison can say about them. Its
transfer step can be held to a known answer, though: the evaluation set records, for each target
that is the `to` of a GFLA held-out pair, the `from` photo (the same person in another pose). The
transfer moves that photo into the target's pose, and `adgen.metrics.pairs.score_pairs` scores the
result against the real target photo (SSIM; FID and LPIPS when their networks are configured) —
the numbers published for GFLA (0.7074 SSIM / 0.2341 LPIPS) and PIDM (0.7312 / 0.1678).

The transfer step is found by role (the chain's second model is a `PoseTransfer`), the one the
comparison loaded for the chain (no second copy in memory), run once on every pair per model and
checkpoint, and its scores given to every chain that uses it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adgen.compare.evalset import EvalSet
from adgen.metrics.pairs import PairMetricFiles, score_pairs
from adgen.models.registry import ModelSpec
from adgen.models.roles import PoseTransfer, PoseTransferrer

# compare.json's names for score_pairs' keys (the pair scores sit beside the chain's own FID).
NAMES = {"pairs": "pairs", "ssim": "pair_ssim", "fid": "pair_fid", "lpips": "pair_lpips"}
RATE = "transfers_per_second"


def transfer_step(chain: tuple[ModelSpec, ...]) -> ModelSpec | None:
    """The chain's pose-transfer step: its second model when that one's role is a PoseTransfer."""
    return chain[1] if len(chain) >= 2 and isinstance(chain[1].role, PoseTransfer) else None


def score_transfer(transferrer: PoseTransferrer, ev: EvalSet, files: PairMetricFiles) -> dict[str, Any]:
    """Every pair of `ev` through `transferrer`, scored against the real target photos, and timed."""
    paired = ev.paired
    start = time.perf_counter()
    made = [transferrer.transfer(t.pair.image, t.pair.keypoints, t.keypoints) for t in paired]
    seconds = time.perf_counter() - start
    scores = score_pairs(made, [t.image for t in paired], files)
    out: dict[str, Any] = {}
    for key, value in scores.items():
        metric, skipped = key.removesuffix("_skipped"), key.endswith("_skipped")
        out[NAMES.get(metric, f"pair_{metric}") + ("_skipped" if skipped else "")] = value
    if seconds > 0:
        out[RATE] = len(made) / seconds
    return out


@dataclass
class PairScores:
    """The pair scores of each transfer model and checkpoint, computed the first time a chain asks."""

    ev: EvalSet
    files: PairMetricFiles
    device: str = "cpu"
    _done: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def for_chain(
        self, chain: tuple[ModelSpec, ...], checkpoints: dict[str, str], loaded: PoseTransferrer | None = None
    ) -> dict[str, Any]:
        """{pairs, pair_ssim, pair_fid | pair_fid_skipped, …, transfers_per_second, pair_scores} for
        a chain with a transfer step; {} for one without. `loaded`: the chain's transfer as the
        comparison loaded it (else it is loaded here)."""
        spec = transfer_step(chain)
        if spec is None or spec.name not in checkpoints:
            return {}
        if self.ev.pairs_skipped is not None:
            return {"pairs_skipped": self.ev.pairs_skipped}
        key = (spec.name, checkpoints[spec.name])
        if key not in self._done:
            transferrer = loaded if loaded is not None else spec.role.load(Path(key[1]), self.device)
            self._done[key] = score_transfer(transferrer, self.ev, self.files)
        return {
            **self._done[key],
            "pair_scores": (
                f"{spec.label}, this chain's transfer step, on {len(self.ev.paired)} real held-out pairs: "
                "each source photo moved into its target's pose, against the real target photo "
                "(the chain's own people have no real counterpart)"
            ),
        }
