"""`adgen sample dcgan` (the training command comes from the model's SPEC)."""

from __future__ import annotations

from pathlib import Path

import typer


def sample_command(
    checkpoint: Path = typer.Option(..., "--checkpoint", help="a DCGAN checkpoint-*.pt or its run dir"),
    seeds: str = typer.Option("0-63", "--seeds", help="e.g. 0-63 or 1,5,9"),
    output: Path = typer.Option(Path("grid.png"), "-o", "--output", help="grid PNG to write"),
    device: str = typer.Option("cpu", "--device"),
) -> None:
    """Write a grid of new people, one per seed (same seed → same person)."""
    from adgen import atomic
    from adgen.models.dcgan.train import generate, load_generator
    from adgen.models.stylegan2.cli import parse_seeds
    from adgen.models.stylegan2.train import image_grid
    from adgen.training.dist import resolve_device

    chosen = parse_seeds(seeds)  # before loading: a typo costs no checkpoint read
    G, _, _ = load_generator(checkpoint, resolve_device(device, "--device"))
    images = generate(G, chosen)
    with atomic.atomic_path(output) as tmp:
        image_grid(images).save(tmp, format="PNG")
    print(f"wrote {len(images)} samples to {output}")
