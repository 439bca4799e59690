"""The strip stage over a filtered manifest: every backend, drops with reasons, and no-op re-runs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from adgen import config
from adgen.errors import UserError
from adgen.matting.evaluate import alpha_in_frame, iou
from adgen.matting.grabcut import grabcut_mask
from adgen.matting.photo import box_to_pixels
from adgen.matting.strip import cutouts, strip
from adgen.store import StoreReader
from tests.matting.scenes import draw_person, replace_photo, store_masks, write_filtered_project


def _params(root: Path, **strip_params) -> config.Params:
    return config.from_dict({"strip": {"refine_detector_masks": False, **strip_params}}, root=root)


def _rows(root: Path) -> pd.DataFrame:
    return pd.read_parquet(root / "data/stripped/manifest.parquet")


def _cut(root: Path, member: str) -> bytes:
    """A cut-out's PNG bytes, read through strip's store."""
    return cutouts(_params(root)).get(member)


def _image(root: Path, member: str) -> Image.Image:
    return Image.open(io.BytesIO(_cut(root, member)))


def test_detector_masks_become_the_alpha_of_person_and_bag_cutouts(tmp_path: Path) -> None:
    scene = draw_person(seed=1)
    write_filtered_project(tmp_path, [scene], image_format="PNG")
    r = strip(_params(tmp_path))
    assert (r.n_input, r.n_kept) == (1, 1)
    row = _rows(tmp_path).iloc[0]
    assert row["mask_source"] == "detector" and row["reason"] == "kept" and row["has_bag"]
    w, h = scene.image.size
    person = alpha_in_frame(_cut(tmp_path, row["person_rgba"]), list(row["crop_box"]), w, h)
    np.testing.assert_array_equal(person >= 0.5, scene.person | scene.bag)  # alpha is exactly the mask
    bag = alpha_in_frame(_cut(tmp_path, row["bag_rgba"]), list(row["bag_crop_box"]), w, h)
    np.testing.assert_array_equal(bag >= 0.5, scene.bag)
    rgba = np.asarray(_image(tmp_path, row["bag_rgba"]))
    assert rgba.shape[2] == 4 and (rgba[..., 3] == 255).all()  # tight: the bag box is all bag
    white = np.asarray(_image(tmp_path, row["person_white"]))
    assert white.shape[2] == 3 and (white[0, 0] == 255).all()
    nobag = np.asarray(_image(tmp_path, row["person_nobag_white"]))
    from adgen.fixtures.site.palette import BAG_COLOURS, colour_mask

    assert colour_mask(white, BAG_COLOURS["handbag"]).sum() > 100
    assert colour_mask(nobag, BAG_COLOURS["handbag"]).sum() == 0  # the bag region is painted white
    assert row["person_rgba"].endswith(".person.png") and row["bag_rgba"].endswith(".bag.png")


def test_image_without_detector_mask_falls_back_to_grabcut_or_is_dropped(tmp_path: Path) -> None:
    scene = draw_person(seed=2)
    write_filtered_project(tmp_path, [scene], with_masks=False)
    strip(_params(tmp_path))
    row = _rows(tmp_path).iloc[0]
    assert row["mask_source"] == "grabcut" and row["keep"]
    w, h = scene.image.size
    person = alpha_in_frame(_cut(tmp_path, row["person_rgba"]), list(row["crop_box"]), w, h)
    assert iou(person, scene.person | scene.bag) >= 0.8
    strip(_params(tmp_path, fallback="drop"))
    row = _rows(tmp_path).iloc[0]
    assert not row["keep"] and row["reason"] == "no_person_mask" and pd.isna(row["person_rgba"])


def test_grabcut_backend_cuts_person_and_bag_without_any_model(tmp_path: Path) -> None:
    scenes = [draw_person(seed=s, w=200, h=300) for s in range(3)]
    write_filtered_project(tmp_path, scenes)
    r = strip(_params(tmp_path, backend="grabcut"))
    assert r.n_kept == 3
    df = _rows(tmp_path)
    assert set(df["mask_source"]) == {"grabcut"}
    for row, scene in zip(df.to_dict("records"), scenes, strict=True):
        person = alpha_in_frame(_cut(tmp_path, row["person_rgba"]), list(row["crop_box"]), 200, 300)
        bag = alpha_in_frame(_cut(tmp_path, row["bag_rgba"]), list(row["bag_crop_box"]), 200, 300)
        assert iou(person, scene.person | scene.bag) >= 0.8
        assert iou(bag, scene.bag) >= 0.8


def test_bag_touching_the_border_is_cut_out_and_flagged(tmp_path: Path) -> None:
    scene = draw_person(seed=3, bag_at_border=True)
    assert scene.bag[:, 0].any()
    write_filtered_project(tmp_path, [scene])
    strip(_params(tmp_path))
    row = _rows(tmp_path).iloc[0]
    assert row["keep"] and row["bag_touches_edge"] and not row["person_touches_edge"]
    assert row["bag_crop_box"][0] == 0.0
    w, h = scene.image.size
    bag = alpha_in_frame(_cut(tmp_path, row["bag_rgba"]), list(row["bag_crop_box"]), w, h)
    np.testing.assert_array_equal(bag >= 0.5, scene.bag)


def test_people_without_bags_are_stripped_as_backgrounds_only_when_asked(tmp_path: Path) -> None:
    write_filtered_project(tmp_path, [draw_person(seed=4), draw_person(seed=5, bag=None)])
    strip(_params(tmp_path))
    df = _rows(tmp_path).set_index("has_bag")
    assert len(df) == 2 and pd.isna(df.loc[False, "bag_rgba"]) and df.loc[False, "keep"]
    assert df.loc[False, "person_nobag_white"] == df.loc[False, "person_white"]  # one member
    strip(_params(tmp_path, include_no_bag=False))
    assert _rows(tmp_path)["has_bag"].all()


def test_bad_masks_are_dropped_with_their_reason(tmp_path: Path) -> None:
    scene = draw_person(seed=6)
    df = write_filtered_project(tmp_path, [scene])
    tiny = np.zeros_like(scene.person)
    tiny[100:104, 80:84] = True
    df.loc[0, "person_mask"], _ = store_masks(tmp_path, "a tiny mask", tiny, None)
    df.to_parquet(tmp_path / "data/filtered/manifest.parquet", index=False)
    strip(_params(tmp_path))
    row = _rows(tmp_path).iloc[0]
    assert not row["keep"] and row["reason"] == "person_mask_too_small" and row["person_area_ratio"] < 0.01


def test_unreadable_photo_is_recorded_not_fatal(tmp_path: Path) -> None:
    df = write_filtered_project(tmp_path, [draw_person(seed=7), draw_person(seed=8)])
    replace_photo(tmp_path, df, 0, b"not a jpeg")
    r = strip(_params(tmp_path))
    assert (r.n_input, r.n_kept) == (2, 1)
    assert _rows(tmp_path).set_index("image_id").loc[df["image_id"][0], "reason"] == "unreadable"


def _shards(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (root / "data/stripped/store/shards").glob("*.tar")}


def test_rerun_with_unchanged_inputs_does_nothing_and_refresh_recuts_only_new(tmp_path: Path) -> None:
    write_filtered_project(tmp_path, [draw_person(seed=1)])
    p = _params(tmp_path)
    assert not strip(p).skipped
    out = tmp_path / "data/stripped/manifest.parquet"
    before = out.stat().st_mtime_ns
    shards_before = _shards(tmp_path)
    assert len(shards_before) == 1
    again = strip(p)
    assert again.skipped and out.stat().st_mtime_ns == before
    assert _shards(tmp_path) == shards_before
    write_filtered_project(tmp_path, [draw_person(seed=1), draw_person(seed=9)])
    r = strip(p)
    assert (r.n_input, r.n_reused) == (2, 1)
    r = strip(_params(tmp_path, crop_margin=0.2))  # a changed param re-cuts everything
    assert r.n_reused == 0 and not r.skipped


def test_strip_rerun_adds_no_shard_and_a_refresh_adds_one(tmp_path: Path) -> None:
    write_filtered_project(tmp_path, [draw_person(seed=1), draw_person(seed=2)])
    strip(_params(tmp_path))
    first = _shards(tmp_path)
    r = strip(_params(tmp_path), force=False)
    assert r.skipped and _shards(tmp_path) == first
    (tmp_path / "data/stripped/.stamp").unlink()  # inputs look changed: every cut-out is reused
    r = strip(_params(tmp_path))
    assert (r.n_reused, r.skipped) == (2, False) and _shards(tmp_path) == first  # no new shard
    write_filtered_project(tmp_path, [draw_person(seed=s) for s in (1, 2, 3)])
    r = strip(_params(tmp_path))
    assert (r.n_input, r.n_reused) == (3, 2)
    now = _shards(tmp_path)
    assert len(now) == len(first) + 1 and {k: now[k] for k in first} == first  # old shards untouched
    (added,) = set(now) - set(first)
    reader = StoreReader(tmp_path / "data/stripped/store")
    where = {reader.location(m.split(".")[0], "person.png")[0] for m in _rows(tmp_path)["person_rgba"]}
    assert where == {*first, added}  # the new photo's cut-outs are in the new shard


def test_a_strip_killed_midway_loses_no_cutout_and_the_next_run_ends_as_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut-outs used to wait in memory until the writer closed: a kill at 90 % of a long strip lost
    every one. Now each is staged durably with its row, and the next run reuses them."""
    import adgen.matting.strip as strip_module

    scenes = [draw_person(seed=s) for s in (1, 2, 3, 4)]
    write_filtered_project(tmp_path / "straight", scenes)
    strip(_params(tmp_path / "straight"))
    write_filtered_project(tmp_path / "killed", scenes)
    real, calls = strip_module.strip_one, []

    def dies_on_the_third(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # as a kill: the stage ends without closing its writer
        return real(*args, **kw)

    monkeypatch.setattr(strip_module, "strip_one", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        strip(_params(tmp_path / "killed"))
    assert not (tmp_path / "killed/data/stripped/manifest.parquet").exists()
    monkeypatch.setattr(strip_module, "strip_one", real)
    r = strip(_params(tmp_path / "killed"))
    assert (r.n_input, r.n_reused) == (4, 2)  # the two cut before the kill are not cut again
    straight, resumed = _rows(tmp_path / "straight"), _rows(tmp_path / "killed")
    # (the raw store's shard names differ between the two projects: random writer tokens)
    pd.testing.assert_frame_equal(resumed.drop(columns="shard"), straight.drop(columns="shard"))
    for column in ("person_rgba", "bag_rgba"):
        for member in straight[column]:
            assert _cut(tmp_path / "killed", member) == _cut(tmp_path / "straight", member)


def test_a_cutout_shard_is_read_back_by_the_webdataset_package(tmp_path: Path) -> None:
    wds = pytest.importorskip("webdataset")
    write_filtered_project(tmp_path, [draw_person(seed=1)])
    strip(_params(tmp_path))
    row = _rows(tmp_path).iloc[0]
    (shard,) = (tmp_path / "data/stripped/store/shards").glob("*.tar")
    (sample,) = list(wds.WebDataset(str(shard), shardshuffle=False))
    assert sample["__key__"] == row["person_rgba"].split(".")[0]
    for column, field in (("person_rgba", "person.png"), ("person_white", "white.png"),
                          ("person_nobag_white", "nobag.png"), ("bag_rgba", "bag.png")):  # fmt: skip
        assert sample[field] == _cut(tmp_path, row[column]) and row[column].endswith(field)
    assert json.loads(sample["json"])["image_id"] == row["image_id"]


def test_a_workspace_with_per_file_cutouts_is_cut_again_into_the_store(tmp_path: Path) -> None:
    """A stripped manifest from before the store names files (`*_path`): strip re-cuts every
    photo into data/stripped/store, names the members, and removes the old files."""
    write_filtered_project(tmp_path, [draw_person(seed=1)])
    strip(_params(tmp_path))
    df = _rows(tmp_path)
    old = tmp_path / "data/stripped/images/ab"
    old.mkdir(parents=True)
    (old / ("ab" * 32 + ".png")).write_bytes(_cut(tmp_path, df["person_white"][0]))
    legacy = df.drop(columns=["person_rgba", "person_white", "person_nobag_white", "bag_rgba"])
    legacy["person_white_path"] = "data/stripped/images/ab/" + "ab" * 32 + ".png"
    legacy.to_parquet(tmp_path / "data/stripped/manifest.parquet", index=False)
    (tmp_path / "data/stripped/.stamp").unlink()
    r = strip(_params(tmp_path))
    assert (r.n_kept, r.n_reused) == (1, 0)
    row = _rows(tmp_path).iloc[0]
    assert "person_white_path" not in row and row["person_white"] == df["person_white"][0]
    assert not (tmp_path / "data/stripped/images").exists()
    assert _image(tmp_path, row["person_white"]).size[0] > 0


def test_rembg_backend_without_its_model_file_fails_with_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("U2NET_HOME", str(tmp_path / "u2net"))
    write_filtered_project(tmp_path, [draw_person(seed=1)])
    with pytest.raises(UserError) as exc:
        strip(_params(tmp_path, backend="rembg"))
    msg = str(exc.value)
    assert "\n" not in msg and str(tmp_path / "u2net" / "u2net_human_seg.onnx") in msg
    assert "download" in msg and "U2NET_HOME" in msg
    assert not (tmp_path / "u2net").exists()  # nothing was downloaded or created


def test_grabcut_gives_up_when_the_object_fills_the_photo() -> None:
    rgb = np.full((50, 40, 3), 128, np.uint8)
    assert grabcut_mask(rgb, box_to_pixels([0, 0, 1, 1], 40, 50)) is None


def test_strip_cli_prints_counts_and_missing_filter_output_is_one_line(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("strip:\n  backend: grabcut\n")
    code = "from adgen.cli import main; main()"
    run = [sys.executable, "-c", code, "--params", str(params), "strip"]
    out = subprocess.run(run, capture_output=True, text=True)
    assert out.returncode == 2 and "run `adgen filter` first" in out.stderr
    write_filtered_project(tmp_path, [draw_person(seed=1)])
    out = subprocess.run(run, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "1 of 1 photos cut out" in out.stdout
    out = subprocess.run(run, capture_output=True, text=True)
    assert "up to date" in out.stdout


@pytest.mark.parametrize("kind", ["cmyk", "gray", "exif_rotated"])
def test_cmyk_grayscale_and_exif_rotated_photos_are_cut_in_the_upright_frame(
    tmp_path: Path, kind: str
) -> None:
    """Boxes and masks are relative to the EXIF-upright image; the cut-out must line up with them."""
    scene = draw_person(seed=4, w=160, h=240)
    df = write_filtered_project(tmp_path, [scene])
    path = io.BytesIO()
    if kind == "cmyk":
        scene.image.convert("CMYK").save(path, "JPEG", quality=98)
    elif kind == "gray":
        scene.image.convert("L").save(path, "JPEG", quality=98)
    else:
        exif = Image.Exif()
        exif[0x0112] = 8  # "rotate 270 CW to view": stored turned by +90
        scene.image.transpose(Image.ROTATE_270).save(path, "JPEG", quality=98, exif=exif)
    replace_photo(tmp_path, df, 0, path.getvalue())
    strip(_params(tmp_path))
    row = _rows(tmp_path).iloc[0]
    assert row["keep"] and (row["width"], row["height"]) == (160, 240)
    person = alpha_in_frame(_cut(tmp_path, row["person_rgba"]), list(row["crop_box"]), 160, 240)
    np.testing.assert_array_equal(person >= 0.5, scene.person | scene.bag)
    rgb = np.asarray(_image(tmp_path, row["person_rgba"]).convert("RGB")).astype(int)
    a = np.asarray(_image(tmp_path, row["person_rgba"]))[..., 3]
    if kind != "gray":  # the person's red survives the colour-space conversion
        assert rgb[a > 0][:, 0].mean() > 180
