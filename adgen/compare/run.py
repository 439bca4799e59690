"""`adgen evaluate compare`: every trained generator on the evaluation set, scored the same way.

Each generator makes K x N people: a pose-controlled one makes, in each of the K target poses,
the people of seeds seed … seed+N-1 (so a column of the grid is one person per seed, re-posed);
an unconditional one makes the people of seeds seed … seed+K*N-1. All are scored by `Scorer`.

A chain whose second step is a pose transfer also has that step scored on the set's real held-out
pairs (adgen.compare.pairs: SSIM, FID, LPIPS against the real target photo, transfers/s).

Outputs (next to the other metrics, `paths.metrics`):
- `compare.json`       numbers only: per generator IS, FID, pose MSE, shares, images/s, and the
                       pair scores of its transfer step (a DVC metric);
- `compare.info.json`  status ("scored" / "not trained" / "unavailable"), commands, checkpoints, skips;
- `compare_grid.png`   one row per target pose, one column per generator (seed `compare.seed`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from adgen import atomic
from adgen.compare.evalset import EvalSet
from adgen.compare.generators import ENTRIES, Candidate, Missing
from adgen.compare.grid import comparison_grid
from adgen.compare.pairs import PairScores
from adgen.compare.score import Scorer
from adgen.pose.contract import fit_into_frame
from adgen.progress import track
from adgen.stage_metrics import split_numbers

GRID_HEADINGS = {e.name: e.heading for e in ENTRIES}  # "StyleGAN2", "Approach 1", ...
CHAINS = {e.name: e.chain for e in ENTRIES}  # the models each generator runs, in order


@dataclass
class Comparison:
    values: dict[str, Any]  # numbers and strings together (split when written)
    grid: Image.Image


@dataclass
class ComparisonFiles:
    metrics: Path
    info: Path
    grid: Path
    values: dict[str, Any]


def _generate(cand: Candidate, ev: EvalSet, seeds: list[int], seed: int):
    """(images, target pose of each image or None, the grid image of each row, seconds)."""
    k, n = len(ev.targets), len(seeds)
    h, w = cand.frame
    start = time.perf_counter()
    if cand.pose_controlled:
        images, targets, row_images = [], [], []
        for t in ev.targets:
            made = cand.posed(fit_into_frame(t.keypoints, ev.size, (w, h)), seeds)
            images += made
            targets += [t.keypoints] * len(made)
            row_images.append(made[0])
        return images, targets, row_images, time.perf_counter() - start
    images = cand.people(list(range(seed, seed + k * n)))
    seconds = time.perf_counter() - start
    return images, None, [images[i * n] for i in range(k)], seconds


def compare_generators(
    ev: EvalSet,
    entries: list[Candidate | Missing],
    scorer: Scorer,
    seeds: int = 4,
    seed: int = 0,
    cell_height: int = 128,
    pairs: PairScores | None = None,
) -> Comparison:
    """Generate with every candidate, score all with the same `scorer` (and each transfer step on
    the held-out pairs with `pairs`), and draw the grid."""
    seed_list = list(range(seed, seed + seeds))
    real = [t.image for t in ev.targets]
    generators: dict[str, Any] = {}
    columns = []
    for entry in track(entries, "comparing generators"):
        if isinstance(entry, Missing):
            generators[entry.name] = {
                "status": entry.status,
                "reason": entry.reason,
                **({"command": entry.command} if entry.command else {}),
            }
            continue
        images, targets, row_images, seconds = _generate(entry, ev, seed_list, seed)
        scores = scorer.score(images, real, targets, ev.size, seconds)
        if pairs is not None:
            scores.update(pairs.for_chain(CHAINS.get(entry.name, ()), entry.checkpoints, entry.transfer))
        generators[entry.name] = {
            "status": "scored",
            "label": entry.label,
            "kind": "pose-controlled" if entry.pose_controlled else "unconditional",
            "resolution": f"{entry.frame[0]}x{entry.frame[1]}",
            "checkpoints": entry.checkpoints,
            **scores,
        }
        columns.append((GRID_HEADINGS.get(entry.name, entry.name), row_images))
    values = {
        "poses": len(ev.targets),
        "seeds_per_pose": seeds,
        "first_seed": seed,
        "eval_set": str(ev.root),
        "held_out_pairs": len(ev.paired),
        **({"pairs_skipped": ev.pairs_skipped} if ev.pairs_skipped else {}),
        "generators": generators,
    }
    return Comparison(values, comparison_grid(ev.targets, ev.frame, columns, cell_height))


def write_comparison(metrics_dir: Path, comparison: Comparison) -> ComparisonFiles:
    metrics_dir = Path(metrics_dir)
    numbers, info = split_numbers(comparison.values)
    files = ComparisonFiles(
        metrics_dir / "compare.json", metrics_dir / "compare.info.json", metrics_dir / "compare_grid.png",
        comparison.values,
    )  # fmt: skip
    info["grid"] = files.grid.name
    atomic.write_json(files.metrics, numbers)
    atomic.write_json(files.info, info)
    with atomic.atomic_path(files.grid) as tmp:
        comparison.grid.save(tmp, format="PNG")
    return files


def scorer_for(params) -> Scorer:
    """The metric networks named in params (absent ones become skips) and the pose model."""
    from adgen.errors import UserError
    from adgen.generate.chain import load_estimator

    m = params.metrics
    estimator, error = None, None
    try:
        estimator = load_estimator(params)
    except UserError as exc:
        error = str(exc)
    return Scorer(
        inception_weights=params.path(m.inception_v3_weights) if m.inception_v3_weights else None,
        fid_graph=params.path(m.fid_inception_graph) if m.fid_inception_graph else None,
        estimator=estimator,
        estimator_error=error,
        keypoint_min_conf=params.detect.keypoint_min_conf,
        ankles_required=params.detect.ankles_required,
        batch_size=m.batch_size,
        is_splits=m.is_splits,
    )


def run_comparison(params) -> ComparisonFiles:
    """Load the evaluation set and every trained generator, compare, write the three outputs."""
    from adgen.compare.evalset import load_eval_set
    from adgen.compare.generators import find_generators
    from adgen.metrics.pairs import pair_metric_files
    from adgen.training.dist import resolve_device

    cp = params.compare
    cp = cp.model_copy(update={"device": resolve_device(cp.device, "compare.device")})  # auto: this machine's
    ev = load_eval_set(params.path(cp.eval_set))
    scorer = scorer_for(params)
    entries = find_generators(params, cp, scorer.estimator, scorer.estimator_error)
    pairs = PairScores(ev, pair_metric_files(params), cp.device)
    comparison = compare_generators(ev, entries, scorer, cp.seeds, cp.seed, cp.cell_height, pairs)
    return write_comparison(params.path(params.paths.metrics), comparison)
