"""GFLA as the project sees it (see adgen/models/registry.py): `adgen train gfla`, train.gfla, the
report's panel. torch loads only inside the functions."""

from __future__ import annotations

from typing import Any

from adgen.models.gfla.config import LOSS_COLUMNS, PRESETS, GflaParams
from adgen.models.registry import ModelSpec, TrainJob
from adgen.models.roles import PoseTransfer


def networks(options: GflaParams) -> dict[str, Any]:
    from adgen.models.gfla.model import PoseGenerator, ResDiscriminator

    g = PoseGenerator(options)
    return {
        "G": g,
        "G.source": g.source,
        "G.target": g.target,
        "G.flow": g.flow_net,
        "D": ResDiscriminator(options),
    }


def preflight(job: TrainJob) -> None:
    from adgen.models.gfla.train import preflight as check

    check(job.options, job.options.dataset)


def train(job: TrainJob):
    from adgen.models.gfla.train import train as train_gfla

    return train_gfla(job)


def load(checkpoint, device: str):
    """Our training checkpoint (file or run dir) or the official latest_net_G.pth."""
    from adgen.models.gfla.api import load_pose_transfer

    return load_pose_transfer(checkpoint, device)


def kind():
    from adgen.models.gfla.train import KIND

    return KIND


def extra_commands(groups) -> None:
    from adgen.models.gfla.cli import register

    register(groups)


SPEC = ModelSpec(
    name="gfla",
    retrain_on_refresh=True,  # trains on the curated dataset: a refresh that grew it retrains it
    title="GFLA",
    summary="stage 1 the flow estimator, stage 2 the whole generator against D (resumes a run dir)",
    params_section=GflaParams,
    presets=PRESETS,
    networks=networks,
    train=train,
    run_name=lambda o: f"gfla-{o.height}x{o.width}-{o.preset}",
    loss_columns=LOSS_COLUMNS,
    path_options=("dataset", "vgg19_weights", "lpips_weights", "lpips_alexnet_weights"),
    preflight=preflight,
    sample_globs=("**/*.png",),
    phase_column="stage",
    extra_commands=extra_commands,  # `adgen evaluate gfla`
    # approach 1 of `adgen generate`: StyleGAN2's new person, re-posed by GFLA
    role=PoseTransfer(load=load, kind=kind, approach="1", people_from="stylegan2"),
)
