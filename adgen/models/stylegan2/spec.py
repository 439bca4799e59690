"""StyleGAN2 as the project sees it (see adgen/models/registry.py): `adgen train stylegan2`,
`adgen sample stylegan2`, train.stylegan2, the report's panel. torch loads only inside the functions."""

from __future__ import annotations

from typing import Any

from adgen.models.registry import ModelSpec, TrainJob
from adgen.models.roles import PeopleGenerator
from adgen.models.stylegan2.cli import sample_command
from adgen.models.stylegan2.config import PRESETS, StyleGAN2Params


def networks(options: StyleGAN2Params) -> dict[str, Any]:
    from adgen.models.stylegan2.train import build

    G, D = build(options)
    return {"G": G, "G.mapping": G.mapping, "G.synthesis": G.synthesis, "D": D}


def train(job: TrainJob):
    from adgen.models.stylegan2.train import train as train_stylegan2

    o = job.options
    fid_fn = None
    if o.fid_kimg > 0:
        from adgen.models.stylegan2.fid import fid_of_generator

        fid_fn = fid_of_generator(job.params.metrics, o, job.params.root)
    return train_stylegan2(o, job.run_dir, metrics_dir=job.metrics_dir, fid_fn=fid_fn)


def run_name(o: StyleGAN2Params) -> str:
    h, w = o.resolution
    return f"{o.dataset.stem}-{h}x{w}-{o.preset}"


def load(checkpoint, device: str):
    from adgen.models.stylegan2.api import load_sampler

    return load_sampler(checkpoint, device)


def kind():
    from adgen.models.stylegan2.train import KIND

    return KIND


SPEC = ModelSpec(
    name="stylegan2",
    retrain_on_refresh=True,  # trains on the curated dataset: a refresh that grew it retrains it
    title="StyleGAN2",
    summary="new full-body people from the NVlabs-format dataset zip (resumes a run dir after a kill)",
    params_section=StyleGAN2Params,
    presets=PRESETS,
    networks=networks,
    train=train,
    run_name=run_name,
    loss_columns=("loss_G", "loss_D_real", "loss_D_fake", "loss_r1", "loss_pl"),
    path_options=("dataset",),
    sample_command=sample_command,
    sample_globs=("**/*.png",),
    role=PeopleGenerator(load=load, kind=kind),
)
