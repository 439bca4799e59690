"""SF-GAN's own commands: `adgen evaluate composites` (ST-GAN vs SF-GAN on the same inputs).

`adgen train sfgan` comes from the model declaration (spec.py) through the registry.
"""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params


def evaluate_composites_command(
    ctx: typer.Context,
    stgan: Path | None = typer.Option(
        None, "--stgan", help="ST-GAN checkpoint or run dir (default: newest run)"
    ),
    sfgan: Path | None = typer.Option(
        None, "--sfgan", help="SF-GAN checkpoint or run dir (default: newest run)"
    ),
    index: Path | None = typer.Option(None, "--index", help="dataset index (default: train.stgan.index)"),
    count: int = typer.Option(64, "--count", min=1, max=100_000, help="person/bag pairs to composite"),
    seed: int = typer.Option(
        0, "--seed", min=0, max=2**32 - 1, help="start placement of pair i uses seed + i"
    ),
    device: str = typer.Option("cpu", "--device"),
) -> None:
    """ST-GAN and SF-GAN on the same people, bags and seeds: FID, placement error, colour consistency, a grid."""
    from adgen.models.registry import get
    from adgen.models.sfgan.evaluate import evaluate_composites
    from adgen.training.dist import resolve_device

    p = params(ctx)
    models = p.path(p.paths.models)
    found = {  # the given file or run dir, else the newest run: adgen.training.checkpoints
        name: get(name).role.checkpoint(given, models, f"--{name}")
        for name, given in (("stgan", stgan), ("sfgan", sfgan))
    }
    graph = p.path(p.metrics.fid_inception_graph) if p.metrics.fid_inception_graph else None
    values = evaluate_composites(
        found["stgan"],
        found["sfgan"],
        p.path(index if index is not None else p.train.stgan.index),
        p.root,
        p.path(p.paths.metrics),
        graph,
        count=count,
        seed=seed,
        device=resolve_device(device, "--device"),
    )
    for name in ("stgan", "sfgan"):
        shown = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in values[name].items()
            if k != "checkpoint"
        )
        print(f"{name}: {shown}")
    print(f"grid: {values['grid']}")


def register(groups: CliGroups) -> None:
    """Adds `composites` to the `adgen evaluate` group."""
    groups.evaluate.command("composites")(evaluate_composites_command)
