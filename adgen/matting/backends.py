"""Person and bag masks for one photo, from the configured backend (strip.backend).

- detector: the filter's full-image instance masks (Mask R-CNN), read from the filter's image store
  (members person_mask / bag_mask), their edges sharpened with GrabCut (strip.refine_detector_masks: Mask R-CNN's masks
  are 28-33 px grids stretched over the box, which rounds off arms and legs). A missing mask falls back to GrabCut or drops the photo (strip.fallback).
- grabcut: OpenCV GrabCut seeded by the filter's boxes; needs no model.
- rembg: u2net_human_seg for the person (local model file only); the bag from the detector mask
  when there is one, else GrabCut.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from adgen.config.prepare import StripParams
from adgen.matting.grabcut import grabcut_mask, refine_mask
from adgen.matting.photo import load_mask
from adgen.store.photos import Photos


@dataclass
class Masks:
    person: np.ndarray | None  # bool or soft 0..1, HxW
    bag: np.ndarray | None
    source: str  # which backend actually made the person mask


def _present(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _detector_mask(masks: Photos, member: object, size: tuple[int, int]) -> np.ndarray | None:
    if not _present(member):
        return None
    m = load_mask(io.BytesIO(masks.read({"member": member})), size)
    return m if m.any() else None


def masks_for(
    rgb: np.ndarray,
    row: dict,
    person_px: tuple[int, int, int, int],
    bag_px: tuple[int, int, int, int] | None,
    params: StripParams,
    masks: Photos,
) -> Masks:
    h, w = rgb.shape[:2]
    backend = params.backend
    person = bag = None
    source = backend
    if backend in ("detector", "rembg"):
        bag = _detector_mask(masks, row.get("bag_mask"), (w, h)) if bag_px is not None else None
    if backend == "detector":
        person = _detector_mask(masks, row.get("person_mask"), (w, h))
    if params.refine_detector_masks:
        person = refine_mask(rgb, person) if person is not None and backend == "detector" else person
        bag = refine_mask(rgb, bag) if bag is not None else None
    elif backend == "rembg":
        from adgen.matting.rembg_backend import rembg_person_mask

        person = rembg_person_mask(rgb, person_px)
    grabcut_allowed = backend == "grabcut" or params.fallback == "grabcut"
    if person is None and grabcut_allowed:
        person = grabcut_mask(rgb, person_px, params.grabcut_iterations)
        source = "grabcut"
    if bag is None and bag_px is not None and grabcut_allowed:
        bag = grabcut_mask(rgb, bag_px, params.grabcut_iterations)
    return Masks(person, bag, source)
