"""keep_full_body_with_bag: each reason is reached by the image it describes, and only by it."""

from __future__ import annotations

import numpy as np
import pytest

from adgen.config.detect import DetectParams
from adgen.detect.detections import Detections
from adgen.detect.rule import REASONS, keep_full_body_with_bag

P = DetectParams()
W, H = 400, 600
PERSON = [0.35, 0.10, 0.65, 0.92]  # 120 x 492 px: aspect 4.1
BAG = [0.62, 0.50, 0.75, 0.62]


def dets(*items: tuple[list[float], int, float]) -> Detections:
    if not items:
        return Detections.empty()
    return Detections(
        np.array([b for b, _, _ in items], np.float32),
        np.array([c for _, c, _ in items], np.int32),
        np.array([s for _, _, s in items], np.float32),
    )


def decide(d: Detections, keypoints: np.ndarray | None = None, params: DetectParams = P):
    return keep_full_body_with_bag(d, params, W, H, keypoints)


def test_one_full_body_person_with_a_handbag_is_kept() -> None:
    dec = decide(dets((PERSON, 1, 0.9), (BAG, 31, 0.5)))
    assert (dec.keep, dec.reason, dec.bag_class, dec.full_body) == (True, "kept", "handbag", True)
    assert dec.person_box == pytest.approx(PERSON)
    assert dec.n_people == 1


def test_no_detections_at_all_is_no_person() -> None:
    assert decide(dets()).reason == "no_person"


def test_a_person_below_the_score_threshold_does_not_count() -> None:
    assert decide(dets((PERSON, 1, 0.74), (BAG, 31, 0.9))).reason == "no_person"


def test_two_similar_people_are_several_people() -> None:
    other = [0.05, 0.12, 0.30, 0.90]
    dec = decide(dets((PERSON, 1, 0.9), (other, 1, 0.8), (BAG, 31, 0.5)))
    assert dec.reason == "several_people" and dec.n_people == 2


def test_a_small_passer_by_does_not_stop_the_main_person() -> None:
    passer_by = [0.05, 0.40, 0.10, 0.55]  # far below 25 % of the main person's area
    dec = decide(dets((passer_by, 1, 0.95), (PERSON, 1, 0.9), (BAG, 31, 0.5)))
    assert dec.reason == "kept" and dec.n_people == 2 and dec.person_box == pytest.approx(PERSON)


def test_a_short_person_box_is_person_too_small() -> None:
    assert decide(dets(([0.45, 0.5, 0.52, 0.75], 1, 0.9), (BAG, 31, 0.5))).reason == "person_too_small"


def test_a_person_touching_the_top_edge_is_cropped_head() -> None:
    assert decide(dets(([0.35, 0.0, 0.65, 0.9], 1, 0.9), (BAG, 31, 0.5))).reason == "cropped_head"


def test_a_person_touching_the_bottom_edge_is_cropped_feet() -> None:
    assert decide(dets(([0.35, 0.1, 0.65, 1.0], 1, 0.9), (BAG, 31, 0.5))).reason == "cropped_feet"


def test_a_wide_person_box_is_implausible_aspect() -> None:
    lying = [0.05, 0.40, 0.95, 0.80]
    assert decide(dets((lying, 1, 0.9), (BAG, 31, 0.5))).reason == "implausible_aspect"


def test_a_person_without_a_bag_is_no_bag() -> None:
    assert decide(dets((PERSON, 1, 0.9))).reason == "no_bag"


def test_a_weak_bag_or_a_non_bag_class_is_no_bag() -> None:
    assert decide(dets((PERSON, 1, 0.9), (BAG, 31, 0.29))).reason == "no_bag"
    assert decide(dets((PERSON, 1, 0.9), (BAG, 44, 0.99))).reason == "no_bag"  # a bottle


def test_a_bag_away_from_the_person_is_bag_far_from_person() -> None:
    dec = decide(dets((PERSON, 1, 0.9), ([0.85, 0.05, 0.98, 0.15], 27, 0.8)))
    assert dec.reason == "bag_far_from_person" and dec.bag_class == "backpack"


def test_bag_classes_come_from_params() -> None:
    only_suitcases = DetectParams(bag_classes={"suitcase": 33})
    assert decide(dets((PERSON, 1, 0.9), (BAG, 31, 0.9)), params=only_suitcases).reason == "no_bag"
    assert decide(dets((PERSON, 1, 0.9), (BAG, 33, 0.9)), params=only_suitcases).reason == "kept"


def test_the_nearest_best_bag_is_reported_when_several_exist() -> None:
    far = ([0.85, 0.05, 0.98, 0.15], 33, 0.99)
    dec = decide(dets((PERSON, 1, 0.9), far, (BAG, 31, 0.4)))
    assert dec.reason == "kept" and dec.bag_class == "handbag"


def keypoints(head: bool = True, ankles: int = 2) -> np.ndarray:
    kp = np.full((18, 3), -1.0, np.float32)
    kp[:, 2] = 0.0
    for i in range(1, 14):
        kp[i] = [0.5, 0.2 + i * 0.05, 0.9]
    if head:
        kp[0] = [0.5, 0.15, 0.9]
    kp[10, 2] = 0.9 if ankles >= 1 else 0.0
    kp[13, 2] = 0.9 if ankles >= 2 else 0.0
    return kp


def test_with_keypoints_a_missing_head_is_cropped_head() -> None:
    assert decide(dets((PERSON, 1, 0.9), (BAG, 31, 0.5)), keypoints(head=False)).reason == "cropped_head"


def test_with_keypoints_a_missing_ankle_is_cropped_feet() -> None:
    assert decide(dets((PERSON, 1, 0.9), (BAG, 31, 0.5)), keypoints(ankles=1)).reason == "cropped_feet"
    one_is_enough = DetectParams(ankles_required=1)
    assert decide(dets((PERSON, 1, 0.9), (BAG, 31, 0.5)), keypoints(ankles=1), one_is_enough).keep


def test_with_all_keypoints_visible_the_person_is_kept() -> None:
    assert decide(dets((PERSON, 1, 0.9), (BAG, 31, 0.5)), keypoints()).reason == "kept"


def test_every_reason_is_documented_in_the_rule_docstring() -> None:
    from adgen.detect import rule

    for reason in REASONS:
        assert f"`{reason}`" in rule.__doc__
