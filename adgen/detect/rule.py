"""The keep rule: one dominant, full-body person with a bag near them. Every "no" has one reason.

The reference run only asked "person >= 0.75 and a handbag/backpack >= 0.30 anywhere". That keeps
cropped torsos, crowds and a bag on a shelf behind someone. This rule checks, in this order (the
first failed check is the reason):

1. `no_person`       no person at or above `person_min_score`
2. `several_people`  another confident person whose box is at least `dominant_area_ratio` of the
                     main (largest) person's: no single subject
3. `cropped_head`    the box touches the top edge (within `edge_margin`), or the pose table has
                     keypoints for the image and no head point (nose/eyes/ears) is visible
4. `cropped_feet`    the box touches the bottom edge, or keypoints exist and fewer than
                     `ankles_required` ankles are visible (a torso cut at the waist lands here,
                     not in person_too_small)
5. `person_too_small` the person's box is shorter than `min_person_height` of the image
6. `implausible_aspect` box height/width (in pixels) outside [`min_aspect`, `max_aspect`]: a
                     standing full body is tall and narrow; sitting, lying or torso boxes are not
7. `no_bag`          no bag class (`bag_classes`) at or above `bag_min_score`
8. `bag_far_from_person` no bag box touches the person's box grown by `bag_near_margin` × its height
9. `kept`

`unreadable` (file could not be decoded) is decided before the rule runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adgen.config.detect import DetectParams
from adgen.detect.detections import Detections, box_area

REASONS: tuple[str, ...] = (
    "kept",
    "unreadable",
    "no_person",
    "several_people",
    "person_too_small",
    "cropped_head",
    "cropped_feet",
    "implausible_aspect",
    "no_bag",
    "bag_far_from_person",
)

# OpenPose-18 indices (contracts): head = nose, eyes, ears; ankles.
HEAD_POINTS = (0, 14, 15, 16, 17)
ANKLE_POINTS = (10, 13)


def head_and_feet_seen(keypoints: np.ndarray, min_conf: float, ankles_required: int) -> tuple[bool, bool]:
    """Whether a pose shows a head point and enough ankles: the filter's full-body test on keypoints,
    which the comparison applies to generated people too (adgen.compare.score)."""
    conf = np.asarray(keypoints, dtype=np.float32).reshape(18, 3)[:, 2]
    head = bool((conf[list(HEAD_POINTS)] >= min_conf).any())
    feet = int((conf[list(ANKLE_POINTS)] >= min_conf).sum()) >= ankles_required
    return head, feet


@dataclass(frozen=True)
class Decision:
    """One image's verdict, with the evidence shown on the contact sheet."""

    keep: bool
    reason: str
    n_people: int = 0
    person_index: int | None = None  # into the Detections it was made from
    person_box: list[float] | None = None
    person_score: float | None = None
    bag_index: int | None = None
    bag_class: str | None = None
    bag_box: list[float] | None = None
    bag_score: float | None = None
    full_body: bool = False


def unreadable() -> Decision:
    return Decision(keep=False, reason="unreadable")


def keep_full_body_with_bag(
    dets: Detections,
    params: DetectParams,
    width: int,
    height: int,
    keypoints: np.ndarray | None = None,
) -> Decision:
    """Decide one image. `width`/`height` are the upright image size (for the aspect ratio);
    `keypoints` is the OpenPose-18 [18, 3] array from the pose table, if it has this image."""
    people = np.flatnonzero((dets.classes == params.person_class) & (dets.scores >= params.person_min_score))
    if len(people) == 0:
        return Decision(keep=False, reason="no_person")
    areas = np.array([box_area(dets.boxes[i]) for i in people])
    order = np.argsort(-areas, kind="stable")
    main = int(people[order[0]])
    box = dets.boxes[main]
    found = dict(
        n_people=len(people),
        person_index=main,
        person_box=[round(float(v), 6) for v in box],
        person_score=float(dets.scores[main]),
    )
    if len(people) > 1 and areas[order[1]] >= params.dominant_area_ratio * areas[order[0]]:
        return Decision(keep=False, reason="several_people", **found)

    body = _full_body_reason(box, params, width, height, keypoints)
    found["full_body"] = body is None
    if body is not None:
        return Decision(keep=False, reason=body, **found)

    bag_names = {cid: name for name, cid in params.bag_classes.items()}
    bags = [
        int(i)
        for i in np.flatnonzero(
            np.isin(dets.classes, list(bag_names)) & (dets.scores >= params.bag_min_score)
        )
    ]
    if not bags:
        return Decision(keep=False, reason="no_bag", **found)
    near = [
        i for i in bags if _touches(dets.boxes[i], _grow(box, params.bag_near_margin * (box[3] - box[1])))
    ]
    best = max(near or bags, key=lambda i: float(dets.scores[i]))
    bag = dict(
        bag_index=best,
        bag_class=bag_names[int(dets.classes[best])],
        bag_box=[round(float(v), 6) for v in dets.boxes[best]],
        bag_score=float(dets.scores[best]),
    )
    if not near:
        return Decision(keep=False, reason="bag_far_from_person", **found, **bag)
    return Decision(keep=True, reason="kept", **found, **bag)


def _full_body_reason(
    box: np.ndarray, params: DetectParams, width: int, height: int, keypoints: np.ndarray | None
) -> str | None:
    x0, y0, x1, y1 = (float(v) for v in box)
    head_seen = feet_seen = True
    if keypoints is not None:
        head_seen, feet_seen = head_and_feet_seen(keypoints, params.keypoint_min_conf, params.ankles_required)
    if y0 < params.edge_margin or not head_seen:
        return "cropped_head"
    if y1 > 1.0 - params.edge_margin or not feet_seen:
        return "cropped_feet"
    if y1 - y0 < params.min_person_height:
        return "person_too_small"
    aspect = ((y1 - y0) * height) / max((x1 - x0) * width, 1e-6)
    if not params.min_aspect <= aspect <= params.max_aspect:
        return "implausible_aspect"
    return None


def _grow(box: np.ndarray, by: float) -> np.ndarray:
    return np.array([box[0] - by, box[1] - by, box[2] + by, box[3] + by], dtype=np.float32)


def _touches(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3])
