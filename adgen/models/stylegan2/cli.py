"""`adgen train stylegan2` and `adgen sample stylegan2`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from adgen.clikit import CliGroups, params
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


def train_command(
    ctx: typer.Context,
    preset: str | None = typer.Option(None, "--preset", help="paper | auto | demo (default: params.yaml)"),
    run_dir: Path | None = typer.Option(
        None, "--run-dir", help="resume/continue this run dir (default: a new numbered one)"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the resolved config and parameter counts"),
) -> None:
    """Train StyleGAN2 on the NVlabs-format dataset zip (resumes a run dir after a kill)."""
    from adgen.models.stylegan2.config import resolved

    p = params(ctx)
    sg = resolved(p.train.stylegan2, preset)
    sg = sg.model_copy(update={"dataset": p.path(sg.dataset)})
    if dry_run:
        from adgen.models.stylegan2.train import describe

        print(json.dumps(describe(sg), indent=2))
        return
    from adgen.models.stylegan2.train import train
    from adgen.training import rundir

    if run_dir is None:
        h, w = sg.resolution
        run_dir = rundir.next_run_dir(
            p.path(p.paths.models) / "stylegan2", f"{sg.dataset.stem}-{h}x{w}-{sg.preset}"
        )
    fid_fn = None
    if sg.fid_kimg > 0:
        from adgen.metrics.training import fid_of_generator

        fid_fn = fid_of_generator(p.metrics, sg, p.root)
    result = train(sg, run_dir, metrics_dir=p.path(p.paths.metrics), fid_fn=fid_fn)
    print(f"trained {result.steps} steps ({result.kimg:g} kimg): {result.checkpoint}")


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


def register(groups: CliGroups) -> None:
    groups.train.command("stylegan2")(train_command)
    groups.sample.command("stylegan2")(sample_command)
