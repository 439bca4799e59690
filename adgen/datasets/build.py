"""The build-datasets stage: stripped people + poses (+ DeepFashion, + user bags) -> data/datasets/.

Writes stgan/ (index.parquet), stylegan2/<name>.zip, gfla/ (official layout) and dpig/ (images +
people.parquet), each with a card.json. Datasets are derived data, so each is rebuilt whole when any input changed; a re-run
with unchanged inputs does nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from adgen import safety, stamp
from adgen.config import Params
from adgen.datasets import dpig, gfla, stgan, stylegan2
from adgen.datasets.cards import write_card, write_cards_metrics
from adgen.datasets.framing import crop_points
from adgen.datasets.sources import (
    StrippedPerson,
    anchor_in_crop,
    pose_table,
    stripped_people,
)

CURATED_LICENCE_NOTE = "crawled images keep their sites' licences; see licences; not for redistribution"


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    counts: dict[str, dict[str, int]]
    skipped: bool


def _bucket(key: str, fraction: float) -> bool:
    """Deterministic pseudo-random split: True for about `fraction` of keys."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < fraction


def _deepfashion(params: Params):
    if params.datasets.deepfashion is None:
        return None
    from adgen.deepfashion import DeepFashionInShop

    return DeepFashionInShop(params.path(params.datasets.deepfashion))


def _inputs_fingerprint(params: Params) -> str:
    files = [
        params.path(params.paths.stripped) / "manifest.parquet",
        params.path(params.paths.pose) / "keypoints.parquet",
    ]
    from adgen.store.locations import user_bags_table

    files.append(user_bags_table(params))
    extra: dict = {"datasets": params.datasets.model_dump(mode="json")}
    df = _deepfashion(params)
    if df is not None:
        extra["deepfashion"] = [str(im.path.relative_to(df.root)) for im in df.images]
        files += [f for s in ("train", "test") for f in (df.annotation_file(s), df.pairs_file(s)) if f]
    return stamp.fingerprint(extra, files)


def _stgan_inputs(
    params: Params, people: list[StrippedPerson], deepfashion, df_kps
) -> list[stgan.StganInput]:
    items: list[stgan.StganInput] = []
    for p in people:
        anchor = anchor_in_crop(p)
        if p.has_bag:
            items.append(stgan.StganInput("real", p.image_id, p.white, "kept", p.bag_class, anchor))
            if params.datasets.background_from_kept:
                items.append(
                    stgan.StganInput(
                        "background", p.image_id, p.nobag_white, "kept_bag_removed", None, anchor
                    )
                )
            if p.bag_rgba is not None:
                items.append(stgan.StganInput("foreground", p.image_id, p.bag_rgba, "kept", p.bag_class))
        else:
            items.append(stgan.StganInput("background", p.image_id, p.white, "no_bag", None, anchor))
    if deepfashion is not None:
        for im in deepfashion.images:
            kp = df_kps.get(im.gfla_name)
            anchor = None
            if kp is not None:
                wrists = [k for k in (4, 7) if kp[k, 2] > 0]
                anchor = (float(kp[wrists[0], 0]), float(kp[wrists[0], 1])) if wrists else None
            image_id = hashlib.sha256(im.path.read_bytes()).hexdigest()
            items.append(stgan.StganInput("background", image_id, im.path, "deepfashion", None, anchor))
    from adgen.bags.importer import user_bags

    rows, bags = user_bags(params)
    for r in rows.to_dict("records"):
        items.append(stgan.StganInput("foreground", r["image_id"], bags.image(r["member"]), "user"))
    return items


def _deepfashion_keypoints(deepfashion, poses: pd.DataFrame) -> dict[str, np.ndarray]:
    """GFLA name -> keypoints: the official annotations first, else our pose table."""
    from adgen.pose.stage import keypoints_array

    out: dict[str, np.ndarray] = {}
    sel = poses[poses["source"] == "deepfashion"] if len(poses) else poses
    if "gfla_name" in sel:
        for name, kp in zip(sel["gfla_name"], sel["keypoints"], strict=True):
            out[str(name)] = keypoints_array(kp)
    if deepfashion is not None:
        out.update(deepfashion.keypoints)
    return out


def _gfla_inputs(params: Params, people: list[StrippedPerson], deepfashion, df_kps):
    images: list[gfla.GflaImage] = []
    frac = params.datasets.gfla_test_fraction
    if deepfashion is not None:
        splits = deepfashion.splits
        for im in deepfashion.images:
            kp = df_kps.get(im.gfla_name)
            if kp is None:
                continue
            split = splits.get(im.gfla_name) or ("test" if _bucket(im.item_id, frac) else "train")
            images.append(gfla.GflaImage(im.gfla_name, split, im.path, kp, im.item_id, "deepfashion"))
    if params.datasets.gfla_pairs_from_duplicates:
        groups: dict[str, list[StrippedPerson]] = {}
        for p in people:
            if p.keypoints is not None:
                groups.setdefault(p.group, []).append(p)
        for key, members in groups.items():
            if len(members) < 2:
                continue
            split = "test" if _bucket(key, frac) else "train"
            for p in members:
                kp = p.keypoints.copy()
                kp[:, :2] = crop_points(kp[:, :2], p.crop_box)
                images.append(
                    gfla.GflaImage(f"adgen{p.image_id[:24]}.jpg", split, p.white, kp, key, "curated")
                )
    rng = np.random.default_rng(params.datasets.seed)
    pairs: dict[str, list[tuple[str, str]]] = {}
    for split in ("train", "test"):
        chosen = [im for im in images if im.split == split]
        names = {im.name for im in chosen}
        official = deepfashion.official_pairs(split) if deepfashion is not None else []
        official = [(a, b) for a, b in official if a in names and b in names]
        by_person: dict[str, list[gfla.GflaImage]] = {}
        for im in chosen:
            if im.origin == "curated" or not official:
                by_person.setdefault(im.person, []).append(im)
        pairs[split] = official + gfla.pairs_within(by_person, params.datasets.gfla_max_pairs_per_person, rng)
    return images, pairs


DATASET_NAMES = ("stgan", "stylegan2", "gfla", dpig.NAME)


def build_datasets(params: Params, force: bool = False) -> BuildResult:
    out_dir = params.path(params.paths.datasets)
    st = stamp.Stamp(out_dir / ".stamp")
    key = _inputs_fingerprint(params)
    expected = [
        out_dir / "stgan" / "index.parquet",
        out_dir / "stylegan2" / f"{params.datasets.stylegan2_name}.zip",
        out_dir / "gfla" / "fashion-resize-pairs-train.csv",
        out_dir / dpig.NAME / dpig.TABLE,
    ]
    if not force and st.matches(key) and all(f.is_file() for f in expected):
        counts = {
            n: json.loads((out_dir / n / "card.json").read_text())["counts"]
            for n in DATASET_NAMES
            if (out_dir / n / "card.json").is_file()
        }
        write_cards_metrics(params.path(params.paths.metrics), out_dir, DATASET_NAMES)
        return BuildResult(out_dir, counts, skipped=True)
    st.clear()
    with _previous_kept_until_done(out_dir):
        counts = _build(params, out_dir)
        write_cards_metrics(params.path(params.paths.metrics), out_dir, DATASET_NAMES)
    st.write(key)
    return BuildResult(out_dir, counts, skipped=False)


@contextlib.contextmanager
def _previous_kept_until_done(out_dir: Path) -> Iterator[None]:
    """The last complete datasets wait in `.previous/` while new ones are written; a failure (a full
    disk, bad input) puts them back, so a stage that stops never leaves less than it found."""
    previous = out_dir / ".previous"
    with safety.writing(out_dir):
        if previous.is_dir():  # a build killed last time: its outputs are partial, the kept ones whole
            _restore(previous, out_dir)
        previous.mkdir(parents=True, exist_ok=True)
        for name in DATASET_NAMES:
            if (out_dir / name).exists():
                os.replace(out_dir / name, previous / name)
    # the DVC-metric copies of the cards sit beside other files DVC manages: kept by content
    cards = {p: p.read_bytes() for p in (out_dir / "cards").glob("*.json")}
    try:
        yield
    except BaseException:
        _restore(previous, out_dir)
        for path, data in cards.items():
            with contextlib.suppress(OSError):
                path.write_bytes(data)
        raise
    shutil.rmtree(previous, ignore_errors=True)


def _restore(previous: Path, out_dir: Path) -> None:
    for name in DATASET_NAMES:
        if (previous / name).exists():
            shutil.rmtree(out_dir / name, ignore_errors=True)
            os.replace(previous / name, out_dir / name)
    shutil.rmtree(previous, ignore_errors=True)


def _build(params: Params, out_dir: Path) -> dict[str, dict[str, int]]:
    poses = pose_table(params)
    people = stripped_people(params, poses)
    deepfashion = _deepfashion(params)
    df_kps = _deepfashion_keypoints(deepfashion, poses)
    sites = Counter(p.site for p in people)
    licences = Counter(p.license for p in people)
    counts: dict[str, dict[str, int]] = {}

    # ST-GAN
    d = out_dir / "stgan"
    items = _stgan_inputs(params, people, deepfashion, df_kps)
    index = stgan.write_stgan(items, params.datasets.stgan_sizes, d, params.root)
    counts["stgan"] = {
        f"{role}_{size}": int(((index["role"] == role) & (index["size"] == size)).sum())
        for role in ("real", "background", "foreground")
        for size in params.datasets.stgan_sizes
    }
    origins = Counter(i.origin for i in items)
    write_card(
        d, "stgan", counts["stgan"], {"square": params.datasets.stgan_sizes, "foreground": "fit inside size"},
        sites + Counter({"deepfashion": origins["deepfashion"], "user_bags": origins["user"]}), licences,
        "real = people with bags on white; background = people without bags; foreground = bag RGBA. "
        + CURATED_LICENCE_NOTE,
    )  # fmt: skip

    # StyleGAN2
    d = out_dir / "stylegan2"
    with_bags = [p for p in people if p.has_bag]
    res, aspect = params.datasets.stylegan2_resolution, params.datasets.stylegan2_aspect
    zip_path = d / f"{params.datasets.stylegan2_name}.zip"
    w, h = stylegan2.write_nvlabs_zip([p.white for p in with_bags], zip_path, res, aspect)
    counts["stylegan2"] = {"images": len(with_bags)}
    write_card(
        d, "stylegan2", counts["stylegan2"], {"width": w, "height": h, "aspect": aspect, "zip": zip_path.name},
        Counter(p.site for p in with_bags), Counter(p.license for p in with_bags),
        "people with bags on white, padded (never cropped). " + CURATED_LICENCE_NOTE,
    )  # fmt: skip

    # GFLA
    d = out_dir / "gfla"
    images, pairs = _gfla_inputs(params, people, deepfashion, df_kps)
    counts["gfla"] = gfla.write_gfla(images, pairs, d)
    origins = Counter(im.origin for im in images)
    cur_ids = {im.name for im in images if im.origin == "curated"}
    cur = [p for p in people if f"adgen{p.image_id[:24]}.jpg" in cur_ids]
    write_card(
        d, "gfla", counts["gfla"], {"height": gfla.HEIGHT, "width": gfla.WIDTH},
        Counter({"deepfashion": origins["deepfashion"]}) + Counter(p.site for p in cur),
        Counter({"DeepFashion (research use only)": origins["deepfashion"]}) + Counter(p.license for p in cur),
        "pairs: DeepFashion by item id (official pairs when present); curated only within near-duplicate "
        "groups whose poses differ. " + CURATED_LICENCE_NOTE,
    )  # fmt: skip

    # DPIG
    d = out_dir / dpig.NAME
    items = dpig.entries(people, deepfashion, df_kps, params.datasets.dpig_min_keypoints)
    counts[dpig.NAME] = dpig.write_dpig(items, d)
    write_card(
        d, dpig.NAME, counts[dpig.NAME], {"frame": "as stored (DPIG fits them into train.dpig height x width)"},
        Counter(e.site for e in items), Counter(e.license for e in items),
        f"people with at least {params.datasets.dpig_min_keypoints} keypoints (18 OpenPose points normalised to "
        "the image): stripped people on white, DeepFashion In-shop photos. " + CURATED_LICENCE_NOTE,
    )  # fmt: skip
    return counts
