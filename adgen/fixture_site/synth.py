"""Deterministic synthetic stock photos with exact ground truth, for the fixture stock site.

Why: the crawl, filter, strip and pose stages need photos whose answer is known (is there one
full-body person? a bag? held or far away?) without the real stock sites. Each photo is a pure
function of (seed, index): `photo_spec` decides the scene, `render` draws it without anti-aliasing
in the colours of `palette.py`, so the fixture detector/pose stand-ins can find people, bags and
joints by colour, and the truth (boxes from the rendered masks, keypoints, expected filter decision)
is exact.

Drawing model: a person is a flat articulated silhouette (head, neck, torso, arms, legs, feet) in
one PERSON_COLOURS colour, with a disc in KEYPOINT_COLOURS[k] at each COCO joint inside the frame
(radius max(2, ceil(h/45)) for a person h pixels tall). Discs are drawn last, so every in-frame joint
is visible. Bags are flat shapes in BAG_COLOURS[class]: behind the person (backpack), between torso
and arms (shoulder handbag), or in front (held handbag, pulled suitcase), or alone on the floor.

Geometry promises other stages may rely on (documented in docs/fixture_site.md):
- people in every scene except `person_too_small` are at least 0.55 of the image height tall
  (their full height, head top to sole); `person_too_small` people are at most 0.25 of it;
- full-body people have the whole silhouette inside the frame with a margin of >= 2% of the height;
  cropped people touch the bottom (`cropped_knees`, `cropped_waist`) or top (`cropped_head`) edge;
- a carried bag's box overlaps its carrier's box; a floor bag in `bag_on_floor_far` is at least
  0.5 x the person's height away (gap between the two boxes);
- people in `several_people` do not overlap each other.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from adgen.fixture_site import palette

JPEG_QUALITY = 95
THUMB_LONG_EDGE = 240

# --------------------------------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True)
class Scenario:
    name: str
    expected_keep: bool
    expected_reason: str
    description: str


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario("full_body_handbag_held", True, "kept", "one full-body person holding a handbag"),
        Scenario("full_body_handbag_shoulder", True, "kept", "one full-body person, handbag on the shoulder"),
        Scenario("full_body_backpack", True, "kept", "one full-body person wearing a backpack"),
        Scenario("full_body_suitcase", True, "kept", "one full-body person pulling a suitcase"),
        Scenario("full_body_no_bag", False, "no_bag", "one full-body person, no bag"),
        Scenario("cropped_knees", False, "cropped_feet", "one person with a bag, frame cut at the knees"),
        Scenario("cropped_waist", False, "cropped_feet", "one person with a bag, frame cut at the waist"),
        Scenario("cropped_head", False, "cropped_head", "one person with a bag, frame cut through the head"),
        Scenario("several_people", False, "several_people", "two or three full-body people, one with a bag"),
        Scenario("no_person_empty", False, "no_person", "background only"),
        Scenario("no_person_bag", False, "no_person", "a bag on the floor, nobody"),
        Scenario(
            "bag_on_floor_far", False, "bag_far_from_person", "a person and a bag far away on the floor"
        ),
        Scenario("person_too_small", False, "person_too_small", "a tiny full-body person with a bag"),
    ]
}

# Every block of 20 consecutive indices holds each scenario this many times (in a seeded order),
# so any 20 photos cover every scenario and 7/20 = 35% are keepable, like a real crawl.
_SCHEDULE_COUNTS = {
    "full_body_handbag_held": 2,
    "full_body_handbag_shoulder": 2,
    "full_body_backpack": 2,
    "full_body_suitcase": 1,
    "full_body_no_bag": 2,
    "cropped_knees": 2,
    "cropped_waist": 1,
    "cropped_head": 1,
    "several_people": 2,
    "no_person_empty": 1,
    "no_person_bag": 1,
    "bag_on_floor_far": 2,
    "person_too_small": 1,
}
SCHEDULE: tuple[str, ...] = tuple(n for n, c in _SCHEDULE_COUNTS.items() for _ in range(c))
assert len(SCHEDULE) == 20 and set(SCHEDULE) == set(SCENARIOS)

# OpenPose-18 order expressed in COCO names; "neck" is mid-shoulder.
OPENPOSE_FROM_COCO: list[str] = [
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
]  # fmt: skip

# --------------------------------------------------------------------------------------------------
# Specs: everything decided, in pixels; render() only draws.

Point = tuple[int, int]


@dataclass(frozen=True)
class Shape:
    """One flat primitive: a polygon, a capsule (thick segment with round caps) or an ellipse."""

    kind: str  # "poly" | "capsule" | "ellipse"
    points: tuple[Point, ...]
    width: int = 0  # capsule thickness


@dataclass(frozen=True)
class PersonSpec:
    colour_index: int
    top: int  # y of the head top (may be < 0 when the frame cuts the head)
    height: int  # head top to sole, pixels
    joints: dict[str, Point]  # the 17 COCO joints, pixel centres (may lie outside the frame)
    body: tuple[Shape, ...]  # legs, feet, torso, neck, head (drawn before a shoulder bag)
    arms: tuple[Shape, ...]  # drawn after a shoulder bag
    disc_radius: int


@dataclass(frozen=True)
class BagSpec:
    cls: str  # handbag | backpack | suitcase
    mode: str  # hand | shoulder | back | pulled | floor
    carried_by: int | None
    shapes: tuple[Shape, ...]

    @property
    def z(self) -> str:
        return {"back": "back", "shoulder": "mid"}.get(self.mode, "front")


@dataclass(frozen=True)
class PhotoSpec:
    seed: int
    index: int
    scenario: str
    width: int
    height: int
    background: str  # plain | busy
    wall: tuple[int, int, int]
    floor: tuple[int, int, int]
    floor_y: int
    texture_seed: int
    people: tuple[PersonSpec, ...] = ()
    bags: tuple[BagSpec, ...] = ()


@dataclass
class Rendered:
    image: Image.Image  # RGB
    truth: dict[str, Any]
    masks: dict[str, np.ndarray]  # "person/<i>", "bag/<j>": bool HxW, visible pixels
    discs: dict[str, np.ndarray] = field(default_factory=dict)  # "person/<i>": its keypoint discs


# --------------------------------------------------------------------------------------------------
# Geometry


def _rng(seed: int, index: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(index) & 0xFFFFFFFF, salt])


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _pt(x: float, y: float) -> Point:
    return (int(round(x)), int(round(y)))


# Half-widths (units of person height) a person needs on each side of its centre line.
_BASE_EXTENT = 0.27
_CARRY_EXTENT = {"hand": 0.31, "shoulder": 0.30, "back": 0.28, "pulled": 0.42}


def _person(
    rng: np.random.Generator,
    cx: float,
    top: float,
    h: float,
    colour_index: int,
    carry_side: int,
    carry: str | None,
) -> PersonSpec:
    """A front-facing person: the person's right side is on the image left (x < cx)."""

    def at(u: float, v: float) -> tuple[float, float]:
        return cx + u * h, top + v * h

    j: dict[str, Point] = {}
    j["nose"] = _pt(*at(0, 0.10))
    j["left_eye"], j["right_eye"] = _pt(*at(0.032, 0.062)), _pt(*at(-0.032, 0.062))
    j["left_ear"], j["right_ear"] = _pt(*at(0.068, 0.09)), _pt(*at(-0.068, 0.09))
    arm_w, leg_w = max(3, round(0.05 * h)), max(3, round(0.07 * h))
    arms: list[Shape] = []
    body: list[Shape] = []
    for side, s in (("left", 1), ("right", -1)):
        sho = at(s * 0.115, 0.2)
        carrying = s == carry_side
        if carrying and carry in ("hand", "pulled"):
            a1, a2 = _u(rng, 15, 19), _u(rng, 16, 22)
        elif carrying and carry == "back":
            a1, a2 = _u(rng, 3, 7), _u(rng, 0, 6)
        else:
            a1, a2 = _u(rng, 6, 18), _u(rng, 0, 25)
        elb = (
            sho[0] + s * math.sin(math.radians(a1)) * 0.15 * h,
            sho[1] + math.cos(math.radians(a1)) * 0.15 * h,
        )
        wri = (
            elb[0] + s * math.sin(math.radians(a2)) * 0.14 * h,
            elb[1] + math.cos(math.radians(a2)) * 0.14 * h,
        )
        j[f"{side}_shoulder"], j[f"{side}_elbow"], j[f"{side}_wrist"] = _pt(*sho), _pt(*elb), _pt(*wri)
        arms += [
            Shape("capsule", (_pt(*sho), _pt(*elb)), arm_w),
            Shape("capsule", (_pt(*elb), _pt(*wri)), arm_w),
            Shape("ellipse", _box_around(wri, 0.03 * h)),
        ]
        hip = at(s * 0.075, 0.53)
        b1 = _u(rng, 0, 7)
        b2 = b1 + _u(rng, -2, 2)
        kne = (
            hip[0] + s * math.sin(math.radians(b1)) * 0.2 * h,
            hip[1] + math.cos(math.radians(b1)) * 0.2 * h,
        )
        ank = (
            kne[0] + s * math.sin(math.radians(b2)) * 0.2 * h,
            kne[1] + math.cos(math.radians(b2)) * 0.2 * h,
        )
        j[f"{side}_hip"], j[f"{side}_knee"], j[f"{side}_ankle"] = _pt(*hip), _pt(*kne), _pt(*ank)
        sole = top + h - 1
        ax, ay = ank
        body += [
            Shape("capsule", (_pt(*hip), _pt(*kne)), leg_w),
            Shape("capsule", (_pt(*kne), _pt(*ank)), leg_w),
            Shape(
                "poly",
                (
                    _pt(ax - 0.03 * h, ay - 0.01 * h),
                    _pt(ax + 0.03 * h, ay - 0.01 * h),
                    _pt(ax + (0.065 if s > 0 else 0.02) * h, sole),
                    _pt(ax - (0.02 if s > 0 else 0.065) * h, sole),
                ),
            ),
        ]
    body += [
        Shape(
            "poly", (_pt(*at(-0.125, 0.19)), _pt(*at(0.125, 0.19)), _pt(*at(0.1, 0.56)), _pt(*at(-0.1, 0.56)))
        ),
        Shape("capsule", (_pt(*at(0, 0.14)), _pt(*at(0, 0.2))), max(3, round(0.06 * h))),
        Shape("ellipse", (_pt(*at(-0.072, 0)), _pt(*at(0.072, 0.16)))),
    ]
    return PersonSpec(
        colour_index=colour_index,
        top=int(round(top)),
        height=int(round(h)),
        joints=j,
        body=tuple(body),
        arms=tuple(arms),
        disc_radius=max(2, math.ceil(h / 45)),
    )


def _box_around(c: tuple[float, float], r: float) -> tuple[Point, Point]:
    return _pt(c[0] - r, c[1] - r), _pt(c[0] + r, c[1] + r)


def _chamfer_rect(x0: float, y0: float, x1: float, y1: float, c: float) -> Shape:
    x0, x1 = min(x0, x1), max(x0, x1)
    pts = [
        (x0 + c, y0),
        (x1 - c, y0),
        (x1, y0 + c),
        (x1, y1 - c),
        (x1 - c, y1),
        (x0 + c, y1),
        (x0, y1 - c),
        (x0, y0 + c),
    ]
    return Shape("poly", tuple(_pt(*p) for p in pts))


def _trapezoid(cx: float, y0: float, y1: float, top_w: float, bottom_w: float) -> Shape:
    return Shape(
        "poly",
        (
            _pt(cx - top_w / 2, y0),
            _pt(cx + top_w / 2, y0),
            _pt(cx + bottom_w / 2, y1),
            _pt(cx - bottom_w / 2, y1),
        ),
    )


def _carried_bag(p: PersonSpec, cls: str, mode: str, side: int, index: int) -> BagSpec:
    h = p.height
    side_name = "left" if side > 0 else "right"
    wx, wy = p.joints[f"{side_name}_wrist"]
    strap = max(3, round(0.02 * h))
    cx = (p.joints["left_hip"][0] + p.joints["right_hip"][0]) / 2
    if mode == "hand":  # a handbag hanging from the wrist
        shapes = (
            Shape("capsule", ((wx, wy), _pt(wx - 0.035 * h, wy + 0.06 * h)), strap),
            Shape("capsule", ((wx, wy), _pt(wx + 0.035 * h, wy + 0.06 * h)), strap),
            _trapezoid(wx, wy + 0.055 * h, wy + 0.17 * h, 0.14 * h, 0.18 * h),
        )
    elif mode == "shoulder":  # strap from the shoulder, bag at the hip
        sx, sy = p.joints[f"{side_name}_shoulder"]
        bx, by0 = cx + side * 0.2 * h, p.top + 0.5 * h
        shapes = (
            Shape("capsule", ((sx, sy), _pt(bx - side * 0.05 * h, by0 + 0.01 * h)), strap),
            _trapezoid(bx, by0, by0 + 0.13 * h, 0.13 * h, 0.16 * h),
        )
    elif mode == "back":  # behind the torso, sticking out on one side and above the shoulders
        bx = cx + side * 0.1 * h
        shapes = (_chamfer_rect(bx - 0.16 * h, p.top + 0.14 * h, bx + 0.16 * h, p.top + 0.54 * h, 0.05 * h),)
    elif mode == "pulled":  # a suitcase standing by the feet, handle up to the hand
        body_top = p.top + 0.62 * h
        inner, outer = wx - side * 0.05 * h, wx + side * 0.2 * h
        shapes = (
            Shape("capsule", ((wx, wy), _pt(wx, body_top + 0.01 * h)), max(3, round(0.022 * h))),
            _chamfer_rect(inner, body_top, outer, p.top + h - 1, 0.02 * h),
        )
    else:
        raise ValueError(mode)
    return BagSpec(cls, mode, index, shapes)


# Floor bag sizes (width, height) in units of a reference person height.
_FLOOR_SIZE = {"handbag": (0.18, 0.18), "backpack": (0.26, 0.36), "suitcase": (0.28, 0.42)}


def _floor_bag(cls: str, x0: float, floor: float, ref_h: float) -> BagSpec:
    """A bag standing on the floor, its bottom-left corner at (x0, floor)."""
    w, hh = (v * ref_h for v in _FLOOR_SIZE[cls])
    strap = max(3, round(0.02 * ref_h))
    cx = x0 + w / 2
    if cls == "handbag":
        body_top = floor - 0.12 * ref_h
        shapes: tuple[Shape, ...] = (
            Shape("capsule", (_pt(cx - 0.04 * ref_h, body_top), _pt(cx, floor - hh)), strap),
            Shape("capsule", (_pt(cx + 0.04 * ref_h, body_top), _pt(cx, floor - hh)), strap),
            _trapezoid(cx, body_top, floor, 0.14 * ref_h, w),
        )
    elif cls == "backpack":
        shapes = (_chamfer_rect(x0, floor - hh, x0 + w, floor, 0.05 * ref_h),)
    else:
        shapes = (
            Shape("capsule", (_pt(cx - 0.05 * ref_h, floor - hh), _pt(cx + 0.05 * ref_h, floor - hh)), strap),
            _chamfer_rect(x0, floor - hh + 0.03 * ref_h, x0 + w, floor, 0.02 * ref_h),
        )
    return BagSpec(cls, "floor", None, shapes)


_CARRY_CHOICES = [("handbag", "hand"), ("handbag", "shoulder"), ("backpack", "back"), ("suitcase", "pulled")]
_SCENARIO_CARRY = {
    "full_body_handbag_held": ("handbag", "hand"),
    "full_body_handbag_shoulder": ("handbag", "shoulder"),
    "full_body_backpack": ("backpack", "back"),
    "full_body_suitcase": ("suitcase", "pulled"),
}


def _muted(rng: np.random.Generator, lo: int = 60, hi: int = 210) -> tuple[int, int, int]:
    g = int(rng.integers(lo, hi + 1))
    return tuple(min(255, max(0, g + int(rng.integers(-10, 11)))) for _ in range(3))  # type: ignore[return-value]


def scenario_of(seed: int, index: int) -> str:
    """The scenario of photo `index`: a seeded shuffle of SCHEDULE per block of 20 indices."""
    block, slot = divmod(int(index), len(SCHEDULE))
    order = _rng(seed, block, 1).permutation(len(SCHEDULE))
    return SCHEDULE[int(order[slot])]


def photo_spec(seed: int, index: int) -> PhotoSpec:
    """Decide everything about photo (seed, index): size, background, people, bags, poses."""
    scenario = scenario_of(seed, index)
    rng = _rng(seed, index, 2)
    background = "busy" if rng.random() < 0.5 else "plain"
    wall, floor = _muted(rng), _muted(rng)
    texture_seed = int(rng.integers(0, 2**31))
    landscape = scenario in ("several_people", "bag_on_floor_far") or rng.random() < 0.2
    if landscape:
        W, H = int(rng.integers(780, 901)), int(rng.integers(480, 641))
    else:
        W, H = int(rng.integers(480, 721)), int(rng.integers(640, 901))
    people: list[PersonSpec] = []
    bags: list[BagSpec] = []
    mx = 0.03 * W

    def single(h: float, top: float, carry: tuple[str, str] | None) -> None:
        side = 1 if rng.random() < 0.5 else -1
        right = _CARRY_EXTENT[carry[1]] if carry and side > 0 else _BASE_EXTENT
        left = _CARRY_EXTENT[carry[1]] if carry and side < 0 else _BASE_EXTENT
        cx = _u(rng, mx + left * h, max(mx + left * h, W - mx - right * h))
        p = _person(rng, cx, top, h, 0, side, carry[1] if carry else None)
        people.append(p)
        if carry:
            bags.append(_carried_bag(p, carry[0], carry[1], side, 0))

    floor_y = int(_u(rng, 0.7, 0.9) * H)
    if scenario in _SCENARIO_CARRY or scenario == "full_body_no_bag":
        carry = _SCENARIO_CARRY.get(scenario)
        extent = _BASE_EXTENT + (_CARRY_EXTENT[carry[1]] if carry else _BASE_EXTENT)
        h = min(_u(rng, 0.68, 0.92) * H, (W - 2 * mx) / extent)
        top = _u(rng, 0.025 * H, H - h - 0.025 * H)
        single(h, top, carry)
        floor_y = int(top + h - 0.02 * h)
    elif scenario == "person_too_small":
        carry = _CARRY_CHOICES[int(rng.integers(0, 3))]
        h = _u(rng, 0.15, 0.23) * H
        top = _u(rng, 0.45 * H - h, H - h - 0.03 * H)
        single(h, top, carry)
        floor_y = int(top + h - 0.02 * h)
    elif scenario in ("cropped_knees", "cropped_waist", "cropped_head"):
        if scenario == "cropped_waist":
            carry = _CARRY_CHOICES[int(rng.integers(0, 3))]  # no suitcase: it would be out of frame
            visible = _u(rng, 0.5, 0.6)
        else:
            carry = _CARRY_CHOICES[int(rng.integers(0, 4))]
            visible = _u(rng, 0.77, 0.85) if scenario == "cropped_knees" else _u(rng, 0.86, 0.9)
        extent = _BASE_EXTENT + _CARRY_EXTENT[carry[1]]
        margin = _u(rng, 0.03, 0.08) * H
        h = (H - margin) / visible
        if extent * h > W - 2 * mx:  # too wide: shrink the person and the frame height with it
            h = (W - 2 * mx) / extent
            H = max(480, int(round(margin + visible * h)))
            h = (H - margin) / visible
        if scenario == "cropped_head":  # frame top cuts the head; feet inside with the margin
            top = -(1 - visible) * h
            top = min(top, H - margin - h)
        else:
            top = margin
        single(h, top, carry)
        floor_y = int(min(H - 1, top + h))
    elif scenario == "several_people":
        n = 2 if rng.random() < 0.6 else 3
        carrier = int(rng.integers(0, n))
        carry = _CARRY_CHOICES[int(rng.integers(0, 4))]
        sides = [1 if rng.random() < 0.5 else -1 for _ in range(n)]
        heights = [_u(rng, 0.66, 0.85) * H for _ in range(n)]
        ext = [
            (
                _CARRY_EXTENT[carry[1]] if i == carrier and sides[i] < 0 else _BASE_EXTENT,
                _CARRY_EXTENT[carry[1]] if i == carrier and sides[i] > 0 else _BASE_EXTENT,
            )
            for i in range(n)
        ]
        gap = 0.03 * W
        need = (
            sum((lft + rgt) * hh for (lft, rgt), hh in zip(ext, heights, strict=True))
            + gap * (n - 1)
            + 2 * mx
        )
        if need > W:
            k = (W - 2 * mx - gap * (n - 1)) / (need - 2 * mx - gap * (n - 1))
            heights = [hh * k for hh in heights]
            need = W
        slack = (W - need) / (n + 1)
        x = mx + slack
        base = _u(rng, 0.9, 0.97) * H  # the floor line the feet stand on (+/- a little)
        for i in range(n):
            lft, rgt = ext[i]
            hh = heights[i]
            cx = x + lft * hh
            top = min(base - hh + _u(rng, -0.02, 0.02) * H, H - 0.025 * H - hh)
            p = _person(rng, cx, max(0.025 * H, top), hh, i, sides[i], carry[1] if i == carrier else None)
            people.append(p)
            if i == carrier:
                bags.append(_carried_bag(p, carry[0], carry[1], sides[i], i))
            x = cx + rgt * hh + gap + slack
        floor_y = int(base)
    elif scenario == "bag_on_floor_far":
        cls = ("handbag", "backpack", "suitcase")[int(rng.integers(0, 3))]
        h = _u(rng, 0.6, 0.8) * H
        bw = _FLOOR_SIZE[cls][0] * h
        h = min(h, (W - 2 * mx - bw) / (2 * _BASE_EXTENT + 0.55 + _FLOOR_SIZE[cls][0]))
        bw = _FLOOR_SIZE[cls][0] * h
        top = _u(rng, 0.025 * H, H - h - 0.025 * H)
        sole = top + h - 1
        person_left = rng.random() < 0.5
        cx = mx + _BASE_EXTENT * h if person_left else W - mx - _BASE_EXTENT * h
        p = _person(rng, cx, top, h, 0, 1, None)
        people.append(p)
        bx0 = W - mx - bw if person_left else mx
        bags.append(_floor_bag(cls, bx0, sole - _u(rng, 0, 0.03) * h, h))
        floor_y = int(sole - 0.02 * h)
    elif scenario == "no_person_bag":
        cls = ("handbag", "backpack", "suitcase")[int(rng.integers(0, 3))]
        ref = _u(rng, 0.5, 0.8) * H
        bw, bh = (v * ref for v in _FLOOR_SIZE[cls])
        base = _u(rng, max(bh + 0.05 * H, 0.6 * H), 0.95 * H)
        bags.append(_floor_bag(cls, _u(rng, mx, W - mx - bw), base, ref))
        floor_y = int(base - 0.05 * ref)
    # no_person_empty: nothing to add
    return PhotoSpec(
        seed=int(seed),
        index=int(index),
        scenario=scenario,
        width=int(W),
        height=int(H),
        background=background,
        wall=wall,
        floor=floor,
        floor_y=floor_y,
        texture_seed=texture_seed,
        people=tuple(people),
        bags=tuple(bags),
    )


# --------------------------------------------------------------------------------------------------
# Rendering

_PERSON_LABEL = 1  # + person index (1..4)
_BAG_LABEL = 10  # + bag index
_DISC_LABEL = 100  # + 17 * person index + COCO keypoint index


def _draw(d: ImageDraw.ImageDraw, shape: Shape, label: int) -> None:
    if shape.kind == "poly":
        d.polygon(list(shape.points), fill=label)
    elif shape.kind == "ellipse":
        (x0, y0), (x1, y1) = shape.points
        d.ellipse([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], fill=label)
    elif shape.kind == "capsule":
        (x0, y0), (x1, y1) = shape.points
        r = shape.width / 2
        length = math.hypot(x1 - x0, y1 - y0)
        if length > 0:
            nx, ny = -(y1 - y0) / length * r, (x1 - x0) / length * r
            quad = [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)]
            d.polygon([_pt(*p) for p in quad], fill=label)
        for x, y in ((x0, y0), (x1, y1)):
            d.ellipse([round(x - r), round(y - r), round(x + r), round(y + r)], fill=label)
    else:
        raise ValueError(shape.kind)


def _background(spec: PhotoSpec) -> np.ndarray:
    """A muted wall and floor; `busy` adds muted blobs and smooth grey noise (never palette-like)."""
    H, W = spec.height, spec.width
    img = Image.new("RGB", (W, H), spec.wall)
    d = ImageDraw.Draw(img)
    d.rectangle([0, max(0, min(H, spec.floor_y)), W, H], fill=spec.floor)
    if spec.background == "busy":
        rng = np.random.default_rng(spec.texture_seed)
        for _ in range(int(rng.integers(8, 20))):
            tone = _muted(rng, 40, 220)
            x0, y0 = int(rng.integers(-W // 4, W)), int(rng.integers(-H // 4, H))
            x1, y1 = x0 + int(rng.integers(W // 12, W // 2)), y0 + int(rng.integers(H // 12, H // 2))
            (d.rectangle if rng.random() < 0.5 else d.ellipse)([x0, y0, x1, y1], fill=tone)
        coarse = np.clip(np.round(rng.normal(128, 10, size=(max(2, H // 24), max(2, W // 24)))), 0, 255)
        noise = Image.fromarray(coarse.astype(np.uint8), "L").resize((W, H), Image.BILINEAR)
        # the same offset on R, G and B: a muted pixel stays muted
        img = ImageChops.add(img, Image.merge("RGB", (noise, noise, noise)), scale=1.0, offset=-128)
    return np.array(img)


def _colour_lut() -> np.ndarray:
    lut = np.zeros((256, 3), np.uint8)
    for i, c in enumerate(palette.PERSON_COLOURS):
        lut[_PERSON_LABEL + i] = c
        for k, kc in enumerate(palette.KEYPOINT_COLOURS):
            lut[_DISC_LABEL + 17 * i + k] = kc
    return lut


_LUT = _colour_lut()


def _box(mask: np.ndarray) -> list[float]:
    """[x0, y0, x1, y1] normalised; x1/y1 are one past the last pixel (so a full mask is [0,0,1,1])."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    return [xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h]


def render(spec: PhotoSpec) -> Rendered:
    """Draw the photo (no anti-aliasing) and derive masks, boxes and keypoints from what was drawn."""
    W, H = spec.width, spec.height
    label_img = Image.new("L", (W, H), 0)
    d = ImageDraw.Draw(label_img)
    bag_label = {id(b): _BAG_LABEL + j for j, b in enumerate(spec.bags)}
    for b in spec.bags:
        if b.z == "back":
            for s in b.shapes:
                _draw(d, s, bag_label[id(b)])
    for i, p in enumerate(spec.people):
        for s in p.body:
            _draw(d, s, _PERSON_LABEL + i)
        for b in spec.bags:
            if b.z == "mid" and b.carried_by == i:
                for s in b.shapes:
                    _draw(d, s, bag_label[id(b)])
        for s in p.arms:
            _draw(d, s, _PERSON_LABEL + i)
    for b in spec.bags:
        if b.z == "front":
            for s in b.shapes:
                _draw(d, s, bag_label[id(b)])
    visible: list[dict[str, bool]] = []
    for i, p in enumerate(spec.people):
        vis = {}
        r = p.disc_radius
        for k, name in enumerate(palette.COCO_KEYPOINTS):
            x, y = p.joints[name]
            vis[name] = 0 <= x < W and 0 <= y < H
            if vis[name]:
                d.ellipse([x - r, y - r, x + r, y + r], fill=_DISC_LABEL + 17 * i + k)
        visible.append(vis)
    labels = np.asarray(label_img)

    rgb = _background(spec)
    drawn = labels > 0
    lut = _LUT.copy()
    for j, b in enumerate(spec.bags):
        lut[_BAG_LABEL + j] = palette.BAG_COLOURS[b.cls]
    rgb[drawn] = lut[labels[drawn]]

    masks: dict[str, np.ndarray] = {}
    discs: dict[str, np.ndarray] = {}
    people_truth = []
    for i, p in enumerate(spec.people):
        disc = (labels >= _DISC_LABEL + 17 * i) & (labels < _DISC_LABEL + 17 * (i + 1))
        mask = (labels == _PERSON_LABEL + i) | disc
        masks[f"person/{i}"], discs[f"person/{i}"] = mask, disc
        kps = []
        for name in OPENPOSE_FROM_COCO:
            if name == "neck":
                ls, rs = p.joints["left_shoulder"], p.joints["right_shoulder"]
                ok = visible[i]["left_shoulder"] and visible[i]["right_shoulder"]
                kps.append(
                    [(ls[0] + rs[0]) / 2 / W, (ls[1] + rs[1]) / 2 / H, 1.0] if ok else [-1.0, -1.0, 0.0]
                )
            elif visible[i][name]:
                x, y = p.joints[name]
                kps.append([x / W, y / H, 1.0])
            else:
                kps.append([-1.0, -1.0, 0.0])
        people_truth.append(
            {
                "box": _box(mask),
                "full_body": bool(p.top >= 0 and p.top + p.height <= H),
                "keypoints": kps,
                "colour": list(palette.PERSON_COLOURS[i]),
                "height_px": p.height,
            }
        )
    bags_truth = []
    for j, b in enumerate(spec.bags):
        mask = labels == _BAG_LABEL + j
        masks[f"bag/{j}"] = mask
        bags_truth.append(
            {
                "class": b.cls,
                "coco_id": palette.BAG_COCO_IDS[b.cls],
                "box": _box(mask),
                "carried_by": b.carried_by,
                "mode": b.mode,
                "colour": list(palette.BAG_COLOURS[b.cls]),
            }
        )
    sc = SCENARIOS[spec.scenario]
    truth = {
        "index": spec.index,
        "seed": spec.seed,
        "scenario": spec.scenario,
        "width": W,
        "height": H,
        "background": spec.background,
        "people": people_truth,
        "bags": bags_truth,
        "expected_keep": sc.expected_keep,
        "expected_reason": sc.expected_reason,
    }
    return Rendered(image=Image.fromarray(rgb, "RGB"), truth=truth, masks=masks, discs=discs)


# --------------------------------------------------------------------------------------------------
# Encoding (what the fixture site serves)


def encode_jpeg(image: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG as served: quality 95, 4:4:4 chroma (so palette colours survive), deterministic bytes."""
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, subsampling=0, optimize=False)
    return buf.getvalue()


def thumbnail(image: Image.Image, long_edge: int = THUMB_LONG_EDGE) -> Image.Image:
    """The small search-page preview (not in the ground truth; spiders should never store it)."""
    w, h = image.size
    k = long_edge / max(w, h)
    return image.resize((max(1, round(w * k)), max(1, round(h * k))), Image.BILINEAR)


def photo(seed: int, index: int) -> Rendered:
    """`render(photo_spec(seed, index))`."""
    return render(photo_spec(seed, index))
