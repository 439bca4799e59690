"""PIDM's own command: `adgen evaluate pidm` (quality and speed against the DDIM step count),
registered through the declaration (spec.py `extra_commands`); `adgen train pidm` comes from the
registry.
"""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params


def evaluate_pidm_command(
    ctx: typer.Context,
    checkpoint: Path | None = typer.Option(
        None,
        "--checkpoint",
        help="PIDM checkpoint or run dir (default generate.checkpoints.pidm / newest run)",
    ),
    steps: str | None = typer.Option(
        None, "--steps", help="DDIM step counts, e.g. 1000,100,50,25 (default train.pidm.eval_steps)"
    ),
    pairs: int | None = typer.Option(
        None, "--pairs", min=1, help="held-out pairs, the same at every count (default train.pidm.eval_pairs)"
    ),
    device: str | None = typer.Option(
        None, "--device", help="auto | cpu | cuda[:N] (default train.pidm.device: where PIDM runs)"
    ),
) -> None:
    """PIDM against the DDIM step count on the held-out (test) pairs, same poses and noise at every
    count: SSIM/LPIPS/FID to the real target, difference to the largest count, images/s →
    <paths.metrics>/pidm_steps.json (+ .info.json, pidm_steps_grid.png)."""
    from adgen import atomic
    from adgen.metrics.pairs import pair_metric_files
    from adgen.models.pidm.api import load_pose_transfer
    from adgen.models.pidm.diffusion import Guidance
    from adgen.models.pidm.evaluate import evaluate_steps, parse_steps, table
    from adgen.models.pidm.spec import SPEC
    from adgen.models.registry import checkpoint_of, with_preset
    from adgen.stage_metrics import write_training_outputs
    from adgen.training.dist import resolve_device

    p = params(ctx)
    pp = with_preset(p.train.pidm)
    path = checkpoint_of(SPEC, p, checkpoint)
    dev = resolve_device(device or pp.device, "--device" if device else "train.pidm.device")
    transfer = load_pose_transfer(path, dev)
    guidance = Guidance(style=pp.guidance_style, pose=pp.guidance_pose)
    result, board = evaluate_steps(
        transfer,
        p.path(pp.dataset),
        pp,
        parse_steps(steps) if steps is not None else pp.eval_steps,
        pairs or pp.eval_pairs,
        guidance,
        pair_metric_files(p),
        seed=pp.seed,
        batch=pp.eval_batch,
        setting="--steps" if steps is not None else "train.pidm.eval_steps",
        clip_x0=pp.sample_clip_x0,
    )
    metrics = p.path(p.paths.metrics)
    grid_path = metrics / "pidm_steps_grid.png"
    info = {
        "checkpoint": str(path),
        "device": str(transfer.device),
        "guidance": f"style {guidance.style}, pose {guidance.pose}",
        "clip_x0": pp.sample_clip_x0,
        "seeds": f"pair i: {pp.seed} + i",
        "batch": pp.eval_batch,
        "grid": str(grid_path),
    }
    out = write_training_outputs(metrics, "pidm_steps", {**result, **info})["metrics"]
    with atomic.atomic_path(grid_path) as tmp:
        board.save(tmp, format="PNG")
    print(table(result))
    print(f"→ {out}, {grid_path}")


def register(groups: CliGroups) -> None:
    groups.evaluate.command("pidm")(evaluate_pidm_command)
