"""GFLA's own command: `adgen evaluate gfla` (SSIM, FID and LPIPS on the held-out pairs), registered
through the declaration (spec.py `extra_commands`); `adgen train gfla` comes from the registry.
"""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params


def evaluate_gfla_command(
    ctx: typer.Context,
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="GFLA checkpoint (default generate.checkpoints.gfla / newest run)"
    ),
    pairs: int | None = typer.Option(
        None, "--pairs", help="held-out pairs to score (default train.gfla.eval_pairs)"
    ),
) -> None:
    """SSIM, FID and LPIPS of GFLA on the held-out (test) pairs → <paths.metrics>/gfla_eval.json."""
    from adgen.metrics.pairs import pair_metric_files, score_pairs
    from adgen.models.gfla.api import load_pose_transfer
    from adgen.models.gfla.evaluate import gfla_held_out
    from adgen.models.gfla.spec import SPEC
    from adgen.models.registry import checkpoint_of, with_preset

    p = params(ctx)
    gp = with_preset(p.train.gfla)
    path = checkpoint_of(SPEC, p, checkpoint)
    transfer = load_pose_transfer(path, p.generate.device)
    generated, real = gfla_held_out(transfer, p.path(gp.dataset), gp, pairs or gp.eval_pairs)
    result = {"checkpoint": str(path), **score_pairs(generated, real, pair_metric_files(p, gp))}
    from adgen.stage_metrics import write_training_outputs

    # numbers (the DVC metric) in gfla_eval.json; the checkpoint and "skipped" reasons in .info.json
    out = write_training_outputs(p.path(p.paths.metrics), "gfla_eval", result)["metrics"]
    print(", ".join(f"{k} {v:.4g}" for k, v in result.items() if isinstance(v, float)) + f" → {out}")


def register(groups: CliGroups) -> None:
    groups.evaluate.command("gfla")(evaluate_gfla_command)
