"""The generators under comparison, each behind one small interface, found from their checkpoints.

Which generators there are comes from the model declarations (adgen.models.roles):
- unconditional (every people generator alone: DCGAN, StyleGAN2): `people(seeds)` → one person per seed;
- pose-controlled (every chain of `adgen generate`, `registry.chains()`: the declared approaches 1,
  StyleGAN2 → GFLA; 2, DPIG; 3, StyleGAN2 → PIDM; then every other people generator × pose transfer
  pair, e.g. DCGAN → GFLA under the key `dcgan_gfla`): `posed(keypoints, seeds)` → one person per
  seed in the target pose (keypoints normalised to the generator's own frame).

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
from adgen.models.registry import Approach, ModelSpec, approaches, chains, with_role
from adgen.models.roles import PeopleGenerator


@dataclass(frozen=True)
class Entry:
    """One generator of the comparison, derived from the model declarations: every people generator
    alone, then every chain of `adgen generate` (adgen.models.registry.chains)."""

    name: str  # its key in compare.json: the model's name, approach<id>, or <people>_<transfer>
    label: str  # the table's row
    heading: str  # the grid's column
    chain: tuple[ModelSpec, ...]  # the models it runs, in order
    approach: Approach | None = None

    @property
    def command(self) -> str:
        return " && ".join(f"adgen train {spec.name}" for spec in self.chain)


def _chain_entry(a: Approach) -> Entry:
    """A row as `--approach <id>` names it ("Approach 1: StyleGAN2 → GFLA", as written before;
    "Approach dcgan-gfla: DCGAN → GFLA"); a combined chain's grid column shows its models."""
    return Entry(
        a.key,
        f"Approach {a.id}: {a.label}" + (" (pose-conditioned)" if a.pose_controlled else ""),
        f"Approach {a.id}" if a.declared else a.label,
        a.chain,
        a,
    )


def entries() -> tuple[Entry, ...]:
    # "alone" marks the people generators a declared approach re-poses (the labels as written before)
    re_posed = {a.chain[0].name for a in approaches().values() if not a.pose_controlled}
    alone = [
        Entry(spec.name, spec.label + (" alone" if spec.name in re_posed else ""), spec.label, (spec,))
        for spec in with_role(PeopleGenerator).values()
    ]
    return (*alone, *(_chain_entry(a) for a in chains().values()))


ENTRIES = entries()
ORDER = tuple(e.name for e in ENTRIES)
LABELS = {e.name: e.label for e in ENTRIES}
TRAIN_COMMANDS = {e.name: e.command for e in ENTRIES}


@dataclass
class Candidate:
    """A loaded generator: exactly one of `people` / `posed` is set."""

    name: str
    frame: tuple[int, int]  # (height, width) of its images
    checkpoints: dict[str, str]
    people: Callable[[list[int]], list[Image.Image]] | None = None
    posed: Callable[[Any, list[int]], list[Image.Image]] | None = None
    transfer: Any = None  # the chain's loaded pose transfer (PoseTransferrer), for its pair scores

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


def load(entry: Entry, paths: list[Path], estimator, device: str, truncation: float) -> Candidate:
    """The entry's models loaded (adgen.models.roles' protocols) behind the comparison's interface.
    A people generator followed by a pose transfer is the ad chain's first two steps
    (`adgen.generate.chain`) without the bag: the pose model reads the person's pose, the transfer
    moves it to the target pose."""
    loaded = [spec.role.load(path, device) for spec, path in zip(entry.chain, paths, strict=True)]
    checkpoints = {spec.name: str(path) for spec, path in zip(entry.chain, paths, strict=True)}
    frame = tuple(loaded[0].resolution)
    if entry.approach is None:
        sampler = loaded[0]
        return Candidate(
            entry.name, frame, checkpoints, people=lambda seeds: sampler.sample(seeds, truncation)
        )
    if entry.approach.pose_controlled:
        return Candidate(entry.name, frame, checkpoints, posed=loaded[0].sample)
    sampler, transfer = loaded

    def posed(keypoints, seeds: list[int]) -> list[Image.Image]:
        out = []
        for seed in seeds:
            person = sampler.sample([seed], truncation)[0].convert("RGB")
            out.append(transfer.transfer(person, estimator.estimate(person), keypoints))
        return out

    return Candidate(entry.name, frame, checkpoints, posed=posed, transfer=transfer)


def _checkpoint(spec: ModelSpec, params, cp) -> Path:
    """compare.checkpoints.<model> (file or run dir), else the model's newest run."""
    configured = cp.checkpoints.get(spec.name)
    explicit = params.path(configured) if configured is not None else None
    return spec.role.checkpoint(explicit, params.path(params.paths.models), f"compare.{spec.name}_checkpoint")


def find_generators(params, cp, estimator, estimator_error: str | None) -> list[Candidate | Missing]:
    """Every generator of the comparison, loaded, or Missing with the reason (in ORDER)."""
    found: list[Candidate | Missing] = []
    for entry in ENTRIES:
        try:
            paths = [_checkpoint(spec, params, cp) for spec in entry.chain]
        except UserError as exc:
            found.append(Missing(entry.name, "not trained", str(exc), entry.command))
            continue
        needs_pose_model = entry.approach is not None and not entry.approach.pose_controlled
        if needs_pose_model and estimator is None:
            found.append(Missing(entry.name, "unavailable", f"needs the pose model: {estimator_error}"))
            continue
        try:
            found.append(load(entry, paths, estimator, cp.device, cp.truncation))
        except UserError as exc:  # a checkpoint that does not load: say so in the table, go on
            found.append(Missing(entry.name, "unavailable", str(exc), entry.command))
    return found
