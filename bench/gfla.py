"""GFLA at the official setting (256x256, batch 4): generator forward+backward time and memory, and
the pure-PyTorch local attention's share of that step.

    .venv/bin/python bench/gfla.py [--device cpu|cuda] [--batch 4] [--size 256] [--repeats 3]

The attention share is measured by running the two attention blocks alone (forward+backward) on the
exact tensors they see inside the step (source features, target features, flow), and dividing by the
whole generator step. The step's loss is L1 on the image plus the flows (no VGG: its cost does not
depend on how attention is implemented). Prints a table; the last line is the headline ratio.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from adgen.models.gfla.config import GflaParams
from adgen.models.gfla.model import PoseGenerator, count_parameters
from adgen.models.registry import with_preset


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)

    p = with_preset(GflaParams(), "deepfashion256").model_copy(
        update={"height": args.size, "width": args.size}
    )
    g = PoseGenerator(p).to(device).train()
    b, s = args.batch, args.size
    src = torch.rand(b, 3, s, s, device=device) * 2 - 1
    tgt = torch.rand(b, 3, s, s, device=device) * 2 - 1
    bp1 = torch.rand(b, 18, s, s, device=device)
    bp2 = torch.rand(b, 18, s, s, device=device)

    captured: dict[str, tuple] = {}

    def keep(name):
        def hook(module, inputs, output):
            captured[name] = tuple(t.detach() for t in inputs)

        return hook

    handles = [
        getattr(g.target, f"attn{i}").register_forward_hook(keep(f"attn{i}")) for i in g.target.attn_at
    ]

    def step() -> None:
        g.zero_grad(set_to_none=True)
        image, flows, _ = g(src, bp1, bp2)
        loss = (image - tgt).abs().mean() + sum(f.abs().mean() for f in flows)
        loss.backward()

    base_rss = _rss_mib()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    step()  # warm-up (and captures the attention inputs)
    for h in handles:
        h.remove()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(args.repeats):
        step()
    _sync(device)
    step_s = (time.perf_counter() - t0) / args.repeats
    mem = (
        f"{torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB peak allocated"
        if device.type == "cuda"
        else f"{_rss_mib() - base_rss:,.0f} MiB peak RSS growth"
    )

    def attention_only(name: str) -> None:
        fs, ft, fl = (t.clone().requires_grad_(True) for t in captured[name])
        getattr(g.target, name)(fs, ft, fl).abs().mean().backward()

    per_block = {}
    for name in captured:
        attention_only(name)  # warm-up
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(args.repeats):
            attention_only(name)
        _sync(device)
        per_block[name] = (time.perf_counter() - t0) / args.repeats
    attn_s = sum(per_block.values())

    print(
        f"GFLA generator ({count_parameters(g):,} params), {s}x{s}, batch {b}, {device.type}, threads {torch.get_num_threads()}"
    )
    print(f"{'what':<52}{'seconds':>10}")
    print(f"{'generator forward+backward (one step)':<52}{step_s:>10.3f}")
    for name, secs in per_block.items():
        k = getattr(g.target, name).kernel_size
        shape = "x".join(str(d) for d in captured[name][0].shape[1:])
        print(f"{'  local attention ' + name + f' alone (k {k}, {shape})':<52}{secs:>10.3f}")
    print(f"{'  local attention, both blocks':<52}{attn_s:>10.3f}")
    print(f"{'memory':<52}{mem:>10}")
    print(f"local attention share of the generator step: {attn_s / step_s:.1%}")


if __name__ == "__main__":
    main()
