"""What a model is to the rest of the project, and how to load a trained one for that part.

A model's declaration (`SPEC.role`, adgen/models/<name>/spec.py) names one of four roles:

- `PeopleGenerator` (StyleGAN2, DCGAN): seed → a new person;
- `PoseControlledGenerator` (DPIG): seed + pose → a new person in that pose;
- `PoseTransfer` (GFLA): person + pose → that person in the pose; it re-poses the people of the
  generator it names (`people_from`);
- `Compositor` (ST-GAN, SF-GAN): person + bag → the ad.

Each role carries the model's loader (`load(checkpoint, device)`, a file or run dir) returning an
object that implements the role's protocol below, and how its checkpoints are found (`kind`,
`finals`, see adgen.training.checkpoints). A pose-controlled generator and a pose transfer each make
one *approach* of `adgen generate --approach` (its id, e.g. "1"); `adgen generate`, `adgen evaluate
compare` and the report find the models they run by role (adgen.models.registry), never by name.

This module sits below generate, compare and report and imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image


# -- what a loaded model does, per role ------------------------------------------------------------------
@runtime_checkable
class PeopleSampler(Protocol):
    """New people, one per seed; the same seed (and truncation) always gives the same image."""

    @property
    def resolution(self) -> tuple[int, int]: ...  # (height, width) of every sample

    def sample(self, seeds: list[int], truncation: float = 1.0) -> list[Image.Image]: ...


@runtime_checkable
class PosedPeopleSampler(Protocol):
    """New people drawn straight into a pose: (18, 3) OpenPose keypoints normalised to the frame."""

    @property
    def resolution(self) -> tuple[int, int]: ...

    def sample(self, keypoints: np.ndarray, seeds: list[int]) -> list[Image.Image]: ...


@runtime_checkable
class PoseTransferrer(Protocol):
    """The person of `source` moved into the pose `target_kp` (both normalised to `source`)."""

    @property
    def size(self) -> tuple[int, int]: ...  # (height, width) the network runs at

    def transfer(self, source: Image.Image, source_kp: np.ndarray, target_kp: np.ndarray) -> Image.Image: ...


class Composite(Protocol):
    image: Image.Image  # the ad (RGB, the model's resolution)
    per_warp: list[Image.Image]  # the bag at its start and after each placement step
    params: list[list[float]]  # the placement parameters of each step


@runtime_checkable
class BagCompositor(Protocol):
    """The bag placed on the person (`seed` None: from the canonical centre; an int: a drawn start)."""

    @property
    def resolution(self) -> tuple[int, int]: ...

    def composite(self, person: Image.Image, bag: Image.Image, seed: int | None = None) -> Composite: ...

    def write_gif(
        self, person: Image.Image, bag: Image.Image, path: Path, seed: int | None = None
    ) -> None: ...


# -- what a declaration says -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Role:
    """A model's part in the product and how to load a trained one for it."""

    load: Callable[[Path, str], Any]  # (checkpoint file or run dir, device) -> an object of `protocol`
    kind: Callable[[], Any]  # -> the model's CheckpointKind (lazily: it lives beside torch)
    finals: Sequence[str] = ()  # run-dir files preferred to checkpoint-*.pt (ST-GAN's "warp-*.pt")

    protocol: ClassVar[type]
    title: ClassVar[str]  # the role in words, for docs and messages
    step: ClassVar[str]  # what it does in the ad chain: "<model label> <step>" reads as a sentence

    def checkpoint(self, explicit: Path | None, models_root: Path, setting: str | None = None) -> Path:
        """The checkpoint file to load: `explicit` (file or run dir) or the model's newest run."""
        from adgen.training.checkpoints import resolve

        return resolve(explicit, models_root, self.kind(), self.finals, setting)


@dataclass(frozen=True)
class PeopleGenerator(Role):
    protocol: ClassVar[type] = PeopleSampler
    title: ClassVar[str] = "people generator (seed → person)"
    step: ClassVar[str] = "draws a new person"


@dataclass(frozen=True)
class PoseControlledGenerator(Role):
    approach: str = ""  # its `adgen generate --approach` id
    protocol: ClassVar[type] = PosedPeopleSampler
    title: ClassVar[str] = "pose-controlled people generator (seed + pose → person)"
    step: ClassVar[str] = "draws a new person straight into the requested pose"


@dataclass(frozen=True)
class PoseTransfer(Role):
    approach: str = ""  # the `--approach` id of <people_from> → this model
    people_from: str = ""  # the people generator whose people it re-poses
    protocol: ClassVar[type] = PoseTransferrer
    title: ClassVar[str] = "pose transfer (person + pose → person)"
    step: ClassVar[str] = "moves them into the requested pose"


@dataclass(frozen=True)
class Compositor(Role):
    does: str = ""  # what it does to the bag, in a few words ("placement", "placement + light")
    protocol: ClassVar[type] = BagCompositor
    title: ClassVar[str] = "compositor (person + bag → ad)"
    step: ClassVar[str] = "places the bag"
