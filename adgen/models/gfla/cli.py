"""`adgen train gfla`: the two-stage GFLA training as one command (resumes a run dir after a kill)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from adgen.clikit import CliGroups, params


def resolved_params(ctx: typer.Context, preset: str | None):
    """train.gfla with the preset applied and its paths resolved against the project root."""
    from adgen.models.gfla.config import resolve

    p = params(ctx)
    gp = resolve(p.train.gfla, preset)
    update = {"dataset": p.path(gp.dataset)}
    for key in ("vgg19_weights", "lpips_weights", "lpips_alexnet_weights"):
        if getattr(gp, key) is not None:
            update[key] = p.path(getattr(gp, key))
    return p, gp.model_copy(update=update)


def describe(gp) -> dict:
    from adgen.models.gfla.model import PoseGenerator, ResDiscriminator, count_parameters

    g, d = PoseGenerator(gp), ResDiscriminator(gp)
    return {
        "options": gp.model_dump(mode="json"),
        "generator_parameters": count_parameters(g),
        "source_parameters": count_parameters(g.source),
        "target_parameters": count_parameters(g.target),
        "flow_parameters": count_parameters(g.flow_net),
        "discriminator_parameters": count_parameters(d),
    }


def train_command(
    ctx: typer.Context,
    preset: str | None = typer.Option(
        None, "--preset", help="deepfashion256 | p128 | demo (default: params.yaml)"
    ),
    run_dir: Path | None = typer.Option(
        None, "--run-dir", help="resume/continue this run dir (default: a new one)"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the resolved options and parameter counts"),
) -> None:
    """Train GFLA: stage 1 the flow estimator, stage 2 the whole generator against D."""
    p, gp = resolved_params(ctx, preset)
    if dry_run:
        print(json.dumps(describe(gp), indent=2))
        return
    from adgen.models.gfla.train import preflight, train
    from adgen.training import rundir

    preflight(gp, gp.dataset)
    if run_dir is None:
        run_dir = rundir.next_run_dir(
            p.path(p.paths.models) / "gfla", f"gfla-{gp.height}x{gp.width}-{gp.preset}"
        )
    result = train(gp, gp.dataset, run_dir, metrics_dir=p.path(p.paths.metrics))
    if result.checkpoint is not None:  # the main process (DDP: rank 0) writes the checkpoints
        print(f"trained GFLA to step {result.step}: {result.checkpoint}")


def register(groups: CliGroups) -> None:
    groups.train.command("gfla")(train_command)
