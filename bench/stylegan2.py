"""StyleGAN2 training speed and memory: paper config, 128x128, batch 8, lazy R1 and path length.

Same protocol as the reference measurements (/work/shared/reference/stylegan2-reference-
measurements.md, rosinality on this 2-core CPU: ~126 s per plain iteration, 143 s amortised,
0.056 img/s, 8,073 MiB peak RSS): one warm-up iteration, then timed iterations of which the first
runs R1 and path length (step 0 of both intervals) and the rest are plain; the amortised time per
iteration is plain + (R1 phase)/16 + (PL phase)/4, as the training schedule runs them.

    .venv/bin/python bench/stylegan2.py [--device cpu|cuda] [--threads 2] [--iters 3] [--preset paper]
                                        [--cpu-bf16]

--cpu-bf16 runs the G/D main phases under bfloat16 autocast (R1 and path length stay float32), as
the `cpu_bf16` param does; the default float32 run is the like-for-like comparison.

Prints a table; the last line is the headline speed-up over the reference. Wall times need an idle
machine; process CPU-seconds (all threads) are also printed: less sensitive to contention, not immune.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

import torch

from adgen.models.registry import with_preset
from adgen.models.stylegan2.config import StyleGAN2Params
from adgen.models.stylegan2.model import count_params
from adgen.models.stylegan2.train import StyleGAN2Trainer
from adgen.training import dist

REFERENCE_CPU_S_PER_ITER = 143.0  # rosinality, amortised, this CPU (reference measurements)
REFERENCE_CPU_PLAIN_S = 126.0
REFERENCE_CPU_RSS_MIB = 8073
REFERENCE_V100_S_PER_KIMG = 13.0  # NVlabs, paper config at this size on one V100 (their README)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3, help="timed iterations (first one with R1 + PL)")
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--res", type=int, default=128)
    ap.add_argument("--cpu-bf16", action="store_true", help="bfloat16 autocast on CPU (native bf16 only)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    params = with_preset(
        StyleGAN2Params(
            resolution=(args.res, args.res),
            batch=args.batch,
            device=args.device,
            augment="none",
            amp=args.device != "cpu",
            cpu_bf16=args.cpu_bf16,
        ),
        args.preset,
    )
    runtime = dist.setup(args.device, params.amp, params.cpu_bf16)
    trainer = StyleGAN2Trainer(params, runtime)
    print(
        f"# StyleGAN2 {args.preset} {args.res}x{args.res}, batch {args.batch}, device {runtime.device}, "
        f"threads {torch.get_num_threads()}, {runtime.amp_dtype or torch.float32} main phases, G {count_params(trainer.G):,} D {count_params(trainer.D):,} params"
    )
    real = torch.rand(args.batch, 3, args.res, args.res) * 2 - 1

    def one(step_idx: int) -> tuple[float, float, dict[str, float]]:
        """(wall s, process CPU s over all threads, CPU s per phase) of one iteration."""
        trainer.step_idx = step_idx
        if runtime.device.type == "cuda":
            torch.cuda.synchronize()
        t, c = time.perf_counter(), time.process_time()
        trainer.step(real)
        if runtime.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t, time.process_time() - c, dict(trainer.phase_cpu_seconds)

    rows = []
    print(
        f"{'iteration':<18}{'wall s':>9}{'CPU s':>9}{'G main':>9}{'G PL':>9}{'D main':>9}{'D R1':>9}  (phases in CPU s)",
        flush=True,
    )
    for i in range(
        args.iters + 1
    ):  # warm-up (plain), then step 0 with R1 (every 16) + PL (every 4), then plain
        step_idx = 1 if i == 0 else i - 1
        wall, cpu, ph = one(step_idx)
        name = "warm-up (plain)" if i == 0 else ("R1+PL" if step_idx == 0 else "plain") + f" #{i}"
        rows.append((name, wall, cpu, ph))
        cells = [ph.get(k) for k in ("G_main", "G_pl", "D_main", "D_r1")]
        shown = "".join(f"{c:>9.1f}" if c is not None else f"{'-':>9}" for c in cells)
        print(f"{name:<18}{wall:>9.1f}{cpu:>9.1f}{shown}", flush=True)

    timed = rows[1:]
    plain = [(w, c) for n, w, c, _ in timed if n.startswith("plain")] or [(timed[0][1], timed[0][2])]
    reg = [ph for n, _, _, ph in timed if n.startswith("R1+PL")]
    plain_s = statistics.median(w for w, _ in plain)
    plain_cpu = statistics.median(c for _, c in plain)
    r1_cpu = reg[0].get("D_r1", 0.0) if reg else 0.0
    pl_cpu = reg[0].get("G_pl", 0.0) if reg else 0.0
    amortised_cpu = plain_cpu + r1_cpu / params.r1_interval + pl_cpu / params.pl_interval
    # wall seconds of the phases, at the plain iteration's CPU/wall ratio (contention varies)
    r1_s, pl_s = r1_cpu * plain_s / plain_cpu, pl_cpu * plain_s / plain_cpu
    amortised = plain_s + r1_s / params.r1_interval + pl_s / params.pl_interval
    img_s = args.batch / amortised
    rss = peak_rss_mib()
    gpu_mem = torch.cuda.max_memory_allocated() / 2**20 if runtime.device.type == "cuda" else None
    print()
    print(
        f"plain iteration (median): {plain_s:.1f} s wall, {plain_cpu:.1f} CPU-s   R1 phase: {r1_cpu:.1f} CPU-s   PL phase: {pl_cpu:.1f} CPU-s"
    )
    print(f"amortised iteration: {amortised:.1f} s  ->  {img_s:.3f} img/s  ->  {1000 / img_s:,.0f} s/kimg")
    print(
        f"CPU time (all threads): plain {plain_cpu:.1f} s, amortised {amortised_cpu:.1f} s per iteration "
        f"(reference at most {2 * REFERENCE_CPU_S_PER_ITER:.0f} CPU-s: {REFERENCE_CPU_S_PER_ITER:.0f} s wall x 2 threads)"
    )
    print(f"peak RSS: {rss:,.0f} MiB" + (f"   peak GPU memory: {gpu_mem:,.0f} MiB" if gpu_mem else ""))
    print(
        f"reference (rosinality, this CPU): {REFERENCE_CPU_S_PER_ITER:.0f} s/iteration amortised, "
        f"{REFERENCE_CPU_PLAIN_S:.0f} s plain, {REFERENCE_CPU_RSS_MIB:,} MiB; NVlabs V100: ~{REFERENCE_V100_S_PER_KIMG:.0f} s/kimg"
    )
    if runtime.device.type == "cpu":
        # Wall time compares only on an idle machine. For this compute-bound 2-thread run the idle
        # wall time lies between CPU-s / 2 and CPU-s, which bounds the speed-up from both sides.
        lo, hi = REFERENCE_CPU_S_PER_ITER / amortised_cpu, 2 * REFERENCE_CPU_S_PER_ITER / amortised_cpu
        print(
            f"speed-up over the reference on CPU: {lo:.2f}x to {hi:.2f}x from CPU-seconds "
            f"({REFERENCE_CPU_S_PER_ITER / amortised:.2f}x by wall time on this machine as it is now)"
        )
    else:
        print(f"s/kimg vs NVlabs V100 reference: {1000 / img_s:.1f} vs {REFERENCE_V100_S_PER_KIMG:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
