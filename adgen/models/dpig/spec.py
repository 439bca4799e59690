"""DPIG as the project sees it: `adgen train dpig`, `adgen sample dpig`, train.dpig, its DVC stage."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.models.dpig.config import PRESETS, DpigParams
from adgen.models.registry import ModelSpec
from adgen.models.roles import PoseControlledGenerator

# <paths.metrics>/dpig_loss.csv: stage I (appearance GAN, L1, pose MSE), stage II (critics, mappers)
LOSS_COLUMNS = (
    "app_d",
    "app_g",
    "l1",
    "pose_mse",
    "app_critic",
    "app_mapper",
    "bg_critic",
    "bg_mapper",
    "pose_critic",
    "pose_mapper",
)


def _networks(options: DpigParams):
    from adgen.models.dpig.train import build

    return build(options)


def _train(job):
    from adgen.models.dpig.train import train

    return train(job)


def _preflight(job) -> None:
    from adgen.models.dpig.train import preflight

    preflight(job)


def _run_name(options: DpigParams) -> str:
    from adgen.models.dpig.train import run_name

    return run_name(options)


def sample_command(
    ctx: typer.Context,
    pose: Path = typer.Option(
        ..., "--pose", help="the pose: keypoint JSON (18 OpenPose points as x, y, conf)"
    ),
    n: int = typer.Option(4, "--n", help="how many new people (seeds seed … seed+n-1)"),
    seed: int = typer.Option(
        0, "--seed", min=0, max=2**32 - 1, help="first seed; the same seed gives the same person"
    ),
    checkpoint: Path | None = typer.Option(
        None,
        "--checkpoint",
        help="DPIG checkpoint or run dir (default generate.checkpoints.dpig / newest run)",
    ),
    output: Path = typer.Option(..., "-o", "--output", help="output folder"),
) -> None:
    """N new people drawn straight into the pose (noise → appearance mapper → pose-conditioned decoder)."""
    from adgen import atomic
    from adgen.clikit import params
    from adgen.errors import UserError
    from adgen.models.dpig.api import load_sampler
    from adgen.models.registry import checkpoint_of
    from adgen.pose.contract import IMAGE_SUFFIXES, draw_pose, read_pose

    if n < 1:
        raise UserError("--n must be at least 1")
    if seed < 0:
        raise UserError("--seed must be 0 or more")
    if pose.suffix.lower() in IMAGE_SUFFIXES:
        raise UserError(f"--pose {pose}: give a keypoint JSON file (18 OpenPose points as x, y, conf)")
    requested = read_pose(pose, (1, 1))  # check the pose before loading any model
    p = params(ctx)
    sampler = load_sampler(checkpoint_of(SPEC, p, checkpoint))
    h, w = sampler.resolution
    output.mkdir(parents=True, exist_ok=True)
    seeds = list(range(seed, seed + n))
    for s, img in zip(seeds, sampler.sample(requested, seeds), strict=True):
        with atomic.atomic_path(output / f"person-{s}.png") as tmp:
            img.save(tmp, format="PNG")
    with atomic.atomic_path(output / "pose.png") as tmp:
        draw_pose(requested, (w, h)).save(tmp, format="PNG")
    print(f"{n} new people in the pose of {pose} → {output} ({w}x{h}, {sampler.path.name})")


def _load(checkpoint, device: str):
    from adgen.models.dpig.api import load_sampler

    return load_sampler(checkpoint, device)


def _kind():
    from adgen.models.dpig.train import KIND

    return KIND


SPEC = ModelSpec(
    name="dpig",
    title="DPIG",
    summary="Disentangled Person Image Generation: new people sampled straight into a chosen pose",
    params_section=DpigParams,
    presets=PRESETS,
    networks=_networks,
    train=_train,
    run_name=_run_name,
    loss_columns=LOSS_COLUMNS,
    preflight=_preflight,
    sample_command=sample_command,
    sample_globs=("samples/*.png",),
    phase_column="stage",
    # approach 2 of `adgen generate`: a new person drawn straight into the requested pose
    role=PoseControlledGenerator(load=_load, kind=_kind, approach="2"),
    pose_gate="min_keypoints",  # the report's pose panel counts people below it
)
