"""DCGAN training speed: the paper's 64x64 network and batch 128, one D step + one G step each.

    .venv/bin/python bench/dcgan.py [--device cpu|cuda] [--threads 2] [--iters 5] [--preset dcgan64]
                                    [--batch 128] [--no-amp]

One warm-up step, then `--iters` timed steps on random images in [-1, 1] (the data loader is not
timed: training reads the zip in worker processes). On CUDA the step runs under AMP (bf16 where
supported) as training does, unless --no-amp. Prints a table; the last line is the headline.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch

from adgen.models.dcgan.config import DcganParams
from adgen.models.dcgan.model import count_params
from adgen.models.dcgan.train import DcganTrainer
from adgen.models.registry import with_preset
from adgen.training import dist


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--preset", default="dcgan64")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--no-amp", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    params = with_preset(DcganParams(batch=args.batch, device=args.device, amp=not args.no_amp), args.preset)
    runtime = dist.setup(args.device, params.amp)
    trainer = DcganTrainer(params, runtime)
    h, w = params.resolution
    print(
        f"# DCGAN {args.preset} {h}x{w}, batch {args.batch}, device {runtime.device}, threads "
        f"{torch.get_num_threads()}, {runtime.amp_dtype or torch.float32}, "
        f"G {count_params(trainer.G):,} D {count_params(trainer.D):,} params"
    )
    real = (torch.rand(args.batch, 3, h, w) * 2 - 1).to(runtime.device)

    def one() -> tuple[float, float]:
        if runtime.device.type == "cuda":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        trainer.step(real)
        if runtime.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0, time.process_time() - c0

    one()  # warm-up (cuDNN autotuning, allocator)
    runs = [one() for _ in range(args.iters)]
    walls = [r[0] for r in runs]
    print(f"{'step':>6} {'wall s':>9} {'cpu s':>9} {'img/s':>9}")
    for i, (wall, cpu) in enumerate(runs):
        print(f"{i:>6} {wall:>9.4f} {cpu:>9.3f} {args.batch / wall:>9.1f}")
    med = statistics.median(walls)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    extra = (
        f", peak GPU {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
        if runtime.device.type == "cuda"
        else ""
    )
    print(f"peak RSS {rss:.0f} MiB{extra}")
    print(
        f"DCGAN {h}x{w} batch {args.batch} on {runtime.device.type}: {med:.4f} s/step median, "
        f"{args.batch / med:.0f} img/s ({statistics.median(r[1] for r in runs):.2f} CPU-s/step, all threads)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
