"""`adgen sample stylegan2` (declared in spec.py; `adgen train stylegan2` is derived from the registry)."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.errors import UserError

MAX_SEED = 2**32 - 1  # numpy's RandomState takes seeds below 2**32
MAX_SEEDS = 4096  # one grid; a typo such as 0-99999999999 must not build a list of 10**11 seeds


def parse_seeds(text: str) -> list[int]:
    """`0-63` / `1,5,9` / `0-3,10` → the list of seeds."""
    shown = text[:40]
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi - lo + 1 > MAX_SEEDS - len(seeds):
                    raise UserError(f"--seeds {shown!r}: more than {MAX_SEEDS} seeds; sample fewer at a time")
                seeds.extend(range(lo, hi + 1))
            elif part:
                seeds.append(int(part))
            if len(seeds) > MAX_SEEDS:
                raise UserError(f"--seeds {shown!r}: more than {MAX_SEEDS} seeds; sample fewer at a time")
    except ValueError:
        raise UserError(f"--seeds {shown!r}: expected e.g. 0-63 or 1,5,9") from None
    if not seeds:
        raise UserError(f"--seeds {shown!r}: no seeds")
    if min(seeds) < 0 or max(seeds) > MAX_SEED:
        raise UserError(f"--seeds {shown!r}: seeds must be 0 … {MAX_SEED}")
    return seeds


def sample_command(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="a StyleGAN2 checkpoint-*.pt"),
    seeds: str = typer.Option("0-63", "--seeds", help="e.g. 0-63 or 1,5,9"),
    truncation: float = typer.Option(1.0, "--truncation", help="psi: 1 = no truncation, 0.7 typical"),
    output: Path = typer.Option(Path("grid.png"), "-o", "--output", help="grid PNG to write"),
    device: str = typer.Option("cpu", "--device"),
) -> None:
    """Write a grid of new people, one per seed (same seed → same person)."""
    from adgen import atomic
    from adgen.models.stylegan2.train import generate, image_grid, load_generator
    from adgen.training.dist import resolve_device

    chosen = parse_seeds(seeds)  # before loading: a typo costs no checkpoint read
    G, _ = load_generator(checkpoint, resolve_device(device, "--device"))
    images = generate(G, chosen, truncation)
    with atomic.atomic_path(output) as tmp:
        image_grid(images).save(tmp, format="PNG")
    print(f"wrote {len(images)} samples to {output}")
