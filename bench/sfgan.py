"""SF-GAN benchmark: joint-training step time and peak memory at the product's size.

    python bench/sfgan.py                       # 128 px, batch 8, on this CPU
    python bench/sfgan.py --device cuda         # the same on a GPU (AMP as in training)
    python bench/sfgan.py --size 64 --batch 16 --steps 5

A step is one joint iteration of the trainer (generator step through every warp and the appearance
synthesizer with the relight cycle, one WGAN-GP geometry D step, one LSGAN appearance D step), on
synthetic relit data, with the default preset's networks (5 homography warps, translator 32 wide,
4 levels), after warm-up. Peak memory: CUDA's max allocated, else the process's peak RSS (ru_maxrss,
which includes the interpreter and the data). The last line is the headline.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adgen.models.registry import with_preset
from adgen.models.sfgan.config import SfganParams  # noqa: E402
from adgen.models.sfgan.data import anchors_of, make_relit_dataset  # noqa: E402
from adgen.models.sfgan.train import SfganTrainer  # noqa: E402
from adgen.models.stgan.data import load_dataset  # noqa: E402
from adgen.training import dist  # noqa: E402


def step_time(size: int, batch: int, steps: int, warmup: int, device: str) -> dict[str, float | str]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        index = make_relit_dataset(
            tmp / "ds", size=size, n_real=batch * 2, n_background=batch * 2, fg_scale=0.35
        )
        params = with_preset(
            SfganParams(index=index, height=size, width=size, fg_scale=0.35, batch=batch, device=device)
        )
        data = load_dataset(index, size, size, params.fg_scale, tmp)
        runtime = dist.setup(params.device, params.amp)
        (tmp / "run").mkdir()
        trainer = SfganTrainer(params, data, tmp / "run", runtime, anchors_of(index, "real", size))
        cuda = runtime.device.type == "cuda"
        for _ in range(warmup):
            trainer.step()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for _ in range(steps):
            trainer.step()
        if cuda:
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / steps
        peak = (
            torch.cuda.max_memory_allocated() / 2**20
            if cuda
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        return {
            "device": str(runtime.device),
            "amp": str(runtime.amp_dtype),
            "threads": torch.get_num_threads(),
            "s_per_step": seconds,
            "peak_mib": peak,
            "peak_kind": "cuda max allocated" if cuda else "process peak RSS",
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    args = ap.parse_args()
    r = step_time(args.size, args.batch, args.steps, args.warmup, args.device)
    print("| size | batch | device | amp | threads | s/step | steps/s | peak MiB |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.size} | {args.batch} | {r['device']} | {r['amp']} | {r['threads']} | {r['s_per_step']:.3f} | "
        f"{1 / r['s_per_step']:.3f} | {r['peak_mib']:.0f} ({r['peak_kind']}) |"
    )
    print(
        f"SF-GAN joint step at {args.size} px, batch {args.batch} on {r['device']}: "
        f"{r['s_per_step']:.3f} s/step, peak {r['peak_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
