"""DCGAN, declared once for the CLI, params, DVC/Prefect and the report (see adgen.models.registry)."""

from __future__ import annotations

from adgen.models.dcgan.cli import sample_command
from adgen.models.dcgan.config import LOSS_COLUMNS, PRESETS, DcganParams
from adgen.models.registry import ModelSpec
from adgen.models.roles import PeopleGenerator


def _networks(options: DcganParams) -> dict:
    from adgen.models.dcgan.model import build

    G, D = build(options)
    return {"G": G, "D": D}


def _train(job):
    from adgen.models.dcgan.train import train

    return train(job)


def _run_name(options: DcganParams) -> str:
    from adgen.models.dcgan.train import run_name

    return run_name(options)


def _preflight(job) -> None:
    """The training zip exists and reads, before a run dir is made."""
    from adgen.models.dcgan.data import FramedImages

    FramedImages(job.options.dataset, job.options.resolution, job.options.mirror)


def _load(checkpoint, device: str):
    from adgen.models.dcgan.api import load_sampler

    return load_sampler(checkpoint, device)


def _kind():
    from adgen.models.dcgan.train import KIND

    return KIND


SPEC = ModelSpec(
    name="dcgan",
    title="DCGAN",
    summary="DCGAN baseline (Radford et al. 2016): new people at 64x64, 128x128 or 128x64",
    params_section=DcganParams,
    presets=PRESETS,
    networks=_networks,
    train=_train,
    run_name=_run_name,
    loss_columns=LOSS_COLUMNS,
    path_options=("dataset",),
    preflight=_preflight,
    sample_command=sample_command,
    sample_globs=("fakes-*.png",),
    role=PeopleGenerator(load=_load, kind=_kind),
)
