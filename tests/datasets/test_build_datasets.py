"""build-datasets: every format read back by a reader written from that format's specification."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from adgen import config
from adgen.datasets.build import build_datasets
from adgen.matting.strip import strip
from adgen.pose import heatmaps
from adgen.pose.stage import estimate_poses
from tests.datasets.deepfashion_folder import build_deepfashion
from tests.matting.scenes import draw_person, write_filtered_project


@pytest.fixture
def project(tmp_path: Path, fixture_pose_dir: Path) -> config.Params:
    """3 people with bags, 1 without, a DeepFashion folder; stripped and posed."""
    build_deepfashion(tmp_path / "deepfashion")
    scenes = [draw_person(seed=i, w=180, h=300) for i in range(3)] + [draw_person(seed=9, bag=None)]
    write_filtered_project(tmp_path, scenes)
    p = config.from_dict(
        {
            "pose": {"model": str(fixture_pose_dir)},
            "datasets": {"deepfashion": "deepfashion", "stylegan2_resolution": 64},
            "strip": {"refine_detector_masks": False},
        },
        root=tmp_path,
    )
    strip(p)
    estimate_poses(p)
    return p


def read_nvlabs_zip(path: Path) -> tuple[list[np.ndarray], object]:
    """stylegan2-ada-pytorch's ImageFolderDataset on a zip: image files by extension, sorted;
    labels from dataset.json's "labels" (null = unconditional); every image the same shape."""
    with zipfile.ZipFile(path) as zf:
        names = sorted(n for n in zf.namelist() if n.lower().endswith((".png", ".jpg", ".jpeg")))
        meta = json.loads(zf.read("dataset.json"))
        images = [np.asarray(Image.open(io.BytesIO(zf.read(n)))) for n in names]
    assert "labels" in meta
    assert len({im.shape for im in images}) == 1
    return images, meta["labels"]


def read_gfla(root: Path, split: str):
    """GFLA's FashionDataset: pairs via pd.read_csv (from, to); annotations via
    pd.read_csv(sep=':').set_index('name') and json lists -> [18, 2] (y, x), -1 missing."""
    pairs = pd.read_csv(root / f"fashion-resize-pairs-{split}.csv")
    ann = pd.read_csv(root / f"fashion-resize-annotation-{split}.csv", sep=":").set_index("name")
    out = {}
    for name, row in ann.iterrows():
        y, x = json.loads(row["keypoints_y"]), json.loads(row["keypoints_x"])
        out[name] = np.concatenate([np.expand_dims(y, -1), np.expand_dims(x, -1)], axis=1)
    return [(r["from"], r["to"]) for _, r in pairs.iterrows()], out


def test_stgan_index_lists_real_background_and_foreground_at_each_size(project: config.Params) -> None:
    r = build_datasets(project)
    idx = pd.read_parquet(project.root / "data/datasets/stgan/index.parquet")
    assert {"role", "size", "path", "image_id", "anchor_x", "anchor_y"} <= set(idx.columns)
    for size in (64, 128):
        at = idx[idx["size"] == size]
        assert (at["role"] == "real").sum() == 3 and (at["role"] == "foreground").sum() == 3
        # backgrounds: 9 DeepFashion + 1 person photographed without a bag + 3 kept with the bag removed
        assert sorted(at[at["role"] == "background"]["source"].value_counts().items()) == [
            ("deepfashion", 9), ("kept_bag_removed", 3), ("no_bag", 1)]  # fmt: skip
        for row in at.to_dict("records"):
            im = Image.open(project.root / row["path"])
            if row["role"] == "foreground":
                a = np.asarray(im)
                assert im.mode == "RGBA" and max(im.size) == size and 0 < (a[..., 3] > 0).mean() <= 1
            else:
                assert im.mode == "RGB" and im.size == (size, size)
        real = at[at["role"] == "real"]
        assert real["anchor_x"].between(0, 1).all() and real["anchor_y"].between(0, 1).all()
    assert r.counts["stgan"]["real_64"] == 3


def test_stgan_real_images_are_padded_not_cropped(project: config.Params) -> None:
    build_datasets(project)
    idx = pd.read_parquet(project.root / "data/datasets/stgan/index.parquet")
    row = idx[(idx["role"] == "real") & (idx["size"] == 128)].iloc[0]
    arr = np.asarray(Image.open(project.root / row["path"])).astype(int)
    # A tall cut-out in a square: white bars left and right, the person touches neither side.
    assert (arr[:, :5] >= 250).all() and (arr[:, -5:] >= 250).all()
    dark = np.nonzero((arr < 200).any(axis=2))
    assert dark[0].min() > 0 and dark[0].max() < 127  # head and feet inside the frame


def test_foreground_resizing_keeps_straight_alpha_without_dark_fringes(project: config.Params) -> None:
    build_datasets(project)
    idx = pd.read_parquet(project.root / "data/datasets/stgan/index.parquet")
    fg = idx[(idx["role"] == "foreground") & (idx["size"] == 64)].iloc[0]
    a = np.asarray(Image.open(project.root / fg["path"]).convert("RGBA")).astype(int)
    visible = a[..., 3] > 20
    # The bag is flat yellow (255, 255, 0): resizing must not darken partly transparent edge pixels.
    assert (a[visible][:, 0] > 230).all() and (a[visible][:, 1] > 230).all()


def test_stylegan2_zip_is_nvlabs_format_with_padded_2_to_1_images(project: config.Params) -> None:
    build_datasets(project)
    images, labels = read_nvlabs_zip(project.root / "data/datasets/stylegan2/people-bags.zip")
    assert labels is None and len(images) == 3
    assert images[0].shape == (64, 32, 3)  # 2:1, height = stylegan2_resolution
    with zipfile.ZipFile(project.root / "data/datasets/stylegan2/people-bags.zip") as zf:
        assert "00000/img00000000.png" in zf.namelist()
    card = json.loads((project.root / "data/datasets/stylegan2/card.json").read_text())
    assert card["counts"] == {"images": 3} and card["sizes"]["height"] == 64
    assert card["licences"] == {"royalty-free (fixture)": 3} and card["sources"] == {"fixture": 3}


def test_gfla_layout_is_read_back_as_the_official_code_reads_it(project: config.Params) -> None:
    r = build_datasets(project)
    root = project.root / "data/datasets/gfla"
    for split in ("train", "test"):
        pairs, ann = read_gfla(root, split)
        assert pairs, split
        for a, b in pairs:
            assert a in ann and b in ann and a != b
            assert a.split("id")[1][:8] == b.split("id")[1][:8]  # same DeepFashion item = same person
        for name, yx in ann.items():
            im = Image.open(root / split / name)
            assert im.size == (176, 256)
            present = yx[(yx >= 0).all(axis=1)]
            assert len(present) >= 14
            assert (present[:, 0] < 256).all() and (present[:, 1] < 176).all()
            # GFLA's own heatmap rendering from these cords peaks where ours does.
            kp = np.stack([yx[:, 1] / 176, yx[:, 0] / 256, (yx[:, 0] >= 0).astype(float)], axis=1)
            hm = heatmaps(kp, 256, 176)
            k = int(np.nonzero((yx >= 0).all(axis=1))[0][0])
            assert np.unravel_index(hm[k].argmax(), hm[k].shape) == tuple(yx[k])
        # the names GFLA's FashionDataset opens carry the same content
        assert (root / f"fasion-pairs-{split}.csv").read_text() == (
            root / f"fashion-resize-pairs-{split}.csv"
        ).read_text()
    assert r.counts["gfla"]["test_images"] == 3 and r.counts["gfla"]["train_images"] == 6
    card = json.loads((root / "card.json").read_text())
    assert card["sources"] == {"deepfashion": 9}


def test_curated_pairs_come_only_from_near_duplicate_groups_with_different_poses(
    tmp_path: Path, fixture_pose_dir: Path
) -> None:
    scenes = [draw_person(seed=1), draw_person(seed=2, lift=0.1), draw_person(seed=3)]
    df = write_filtered_project(tmp_path, scenes)
    df["duplicate_of"] = [None, df["image_id"][0], None]  # photos 0 and 1: the same model, twice
    df.to_parquet(tmp_path / "data/filtered/manifest.parquet")
    p = config.from_dict(
        {"pose": {"model": str(fixture_pose_dir)}, "datasets": {"gfla_test_fraction": 0.0}}, root=tmp_path
    )
    strip(p)
    estimate_poses(p)
    build_datasets(p)
    pairs, ann = read_gfla(tmp_path / "data/datasets/gfla", "train")
    assert len(ann) == 2 and len(pairs) == 2
    names = {f"adgen{i[:24]}.jpg" for i in df["image_id"][:2]}
    assert {a for a, _ in pairs} == names


def test_rerun_with_unchanged_inputs_does_nothing(project: config.Params) -> None:
    assert not build_datasets(project).skipped
    zip_path = project.root / "data/datasets/stylegan2/people-bags.zip"
    before = zip_path.stat().st_mtime_ns, zip_path.read_bytes()
    again = build_datasets(project)
    assert again.skipped and zip_path.stat().st_mtime_ns == before[0]
    assert again.counts["stylegan2"] == {"images": 3}
    forced = build_datasets(project, force=True)
    assert not forced.skipped and zip_path.read_bytes() == before[1]  # byte-for-byte reproducible
