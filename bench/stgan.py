"""ST-GAN benchmarks: training speed at the product's size, and a convergence check on known placements.

    python bench/stgan.py speed        # iterations/s at batch 20, 128 px (D-only and warp iterations)
    python bench/stgan.py convergence  # trains on synthetic people whose bag place is known
    python bench/stgan.py              # both

Speed: real iterations of the trainer (one G step + two WGAN-GP D steps with the history ring; the
D-only phase is two D steps) on synthetic data, after warm-up, on CUDA (AMP) when present, else CPU.
Convergence: synthetic people holding out a hand; real photos show the bag hanging from it. The
placement error is the mean distance (fraction of the image side) from the warped bag's alpha
centre to where it belongs, on held-out backgrounds, at p0 and after each warp.
The last line states the headline figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adgen.models.registry import with_preset
from adgen.models.stgan.config import StganParams  # noqa: E402
from adgen.models.stgan.data import load_dataset, make_synthetic_dataset  # noqa: E402
from adgen.models.stgan.train import StganTrainer, run  # noqa: E402
from adgen.training import dist  # noqa: E402


def speed(size: int, batch: int, iters: int, warmup: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        index = make_synthetic_dataset(
            tmp / "ds", size=size, n_real=batch * 2, n_background=batch * 2, fg_scale=0.35
        )
        params = with_preset(StganParams(), "exp2").model_copy(update={"batch": batch, "fg_scale": 0.35})
        data = load_dataset(index, size, size, params.fg_scale, tmp)
        runtime = dist.setup(params.device, params.amp)
        (tmp / "run").mkdir()
        trainer = StganTrainer(params, data, tmp / "run", runtime)
        out = {}
        for phase, name in ((0, "D-only"), (1, "warp 1")):
            trainer.start_phase(phase)
            for _ in range(warmup):
                trainer.step()
            if runtime.device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(iters):
                trainer.step()
            if runtime.device.type == "cuda":
                torch.cuda.synchronize()
            out[name] = iters / (time.perf_counter() - start)
        out["device"] = str(runtime.device)
        out["amp"] = str(runtime.amp_dtype)
        return out


def convergence(size: int, warps: int, iters_per_warp: int, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        index = make_synthetic_dataset(
            tmp / "ds", size=size, n_real=128, n_background=128, fg_scale=0.35, seed=seed
        )
        params = with_preset(StganParams(), "demo").model_copy(
            update={
                "height": size,
                "width": size,
                "fg_scale": 0.35,
                "batch": 8,
                "warps": warps,
                "iters_d_only": 100,
                "iters_per_warp": iters_per_warp,
                "lr_g": 1e-4,
                "lr_d": 1e-4,
                "eval_images": 64,
                "log_every": 50,
                "checkpoint_every": 10**9,
                "sample_every": 10**9,
                "seed": seed,
                "index": index,
            }
        )
        start = time.perf_counter()
        result = run(params, tmp / "run", data_root=tmp, echo=False)
        errors = [r["placement_error"] for r in _stats(tmp / "run") if "placement_error" in r][-1]
        return {"errors": errors, "seconds": time.perf_counter() - start, "iterations": result.steps}


def _stats(run: Path) -> list[dict]:
    import json

    return [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="?", choices=["speed", "convergence", "both"], default="both")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--conv-size", type=int, default=32)
    ap.add_argument("--conv-warps", type=int, default=2)
    ap.add_argument("--conv-iters-per-warp", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    headline = []
    if args.what in ("speed", "both"):
        s = speed(args.size, args.batch, args.iters, args.warmup)
        print(
            f"\nST-GAN training speed, batch {args.batch}, {args.size}x{args.size}, exp2 ({s['device']}, amp {s['amp']})"
        )
        print(f"{'phase':<10}{'iterations/s':>14}{'s/iteration':>14}")
        for name in ("D-only", "warp 1"):
            print(f"{name:<10}{s[name]:>14.3f}{1 / s[name]:>14.2f}")
        headline.append(f"{s['warp 1']:.3f} warp it/s on {s['device']} at batch {args.batch}, {args.size} px")
    if args.what in ("convergence", "both"):
        c = convergence(args.conv_size, args.conv_warps, args.conv_iters_per_warp, args.seed)
        e = c["errors"]
        print(
            f"\nST-GAN convergence on synthetic people ({args.conv_size} px, {c['iterations']} iterations, {c['seconds']:.0f} s)"
        )
        print(f"{'after':<10}{'placement error':>16}{'vs p0':>10}")
        for k, err in enumerate(e):
            print(f"{'p0' if k == 0 else f'warp {k}':<10}{err:>16.4f}{e[0] / err:>9.1f}x")
        headline.append(
            f"placement error {e[0]:.3f} -> {e[-1]:.3f} ({e[0] / e[-1]:.1f}x smaller, target >= 3x)"
        )
    print("\nheadline: " + "; ".join(headline))


if __name__ == "__main__":
    main()
