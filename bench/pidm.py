"""PIDM training speed and memory at 256 px: one official step (pairs both ways, MSE + VLB, Adam,
EMA), and the time of one guided DDIM network evaluation, from which sampling time per step count
follows.

    .venv/bin/python bench/pidm.py [--device cpu|cuda] [--threads 2] [--iters 3] [--preset deepfashion256]
                                   [--batch 16] [--no-amp] [--sample-batch 4]

One warm-up step, then `--iters` timed steps on random images and pose maps (the data loader is not
timed: training reads pairs in worker processes). On CUDA the step runs under bf16 autocast as
training does, unless --no-amp. A DDIM step with the official guidance is one batched evaluation of
2 x `--sample-batch` images; n DDIM steps take n such evaluations (the projection in the table).
Prints a table; the last line is the headline.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch

from adgen.models.pidm.config import preset
from adgen.models.pidm.diffusion import Guidance, guided_eps
from adgen.models.pidm.model import parameter_groups
from adgen.models.pidm.train import PidmTrainer
from adgen.training import dist


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--preset", default="deepfashion256")
    ap.add_argument("--batch", type=int, default=16, help="images a step (pairs x 2)")
    ap.add_argument("--sample-batch", type=int, default=4)
    ap.add_argument("--no-amp", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    p = preset(args.preset, batch=args.batch, device=args.device, amp=not args.no_amp, warmup_steps=0)
    rt = dist.setup(args.device, p.amp)
    trainer = PidmTrainer(p, rt)
    h, w, pairs = p.height, p.width, args.batch // 2
    n_params = parameter_groups(trainer.model)["all"]
    print(
        f"# PIDM {args.preset} {h}x{w}, batch {args.batch} ({pairs} pairs both ways), device {rt.device}, "
        f"threads {torch.get_num_threads()}, {rt.amp_dtype or torch.float32}, {n_params:,} params"
    )
    batch = {
        "source": torch.rand(pairs, 3, h, w) * 2 - 1,
        "target": torch.rand(pairs, 3, h, w) * 2 - 1,
        "source_pose": torch.rand(pairs, 20, h, w),
        "target_pose": torch.rand(pairs, 20, h, w),
    }

    def sync() -> None:
        if rt.device.type == "cuda":
            torch.cuda.synchronize()

    def timed(fn) -> tuple[float, float]:
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync()
        return time.perf_counter() - t0, time.process_time() - c0

    timed(lambda: trainer.step(batch))  # warm-up (cuDNN autotuning, allocator)
    runs = [timed(lambda: trainer.step(batch)) for _ in range(args.iters)]
    step_peak = torch.cuda.max_memory_allocated() / 2**30 if rt.device.type == "cuda" else None
    print(f"{'step':>6} {'wall s':>9} {'cpu s':>9} {'img/s':>9}")
    for i, (wall, cpu) in enumerate(runs):
        print(f"{i:>6} {wall:>9.3f} {cpu:>9.2f} {args.batch / wall:>9.2f}")
    med = statistics.median(r[0] for r in runs)

    # one guided DDIM evaluation with the EMA network, no gradients
    ema, n = trainer.ema, args.sample_batch
    src = (torch.rand(n, 3, h, w) * 2 - 1).to(rt.device)
    pose = torch.rand(n, 20, h, w).to(rt.device)
    x, t = torch.randn(n, 3, h, w, device=rt.device), torch.full((n,), 500.0, device=rt.device)

    @torch.no_grad()
    def evaluate() -> None:
        with rt.autocast():
            style, null = ema.encode(src), ema.encode(torch.zeros_like(src))
            guided_eps(ema, x, t, pose, style, null, Guidance(style=2.0))

    timed(evaluate)
    ev = statistics.median(timed(evaluate)[0] for _ in range(args.iters))
    print(
        f"{'DDIM steps':>10} {'s/batch':>10} {'s/image':>10} {'img/s':>9}   (guided: 2 evaluations batched, {n} images)"
    )
    for steps in (25, 50, 100, 1000):
        print(f"{steps:>10} {steps * ev:>10.2f} {steps * ev / n:>10.2f} {n / (steps * ev):>9.4f}")

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    gpu = f", peak GPU {step_peak:.1f} GiB in the training step" if step_peak is not None else ""
    print(f"peak RSS {rss:.1f} GiB{gpu}")
    print(
        f"PIDM {args.preset} {h}x{w} batch {args.batch} on {rt.device.type}: {med:.2f} s/step median, "
        f"{args.batch / med:.2f} img/s; DDIM-50 sampling {n / (50 * ev):.3f} img/s"
        + (f"; peak {step_peak:.1f} GiB GPU" if step_peak is not None else f"; peak RSS {rss:.1f} GiB")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
