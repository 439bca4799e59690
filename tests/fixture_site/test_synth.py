"""Promises of the synthetic photos: deterministic, exact truth, colours that survive JPEG."""

from __future__ import annotations

import hashlib
import io
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from adgen.fixtures.site import palette, synth

SEED = 7
N = 40  # two schedule blocks: every scenario at least twice


@pytest.fixture(scope="module")
def rendered() -> list[synth.Rendered]:
    return [synth.photo(SEED, i) for i in range(N)]


def _decoded(r: synth.Rendered) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(synth.encode_jpeg(r.image))).convert("RGB"))


def test_same_seed_and_index_give_the_same_jpeg_bytes():
    a = synth.encode_jpeg(synth.photo(3, 11).image)
    b = synth.encode_jpeg(synth.photo(3, 11).image)
    assert a == b
    assert synth.encode_jpeg(synth.photo(4, 11).image) != a
    assert synth.photo_spec(3, 11) == synth.photo_spec(3, 11)


def test_every_scenario_appears_in_any_block_of_twenty_photos():
    for start in (0, 20, 40, 60):
        seen = {synth.scenario_of(SEED, i) for i in range(start, start + 20)}
        assert seen == set(synth.SCENARIOS)


def test_about_a_third_of_photos_are_keepable_like_a_real_crawl():
    keep = [synth.SCENARIOS[synth.scenario_of(SEED, i)].expected_keep for i in range(200)]
    assert 0.30 <= sum(keep) / len(keep) <= 0.40


def test_truth_boxes_are_the_bounding_boxes_of_the_masks(rendered):
    for r in rendered:
        t = r.truth
        assert (t["width"], t["height"]) == r.image.size
        assert set(r.masks) == {f"person/{i}" for i in range(len(t["people"]))} | {
            f"bag/{j}" for j in range(len(t["bags"]))
        }
        for key, mask in r.masks.items():
            kind, i = key.split("/")
            box = t["people" if kind == "person" else "bags"][int(i)]["box"]
            assert mask.shape == (t["height"], t["width"]) and mask.dtype == bool
            ys, xs = np.nonzero(mask)
            assert xs.size > 50, f"{t['scenario']} {key} is (almost) invisible"
            w, h = t["width"], t["height"]
            assert box == [xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h]


def test_instances_do_not_share_pixels(rendered):
    for r in rendered:
        if r.masks:
            assert np.stack(list(r.masks.values())).astype(int).sum(axis=0).max() == 1


def test_palette_colours_survive_jpeg(rendered):
    """colour_mask of each instance's colour recovers >= 95% of its (non-disc) mask after JPEG q95."""
    for r in rendered:
        rgb = _decoded(r)
        for key, mask in r.masks.items():
            kind, i = key.split("/")
            if kind == "person":
                colour = palette.PERSON_COLOURS[int(i)]
                body = mask & ~r.discs[key]
            else:
                colour = palette.BAG_COLOURS[r.truth["bags"][int(i)]["class"]]
                body = mask
            recovered = (palette.colour_mask(rgb, colour) & body).sum() / body.sum()
            assert recovered >= 0.95, (r.truth["index"], key, recovered)
            # ... and the colour does not leak much outside the instance
            outside = (palette.colour_mask(rgb, colour) & ~mask).sum()
            assert outside <= 0.02 * mask.sum(), (r.truth["index"], key, outside)


def test_background_is_muted_and_never_palette_like(rendered):
    colours = palette.PERSON_COLOURS + list(palette.BAG_COLOURS.values()) + palette.KEYPOINT_COLOURS
    for r in rendered:
        rgb = np.asarray(r.image)
        bg = ~np.any(np.stack(list(r.masks.values())), axis=0) if r.masks else np.ones(rgb.shape[:2], bool)
        assert palette.is_muted(rgb)[bg].all()
        packed = np.unique(rgb[bg].astype(np.int32) @ np.array([65536, 256, 1], np.int32))
        tones = np.stack([packed >> 16, (packed >> 8) & 255, packed & 255], axis=-1)[
            None
        ]  # distinct bg colours
        for c in colours:
            assert not palette.colour_mask(tones, c).any()


def test_keypoints_sit_on_discs_of_their_colour_in_openpose_order(rendered):
    for r in rendered:
        rgb = _decoded(r)
        w, h = r.truth["width"], r.truth["height"]
        for i, person in enumerate(r.truth["people"]):
            kps = person["keypoints"]
            assert len(kps) == 18
            for op_index, (x, y, conf) in enumerate(kps):
                name = synth.OPENPOSE_FROM_COCO[op_index]
                if conf == 0:
                    assert (x, y) == (-1.0, -1.0)
                    continue
                if name == "neck":
                    continue
                px, py = round(x * w), round(y * h)
                assert 0 <= px < w and 0 <= py < h
                k = palette.COCO_KEYPOINTS.index(name)
                assert palette.colour_mask(rgb[py : py + 1, px : px + 1], palette.KEYPOINT_COLOURS[k])[0, 0]
                assert r.discs[f"person/{i}"][py, px]
            # disc radius scales with the person's height
            disc_px = r.discs[f"person/{i}"].sum()
            visible = sum(
                1 for name, kp in zip(synth.OPENPOSE_FROM_COCO, kps, strict=True) if kp[2] and name != "neck"
            )
            radius = max(2, -(-person["height_px"] // 45))
            assert disc_px >= 0.5 * visible * np.pi * radius**2


def _gap(a: list[float], b: list[float], w: int, h: int) -> float:
    dx = max(b[0] - a[2], a[0] - b[2], 0) * w
    dy = max(b[1] - a[3], a[1] - b[3], 0) * h
    return float(np.hypot(dx, dy))


def _reason_from_truth(t: dict) -> str:
    """The filter's decision derived from geometry alone, independent of the scenario name."""
    people, bags, w, h = t["people"], t["bags"], t["width"], t["height"]
    if not people:
        return "no_person"
    if len(people) > 1:
        return "several_people"
    p = people[0]
    if p["height_px"] < 0.3 * h:
        return "person_too_small"
    if p["box"][1] <= 0:
        return "cropped_head"
    if p["box"][3] >= 1:
        return "cropped_feet"
    if not bags:
        return "no_bag"
    if min(_gap(p["box"], b["box"], w, h) for b in bags) > 0.3 * p["height_px"]:
        return "bag_far_from_person"
    return "kept"


def test_expected_decision_follows_from_the_drawn_scene(rendered):
    for r in rendered:
        t = r.truth
        assert t["expected_reason"] == _reason_from_truth(t), t["scenario"]
        assert t["expected_keep"] == (t["expected_reason"] == "kept")


def test_scene_geometry_promises_hold_over_many_specs():
    """The promises in the synth docstring, checked on 600 specs (no rendering: fast)."""
    counts = Counter()
    for i in range(600):
        s = synth.photo_spec(11, i)
        counts[s.scenario] += 1
        assert 480 <= s.width <= 900 and 480 <= s.height <= 900
        for p in s.people:
            frac = p.height / s.height
            assert frac <= 0.25 if s.scenario == "person_too_small" else frac >= 0.55
            if s.scenario.startswith("full_body") or s.scenario in ("several_people", "bag_on_floor_far"):
                assert p.top >= 0.02 * s.height and p.top + p.height <= 0.98 * s.height
            assert p.disc_radius >= p.height / 45
    assert set(counts) == set(synth.SCENARIOS)


def test_carried_bags_touch_their_carrier_and_floor_bags_are_far(rendered):
    for r in rendered:
        t = r.truth
        for b in t["bags"]:
            if b["carried_by"] is not None:
                p = t["people"][b["carried_by"]]
                assert _gap(p["box"], b["box"], t["width"], t["height"]) == 0
                assert b["coco_id"] == palette.BAG_COCO_IDS[b["class"]]
            elif t["people"]:
                p = t["people"][0]
                assert _gap(p["box"], b["box"], t["width"], t["height"]) >= 0.5 * p["height_px"]


def test_cropped_people_are_marked_not_full_body(rendered):
    for r in rendered:
        t = r.truth
        for p in t["people"]:
            assert p["full_body"] == (t["scenario"] not in ("cropped_knees", "cropped_waist", "cropped_head"))
            if not p["full_body"]:
                ankles = [p["keypoints"][10][2], p["keypoints"][13][2]]
                if t["scenario"] != "cropped_head":
                    assert ankles == [0.0, 0.0]


def test_parallel_warm_up_renders_the_same_bytes_as_serving_does():
    from adgen.fixtures.site.payloads import PhotoCache

    warmed, lazy = PhotoCache(seed=5), PhotoCache(seed=5)
    warmed.warm(list(range(16)), workers=2)
    for i in (0, 7, 15):
        assert warmed.meta(i)[0] == hashlib.sha256(lazy.photo(i)).hexdigest()
        assert warmed.meta(i)[1] == lazy.meta(i)[1]
