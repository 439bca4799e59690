"""The generators under comparison, each behind one small interface, found from their checkpoints.

- unconditional (DCGAN, StyleGAN2 alone): `people(seeds)` → one person per seed;
- pose-controlled (approach 1: StyleGAN2 → GFLA; approach 2: DPIG): `posed(keypoints, seeds)` →
  one person per seed in the target pose (keypoints normalised to the generator's own frame).

A generator without a checkpoint is reported as "not trained" with the command that trains it;
one whose inputs are missing (e.g. approach 1 without a pose model) as "unavailable" with why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from adgen.errors import UserError

ORDER = ("dcgan", "stylegan2", "approach1", "approach2")
LABELS = {
    "dcgan": "DCGAN",
    "stylegan2": "StyleGAN2 alone",
    "approach1": "Approach 1: StyleGAN2 → GFLA",
    "approach2": "Approach 2: DPIG (pose-conditioned)",
}
TRAIN_COMMANDS = {
    "dcgan": "adgen train dcgan",
    "stylegan2": "adgen train stylegan2",
    "approach1": "adgen train stylegan2 && adgen train gfla",
    "approach2": "adgen train dpig",
}


@dataclass
class Candidate:
    """A loaded generator: exactly one of `people` / `posed` is set."""

    name: str
    frame: tuple[int, int]  # (height, width) of its images
    checkpoints: dict[str, str]
    people: Callable[[list[int]], list[Image.Image]] | None = None
    posed: Callable[[Any, list[int]], list[Image.Image]] | None = None

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)

    @property
    def pose_controlled(self) -> bool:
        return self.posed is not None


@dataclass
class Missing:
    """A generator that could not take part, and what to do about it."""

    name: str
    status: str  # "not trained" | "unavailable"
    reason: str
    command: str | None = None


def _checkpoint(explicit: Path | None, models_root: Path, model: str) -> Path:
    from adgen.generate.chain import resolve_checkpoint

    return resolve_checkpoint(explicit, models_root, model)


def load_dcgan(ckpt: Path, device: str) -> Candidate:
    from adgen.models.dcgan.api import load_sampler

    s = load_sampler(ckpt, device)
    return Candidate("dcgan", s.resolution, {"dcgan": str(s.checkpoint)}, people=s.sample)


def load_stylegan2(ckpt: Path, device: str, truncation: float) -> Candidate:
    from adgen.models.stylegan2.api import load_sampler

    s = load_sampler(ckpt, device)
    return Candidate(
        "stylegan2", s.resolution, {"stylegan2": str(ckpt)}, people=lambda seeds: s.sample(seeds, truncation)
    )


def load_approach1(sg_ckpt: Path, gfla_ckpt: Path, estimator, device: str, truncation: float) -> Candidate:
    """StyleGAN2 makes the person, the pose model reads its pose, GFLA moves it to the target pose —
    the first two steps of the ad chain (`adgen.generate.chain`), without the bag."""
    from adgen.models.gfla.api import load_pose_transfer
    from adgen.models.stylegan2.api import load_sampler

    sampler = load_sampler(sg_ckpt, device)
    transfer = load_pose_transfer(gfla_ckpt, device)

    def posed(keypoints, seeds: list[int]) -> list[Image.Image]:
        out = []
        for seed in seeds:
            person = sampler.sample([seed], truncation)[0].convert("RGB")
            out.append(transfer.transfer(person, estimator.estimate(person), keypoints))
        return out

    return Candidate(
        "approach1", sampler.resolution, {"stylegan2": str(sg_ckpt), "gfla": str(gfla_ckpt)}, posed=posed
    )


def load_approach2(ckpt: Path, device: str) -> Candidate:
    from adgen.models.dpig.api import load_sampler

    s = load_sampler(ckpt, device)
    return Candidate("approach2", tuple(s.resolution), {"dpig": str(ckpt)}, posed=s.sample)


def find_generators(params, cp, estimator, estimator_error: str | None) -> list[Candidate | Missing]:
    """Every generator of the comparison, loaded, or Missing with the reason (in ORDER)."""
    models_root = params.path(params.paths.models)
    explicit = {
        m: (params.path(p) if p is not None else None)
        for m, p in (
            ("dcgan", cp.dcgan_checkpoint),
            ("stylegan2", cp.stylegan2_checkpoint),
            ("gfla", cp.gfla_checkpoint),
            ("dpig", cp.dpig_checkpoint),
        )
    }
    found: list[Candidate | Missing] = []

    def checkpoint_or_missing(name: str, model: str) -> Path | Missing:
        try:
            return _checkpoint(explicit[model], models_root, model)
        except UserError as exc:
            return Missing(name, "not trained", str(exc), TRAIN_COMMANDS[name])

    for name in ORDER:
        if name == "approach2":
            try:
                import adgen.models.dpig.api  # noqa: F401
            except ModuleNotFoundError as exc:
                if exc.name in ("adgen.models.dpig", "adgen.models.dpig.api"):
                    found.append(
                        Missing(name, "not trained", "the DPIG model is not built yet", TRAIN_COMMANDS[name])
                    )
                    continue
                raise
        needed = {"dcgan": ["dcgan"], "stylegan2": ["stylegan2"], "approach1": ["stylegan2", "gfla"],
                  "approach2": ["dpig"]}[name]  # fmt: skip
        paths = [checkpoint_or_missing(name, m) for m in needed]
        missing = next((p for p in paths if isinstance(p, Missing)), None)
        if missing is not None:
            found.append(missing)
            continue
        if name == "approach1" and estimator is None:
            found.append(Missing(name, "unavailable", f"needs the pose model: {estimator_error}"))
            continue
        try:
            if name == "dcgan":
                found.append(load_dcgan(paths[0], cp.device))
            elif name == "stylegan2":
                found.append(load_stylegan2(paths[0], cp.device, cp.truncation))
            elif name == "approach1":
                found.append(load_approach1(paths[0], paths[1], estimator, cp.device, cp.truncation))
            else:
                found.append(load_approach2(paths[0], cp.device))
        except UserError as exc:  # a checkpoint that does not load: say so in the table, go on
            found.append(Missing(name, "unavailable", str(exc), TRAIN_COMMANDS[name]))
    return found
