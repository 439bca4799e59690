"""PIDM as the project sees it (see adgen/models/registry.py): `adgen train pidm`, train.pidm, the
report's panel, and approach 3 of `adgen generate` (StyleGAN2's new person re-posed by PIDM). torch
loads only inside the functions."""

from __future__ import annotations

from typing import Any

from adgen.models.pidm.config import LOSS_COLUMNS, PRESETS, PidmParams
from adgen.models.registry import ModelSpec, TrainJob
from adgen.models.roles import PoseTransfer


def networks(options: PidmParams) -> dict[str, Any]:
    """The network and its six official parts, counted on the meta device (no memory, no init)."""
    import torch
    from torch import nn

    from adgen.models.pidm.model import PidmUNet

    with torch.device("meta"):
        net = PidmUNet(options)
    return {
        "PIDM": net,
        "PIDM.time_embed": net.time_embed,
        "PIDM.input_blocks": nn.ModuleList([net.stem, *net.input_blocks]),
        "PIDM.middle_block": net.middle,
        "PIDM.output_blocks": net.output_blocks,
        "PIDM.out": nn.ModuleList([net.out_norm, net.out_conv]),
        "PIDM.texture_encoder": net.encoder,
    }


def preflight(job: TrainJob) -> None:
    from adgen.models.pidm.train import preflight as check

    check(job.options)


def train(job: TrainJob):
    from adgen.models.pidm.train import train as train_pidm

    return train_pidm(job)


def load(checkpoint, device: str):
    """Our training checkpoint (file or run dir) or the official EMA weights (docs/pidm.md)."""
    from adgen.models.pidm.api import load_pose_transfer

    return load_pose_transfer(checkpoint, device)


def kind():
    from adgen.models.pidm.train import KIND

    return KIND


def extra_commands(groups) -> None:
    from adgen.models.pidm.cli import register

    register(groups)


SPEC = ModelSpec(
    name="pidm",
    title="PIDM",
    summary="pose-guided diffusion: texture encoder + UNet with cross-attention, DDIM sampling (resumes a run dir)",
    params_section=PidmParams,
    presets=PRESETS,
    networks=networks,
    train=train,
    run_name=lambda o: f"pidm-{o.height}x{o.width}-{o.preset}",
    loss_columns=LOSS_COLUMNS,
    path_options=("dataset",),
    preflight=preflight,
    sample_globs=("samples/*.png",),
    extra_commands=extra_commands,  # `adgen evaluate pidm`: quality and speed against the DDIM steps
    # approach 3 of `adgen generate`: StyleGAN2's new person, re-posed by PIDM
    role=PoseTransfer(load=load, kind=kind, approach="3", people_from="stylegan2"),
)
