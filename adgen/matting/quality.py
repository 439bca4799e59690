"""Mask-quality figures and the rules that drop bad masks, with a reason a person can read.

A detector or GrabCut mask can be nearly empty, spill far outside the detection box, or be full of
holes; each of these ruins a training image, so every mask is measured and the figures are kept in
the manifest next to the decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from adgen.config.prepare import StripParams


@dataclass(frozen=True)
class MaskFigures:
    area_ratio: float  # mask area / box area
    holes: int  # enclosed background regions
    hole_ratio: float  # enclosed background area / mask area
    components: int  # connected pieces of the mask
    touches_edge: bool  # the mask reaches the image border

    def as_columns(self, prefix: str) -> dict[str, float | int | bool]:
        return {f"{prefix}_{k}": v for k, v in self.__dict__.items()}


def mask_figures(mask: np.ndarray, box_px: tuple[int, int, int, int]) -> MaskFigures:
    """Measure a bool (or 0..1 soft) HxW mask against its pixel box (x0, y0, x1, y1)."""
    m = np.asarray(mask) >= 0.5 if mask.dtype != bool else mask
    area = int(m.sum())
    x0, y0, x1, y1 = box_px
    box_area = max(1, (x1 - x0) * (y1 - y0))
    touches = bool(m[0].any() or m[-1].any() or m[:, 0].any() or m[:, -1].any())
    if area == 0:
        return MaskFigures(0.0, 0, 0.0, 0, False)
    n_comp, _ = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
    # Background pieces (4-connected) that do not reach the image border are holes in the mask.
    n_bg, bg_labels, stats, _ = cv2.connectedComponentsWithStats((~m).astype(np.uint8), connectivity=4)
    border = set(np.unique(np.concatenate([bg_labels[0], bg_labels[-1], bg_labels[:, 0], bg_labels[:, -1]])))
    hole_ids = [i for i in range(1, n_bg) if i not in border]
    hole_area = int(sum(stats[i, cv2.CC_STAT_AREA] for i in hole_ids))
    return MaskFigures(
        area_ratio=area / box_area,
        holes=len(hole_ids),
        hole_ratio=hole_area / area,
        components=int(n_comp - 1),
        touches_edge=touches,
    )


def drop_reason(person: MaskFigures | None, bag: MaskFigures | None, has_bag: bool, p: StripParams) -> str:
    """The first rule a cut-out fails, or "kept"."""
    if person is None or person.area_ratio == 0:
        return "no_person_mask"
    if person.area_ratio < p.min_person_area_ratio:
        return "person_mask_too_small"
    if person.area_ratio > p.max_person_area_ratio:
        return "person_mask_too_large"
    if person.hole_ratio > p.max_person_hole_ratio:
        return "person_mask_holey"
    if p.drop_person_touching_edge and person.touches_edge:
        return "person_touches_edge"
    if has_bag:
        if bag is None or bag.area_ratio == 0:
            return "no_bag_mask"
        if bag.area_ratio < p.min_bag_area_ratio:
            return "bag_mask_too_small"
    return "kept"
