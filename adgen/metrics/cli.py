"""`adgen evaluate images`: IS and FID of a folder/zip of images, written as DVC metrics JSON."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params


def evaluate_images(
    ctx: typer.Context,
    fake: Path = typer.Option(..., "--fake", help="generated images: a folder or an NVlabs zip"),
    real: Path | None = typer.Option(None, "--real", help="real images for FID (folder or zip)"),
    name: str = typer.Option("images", "--name", help="writes <paths.metrics>/<name>.json"),
    no_is: bool = typer.Option(False, "--no-is", help="skip the Inception Score"),
) -> None:
    """Inception Score of --fake and, with --real, FID between them."""
    from adgen.metrics.fid import fid
    from adgen.metrics.inception_score import inception_score

    p = params(ctx)
    m = p.metrics
    result: dict[str, float | int | str] = {"fake": str(fake)}
    if not no_is:
        weights = p.path(m.inception_v3_weights) if m.inception_v3_weights else None
        score = inception_score(fake, weights, splits=m.is_splits, batch_size=m.batch_size)
        result.update(inception_score=score.mean, inception_score_std=score.std)
    if real is not None:
        graph = p.path(m.fid_inception_graph) if m.fid_inception_graph else None
        result.update(fid=fid(real, fake, graph, batch_size=m.batch_size, limit=m.fid_images), real=str(real))
    from adgen.stage_metrics import write_training_outputs

    # numbers in <name>.json (what DVC compares); the image paths in <name>.info.json
    out = write_training_outputs(p.path(p.paths.metrics), name, result)["metrics"]
    shown = ", ".join(f"{k} {v:.4g}" for k, v in result.items() if isinstance(v, float))
    print(f"{shown} → {out}")


def register(groups: CliGroups) -> None:
    groups.evaluate.command("images")(evaluate_images)
