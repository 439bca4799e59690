"""`adgen sample stylegan2` (declared in spec.py; `adgen train stylegan2` is derived from the registry)."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.errors import UserError


def parse_seeds(text: str) -> list[int]:
    """`0-63` / `1,5,9` / `0-3,10` → the list of seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = part.split("-", 1)
                seeds.extend(range(int(lo), int(hi) + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise UserError(f"--seeds {text!r}: expected e.g. 0-63 or 1,5,9") from None
    if not seeds or min(seeds) < 0:
        raise UserError(f"--seeds {text!r}: no seeds")
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

    G, _ = load_generator(checkpoint, device)
    images = generate(G, parse_seeds(seeds), truncation)
    with atomic.atomic_path(output) as tmp:
        image_grid(images).save(tmp, format="PNG")
    print(f"wrote {len(images)} samples to {output}")
