"""DPIG stage I at the official DeepFashion setting (256x256, batch 6): step time and peak memory.

    .venv/bin/python bench/dpig.py [--device cpu|cuda] [--preset deepfashion256] [--batch 6] [--repeats 2]

One stage-I step is exactly what training runs (`DpigTrainer.stage_one`): image discriminator
update, encoder + decoder update (GAN + 20·L1), pose auto-encoder update, with the official
networks (encoder 58.1M, decoder 82.1M, D 4.3M parameters). People are synthetic (random images,
a standing pose): the cost does not depend on the pixels. On CUDA the step runs as training does
(AMP bf16/fp16); the CPU stays fp32. Prints a table; the last line is the headline.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from adgen.models.dpig.config import DpigParams
from adgen.models.dpig.data import item_tensors
from adgen.models.dpig.model import count_parameters
from adgen.models.dpig.train import DpigTrainer
from adgen.models.registry import with_preset
from adgen.training import dist

STANDING = np.array(
    [
        [0.50, 0.12], [0.50, 0.20], [0.40, 0.21], [0.36, 0.34], [0.34, 0.46], [0.60, 0.21],
        [0.64, 0.34], [0.66, 0.46], [0.44, 0.50], [0.44, 0.68], [0.44, 0.86], [0.56, 0.50],
        [0.56, 0.68], [0.56, 0.86], [0.48, 0.10], [0.52, 0.10], [0.46, 0.11], [0.54, 0.11],
    ],
    dtype=np.float32,
)  # fmt: skip


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--preset", default="deepfashion256")
    ap.add_argument("--batch", type=int, default=None, help="default: the preset's stage-I batch")
    ap.add_argument("--repeats", type=int, default=2, help="timed steps after the first (0: time the first)")
    args = ap.parse_args()
    torch.manual_seed(0)
    p = with_preset(DpigParams(device=args.device), args.preset)
    if args.batch:
        p = p.model_copy(update={"batch": args.batch})
    rt = dist.setup(args.device, amp=True)
    base_rss = _rss_mib()
    trainer = DpigTrainer(p, rt)
    kp = np.concatenate([STANDING, np.ones((18, 1), np.float32)], axis=1)
    items = [
        item_tensors(torch.rand(3, p.height, p.width) * 2 - 1, kp, p.height, p.width) for _ in range(p.batch)
    ]
    batch = trainer.to_device({k: torch.stack([it[k] for it in items]) for k in items[0]})
    if rt.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def memory() -> str:
        if rt.device.type == "cuda":
            return f"{torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB peak allocated"
        return f"{_rss_mib():,.0f} MiB peak RSS ({_rss_mib() - base_rss:,.0f} MiB over start-up)"

    t0 = time.perf_counter()
    trainer.stage_one(batch)  # warm-up (allocations, cuDNN autotune); printed at once: a CPU step is minutes
    _sync(rt.device)
    first_s = time.perf_counter() - t0
    print(f"first stage-I step (with allocations): {first_s:.2f} s, {memory()}", flush=True)
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        trainer.stage_one(batch)
    _sync(rt.device)
    step_s = (time.perf_counter() - t0) / args.repeats if args.repeats else first_s
    mem = memory()

    amp = str(rt.amp_dtype).replace("torch.", "") if rt.amp_dtype else "fp32"
    print(
        f"DPIG stage I, preset {p.preset}: {p.height}x{p.width}, batch {p.batch}, {rt.device.type} ({amp}), "
        f"threads {torch.get_num_threads()}"
    )
    for name, net in trainer.nets.items():
        print(f"  {name:<14}{count_parameters(net):>14,} params")
    print(f"{'what':<44}{'value':>30}")
    print(f"{'stage-I step (D + encoder/decoder + pose AE)':<44}{step_s:>29.2f}s")
    print(f"{'memory':<44}{mem:>30}")
    print(
        f"DPIG stage-I step at {p.height}x{p.width} batch {p.batch} on {rt.device.type}: {step_s:.2f} s, {mem}"
    )


if __name__ == "__main__":
    main()
