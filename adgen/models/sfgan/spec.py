"""SF-GAN's one declaration (see adgen/models/registry.py). Light to import: torch loads on use."""

from __future__ import annotations

from typing import Any

from adgen.models.registry import ModelSpec, TrainJob
from adgen.models.roles import Compositor
from adgen.models.sfgan.config import LOSS_COLUMNS, PRESETS, SfganParams


def _networks(options: SfganParams) -> dict[str, Any]:
    from adgen.models.sfgan.train import build_networks

    return build_networks(options).as_dict()


def _train(job: TrainJob):
    from adgen.models.sfgan.train import train

    return train(job)


def _preflight(job: TrainJob) -> None:
    """One-line errors before a run dir exists: the dataset and a named ST-GAN must be there."""
    from adgen.errors import UserError

    o = job.options
    if not o.index.is_file():
        raise UserError(
            f"{o.index}: SF-GAN dataset index not found (the ST-GAN dataset); build it with "
            "`adgen build-datasets` or set train.sfgan.index"
        )
    if o.stgan_checkpoint is not None and not o.stgan_checkpoint.exists():
        raise UserError(
            f"train.sfgan.stgan_checkpoint {o.stgan_checkpoint}: not found; train ST-GAN first or set it to null"
        )


def _register(groups) -> None:
    from adgen.models.sfgan.cli import register

    register(groups)


def _load(checkpoint, device: str):
    from adgen.models.sfgan.api import load_compositor

    return load_compositor(checkpoint, device)


def _kind():
    from adgen.models.sfgan.train import KIND

    return KIND


SPEC = ModelSpec(
    name="sfgan",
    title="SF-GAN",
    summary="SF-GAN: ST-GAN's placement plus an appearance synthesizer that relights the bag to the scene",
    params_section=SfganParams,
    presets=PRESETS,
    networks=_networks,
    train=_train,
    run_name=lambda o: f"sfgan-{o.height}x{o.width}-{o.preset}",
    loss_columns=LOSS_COLUMNS,
    path_options=("index", "stgan_checkpoint"),
    preflight=_preflight,
    extra_commands=_register,
    sample_globs=("samples-final.png", "samples-latest.png"),
    role=Compositor(load=_load, kind=_kind, does="placement + light"),
)
