"""`adgen evaluate pidm`: PIDM's quality and speed against the DDIM step count, so a user can pick a
point on the curve (issue 30).

The same held-out (test) pairs and the same starting noise (pair i's seed is `seed + i`) at every
step count: the images differ only by the sampler's step count. Each count is scored against the real
target by adgen.metrics.pairs (the code every pose transfer is scored with) and against the largest
count's images (mean absolute difference and PSNR in 8-bit levels: how close the fast sampler comes
to the slow one, meaningful even for a weakly trained network), and timed (s/image, images/s; one
warm-up step first, the GPU synchronised around each count).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from adgen.errors import UserError
from adgen.models.gfla.data import tensor_to_image
from adgen.models.pidm.data import PidmPairs
from adgen.models.pidm.diffusion import Guidance, ddim_sample
from adgen.progress import track


def parse_steps(text: str) -> tuple[int, ...]:
    """`--steps 1000,100,50` → (1000, 100, 50); one line for anything else."""
    try:
        steps = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise UserError(f"--steps {text!r}: comma-separated DDIM step counts, e.g. 1000,100,50,25") from None
    if not steps:
        raise UserError("--steps: give at least one DDIM step count, e.g. 1000,100,50,25")
    return steps


def exact_counts(timesteps: int, near: int) -> tuple[int | None, int | None]:
    """The nearest step counts at or below / above `near` that the sampler runs exactly."""
    ok = [n for n in range(1, timesteps + 1) if len(range(0, timesteps, timesteps // n)) == n]
    below = [n for n in ok if n <= near]
    above = [n for n in ok if n >= near]
    return (below[-1] if below else None), (above[0] if above else None)


def check_steps(steps: Sequence[int], timesteps: int, setting: str) -> tuple[int, ...]:
    """The step counts, largest first, each one the sampler walks exactly (one line otherwise).

    The DDIM sequence is the official range(0, T, T // n): for an n that does not divide T evenly it
    has more than n steps (T = 1000, n = 30: 31 steps), so the curve would be mislabelled."""
    out = tuple(sorted(set(steps), reverse=True))
    for n in out:
        if not 1 <= n <= timesteps:
            raise UserError(
                f"{setting}: {n} DDIM steps; the network has {timesteps} timesteps (1 to {timesteps})"
            )
        walked = len(range(0, timesteps, timesteps // n))
        if walked != n:
            below, above = exact_counts(timesteps, n)
            near = " or ".join(str(k) for k in (below, above) if k is not None)
            raise UserError(
                f"{setting}: {n} DDIM steps would walk {walked} (range(0, {timesteps}, {timesteps // n}));"
                f" use a count that divides {timesteps}, e.g. {near}"
            )
    return out


@dataclass
class Held:
    """The held-out pairs' inputs and real targets, as images at the network's size."""

    sources: list[Image.Image] = field(default_factory=list)
    poses: list[Image.Image] = field(default_factory=list)  # the drawn skeleton of the target pose
    real: list[Image.Image] = field(default_factory=list)


@dataclass
class StepRun:
    steps: int
    images: list[Image.Image]
    seconds: float  # sampling wall time for all pairs


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def sample_curve(
    transfer,
    data: PidmPairs,
    n_pairs: int,
    steps: Sequence[int],
    guidance: Guidance,
    seed: int = 0,
    batch: int = 8,
    clip_x0: bool = False,
) -> tuple[Held, list[StepRun]]:
    """The first `n_pairs` held-out pairs sampled at each step count (in `steps`' order), same noise."""
    n = min(n_pairs, len(data))
    device, model, diffusion = transfer.device, transfer.model, transfer.diffusion
    held = Held()
    chunks = []
    for start in range(0, n, batch):
        items = [data[i] for i in range(start, min(n, start + batch))]
        src = torch.stack([it["source"] for it in items]).to(device)
        pose = torch.stack([it["target_pose"] for it in items]).to(device)
        chunks.append((src, pose, [seed + i for i in range(start, start + len(items))]))
        held.sources += [tensor_to_image(it["source"]) for it in items]
        held.poses += [tensor_to_image(it["target_pose"][:3] * 2 - 1) for it in items]
        held.real += [tensor_to_image(it["target"]) for it in items]
    src, pose, seeds = chunks[0]
    ddim_sample(
        model, diffusion, src, pose, seeds, 1, guidance, clip_x0=clip_x0
    )  # warm-up at the batch's size, not timed

    images: dict[int, list[Image.Image]] = {s: [] for s in steps}
    seconds = dict.fromkeys(steps, 0.0)
    work = [(s, c) for s in steps for c in chunks]
    for s, (src, pose, seeds) in track(work, "PIDM DDIM step curve", total=len(work)):
        _sync(device)
        t0 = time.perf_counter()
        out = ddim_sample(model, diffusion, src, pose, seeds, s, guidance, clip_x0=clip_x0)
        _sync(device)
        seconds[s] += time.perf_counter() - t0
        images[s] += [tensor_to_image(t) for t in out]
    return held, [StepRun(s, images[s], seconds[s]) for s in steps]


def closeness(images: list[Image.Image], reference: list[Image.Image]) -> dict[str, float]:
    """Mean absolute difference (8-bit levels) and PSNR (dB; absent for identical images) to `reference`."""
    a = np.stack([np.asarray(im, np.float64) for im in images])
    b = np.stack([np.asarray(im, np.float64) for im in reference])
    mad = float(np.abs(a - b).mean())
    mse = float(((a - b) ** 2).mean())
    out = {"mad_to_reference": mad}
    if mse > 0:
        out["psnr_to_reference"] = 10 * math.log10(255.0**2 / mse)
    return out


def score_curve(held: Held, runs: list[StepRun], files) -> dict[str, Any]:
    """{reference_steps, pairs, steps: {n: {ssim, lpips?, fid?, mad/psnr_to_reference, s_per_image,
    images_per_s}}, skipped reasons}: the numbers of pidm_steps.json, keyed by step count."""
    from adgen.metrics.pairs import score_pairs

    reference = max(runs, key=lambda r: r.steps)
    out: dict[str, Any] = {"reference_steps": reference.steps, "pairs": len(held.real), "steps": {}}
    for run in runs:
        scores = score_pairs(run.images, held.real, files)
        for key in [k for k in scores if k.endswith("_skipped")]:
            out[key] = scores.pop(key)  # the same reason at every count: said once
        scores.pop("pairs")
        n = len(run.images)
        out["steps"][str(run.steps)] = {
            **scores,
            **closeness(run.images, reference.images),
            "s_per_image": run.seconds / n,
            "images_per_s": n / run.seconds if run.seconds > 0 else 0.0,
        }
    return out


def grid(held: Held, runs: list[StepRun], rows: int = 8, min_cell: int = 96) -> Image.Image:
    """Rows = pairs; columns = source, target pose, each step count, real target; a header names them."""
    w, h = held.real[0].size
    scale = max(1, math.ceil(min_cell / h))
    cw, ch, pad, head = w * scale, h * scale, 2, 14
    columns = [
        ("source", held.sources),
        ("pose", held.poses),
        *[(f"{r.steps} st", r.images) for r in runs],
        ("real", held.real),
    ]
    n = min(rows, len(held.real))
    board = Image.new("RGB", (len(columns) * (cw + pad) + pad, head + n * (ch + pad) + pad), "white")
    draw = ImageDraw.Draw(board)
    for c, (label, images) in enumerate(columns):
        x = pad + c * (cw + pad)
        draw.text((x + 2, 1), label, fill="black")
        for r in range(n):
            board.paste(images[r].resize((cw, ch), Image.NEAREST), (x, head + pad + r * (ch + pad)))
    return board


def table(result: dict[str, Any]) -> str:
    """The curve as a plain-text table, largest step count first."""
    ref = result["reference_steps"]
    cols = [("ssim", "SSIM", ".4f"), ("lpips", "LPIPS", ".4f"), ("fid", "FID", ".2f")]
    cols = [c for c in cols if any(c[0] in v for v in result["steps"].values())]
    head = (
        f"{'steps':>6} "
        + " ".join(f"{t:>7}" for _, t, _ in cols)
        + f" {'|Δ| to ' + str(ref):>11} {'PSNR dB':>8} {'s/image':>9} {'img/s':>9}"
    )
    lines = [head]
    for n, v in result["steps"].items():
        psnr = v.get("psnr_to_reference")
        lines.append(
            f"{n:>6} "
            + " ".join(f"{v[k]:>7{f}}" for k, _, f in cols)
            + f" {v['mad_to_reference']:>11.2f} {('—' if psnr is None else f'{psnr:.1f}'):>8}"
            + f" {v['s_per_image']:>9.4g} {v['images_per_s']:>9.4g}"
        )
    return "\n".join(lines)


def evaluate_steps(
    transfer,
    dataset: Path,
    data_params,
    steps: Sequence[int],
    n_pairs: int,
    guidance: Guidance,
    files,
    seed: int = 0,
    batch: int = 8,
    setting: str = "--steps",
    clip_x0: bool = False,
) -> tuple[dict[str, Any], Image.Image]:
    """(pidm_steps numbers + reasons, the grid) for `transfer`'s network on `dataset`'s test pairs;
    the annotation frame is `data_params`' (train.pidm's), the image size the network's."""
    steps = check_steps(steps, transfer.diffusion.num_timesteps, setting)
    p = transfer.params.model_copy(
        update={
            "annotation_height": data_params.annotation_height,
            "annotation_width": data_params.annotation_width,
        }
    )
    data = PidmPairs(dataset, "test", p)
    held, runs = sample_curve(transfer, data, n_pairs, steps, guidance, seed, batch, clip_x0)
    return score_curve(held, runs, files), grid(held, runs)
