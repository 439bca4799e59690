"""ST-GAN as the project sees it (see adgen/models/registry.py): `adgen train stgan`, train.stgan,
the `composite` command, the report's panel. Heavy modules (torch) load only inside the functions."""

from __future__ import annotations

from typing import Any

from adgen.models.registry import ModelSpec, TrainJob
from adgen.models.roles import Compositor
from adgen.models.stgan.config import PRESETS, StganParams


def networks(options: StganParams) -> dict[str, Any]:
    from adgen.models.stgan.train import build_networks

    gens, disc = build_networks(options)
    return {"G": gens, "G_per_warp": gens.generators[0], "D": disc}


def train(job: TrainJob):
    from adgen.models.stgan.train import train as train_stgan

    return train_stgan(job)


def extra_commands(groups) -> None:
    from adgen.models.stgan.cli import register

    register(groups)


# A run dir keeps each finished warp's state as warp-<k>.pt: the newest one is what a compositor
# uses (a periodic checkpoint may hold a half-trained next warp).
WARP_FILES = ("warp-*.pt",)


def load(checkpoint, device: str):
    from adgen.models.stgan.api import load_compositor

    return load_compositor(checkpoint, device)


def kind():
    from adgen.models.stgan.train import KIND

    return KIND


SPEC = ModelSpec(
    name="stgan",
    retrain_on_refresh=True,  # trains on the curated dataset: a refresh that grew it retrains it
    title="ST-GAN",
    summary="D alone, then warps 1..N; learns where and how a bag sits on a person",
    params_section=StganParams,
    presets=PRESETS,
    networks=networks,
    train=train,
    run_name=lambda o: f"stgan-{o.preset}",
    loss_columns=("loss_d", "loss_g"),  # the losses of loss.csv (grad_norm, w_dist, dp_norm are diagnostics)
    extra_commands=extra_commands,
    sample_globs=("**/*.png",),
    phase_column="phase",
    role=Compositor(load=load, kind=kind, finals=WARP_FILES, does="placement"),
)
