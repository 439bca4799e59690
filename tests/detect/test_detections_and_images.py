"""The detector boundary (TF's box order, padding, out-of-range boxes), photo decoding and masks."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adgen.detect.detections import from_tf_hub_outputs
from adgen.detect.images import load_for_detection
from adgen.detect.masks import reframe

from .conftest import RED, kept_photo


def hub_outputs(
    boxes: list[list[float]], classes: list[float], scores: list[float], n: int | None = None
) -> dict:
    return {
        "detection_boxes": np.array([boxes], np.float32),
        "detection_classes": np.array([classes], np.float32),
        "detection_scores": np.array([scores], np.float32),
        "num_detections": np.array([len(scores) if n is None else n], np.float32),
    }


def test_tf_boxes_become_x0_y0_x1_y1() -> None:
    dets = from_tf_hub_outputs(hub_outputs([[0.1, 0.2, 0.9, 0.4]], [1.0], [0.9]))
    assert dets.boxes == pytest.approx(np.array([[0.2, 0.1, 0.4, 0.9]]))
    assert dets.classes.tolist() == [1]


def test_padding_beyond_num_detections_is_ignored() -> None:
    dets = from_tf_hub_outputs(
        hub_outputs([[0.1, 0.1, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0]], [1.0, 31.0], [0.9, 0.8], n=1)
    )
    assert len(dets) == 1


def test_boxes_outside_the_image_are_clipped_or_dropped() -> None:
    dets = from_tf_hub_outputs(
        hub_outputs(
            [[-0.2, -0.1, 1.3, 0.5], [1.2, 1.2, 1.5, 1.5], [0.5, 0.5, 0.4, 0.4]],
            [1.0, 31.0, 27.0],
            [0.9, 0.9, 0.9],
        )
    )
    assert dets.boxes == pytest.approx(
        np.array([[0.0, 0.0, 0.5, 1.0]])
    )  # the others are empty after clipping


def _png(img: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def test_grayscale_cmyk_and_16_bit_png_decode_to_rgb_uint8(tmp_path: Path) -> None:
    gray = tmp_path / "gray.png"
    Image.new("L", (30, 20), 200).save(gray)
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (30, 20), (0, 255, 255, 0)).save(cmyk, quality=95)  # red in CMYK
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((20, 30), 65535, np.uint16)).save(deep)
    for path in (gray, cmyk, deep):
        img = load_for_detection(path)
        assert img.pixels.dtype == np.uint8 and img.pixels.shape == (20, 30, 3), path.name
        assert (img.width, img.height) == (30, 20)
    assert load_for_detection(deep).pixels.min() == 255  # 16-bit white stays white, not clipped noise
    red = load_for_detection(cmyk).pixels.reshape(-1, 3).mean(0)
    assert red[0] > 200 and red[1] < 60 and red[2] < 60


def test_transparent_png_is_shown_on_white(tmp_path: Path) -> None:
    path = tmp_path / "rgba.png"
    Image.new("RGBA", (10, 10), (255, 0, 0, 0)).save(path)
    assert load_for_detection(path).pixels.min() == 255


def test_exif_rotation_is_applied(tmp_path: Path) -> None:
    upright = kept_photo()  # 160 x 240, tall person
    stored = upright.rotate(90, expand=True)  # how a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "rotated.jpg"
    stored.save(path, quality=95, subsampling=0, exif=exif)
    img = load_for_detection(path)
    assert (img.width, img.height) == (160, 240)
    assert img.pixels.shape == (240, 160, 3)
    # The red person is where the upright photo has it.
    ys, xs = np.nonzero((np.abs(img.pixels.astype(int) - RED) < 40).all(-1))
    assert ys.min() < 0.15 * 240 and ys.max() > 0.85 * 240


def test_large_photos_are_shrunk_to_max_side_keeping_the_original_size(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    Image.new("RGB", (2000, 1000), (10, 20, 30)).save(path)
    img = load_for_detection(path, max_side=500)
    assert max(img.pixels.shape[:2]) == 500 and (img.width, img.height) == (2000, 1000)


def test_a_file_that_is_not_an_image_raises(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(b"<html>not a photo</html>")
    with pytest.raises(Exception):  # noqa: B017 - Pillow raises several types; the stage catches all
        load_for_detection(path)
    truncated = tmp_path / "t.png"
    truncated.write_bytes(_png(kept_photo())[:200])
    with pytest.raises(Exception):  # noqa: B017
        load_for_detection(truncated)


def test_a_box_relative_mask_is_pasted_where_its_box_is() -> None:
    mask = np.zeros((10, 10), np.float32)
    mask[:, :5] = 1.0  # left half of the box
    full = reframe(mask, np.array([0.5, 0.25, 0.75, 0.75]), 100, 40)
    assert full.shape == (40, 100)
    ys, xs = np.nonzero(full)
    assert xs.min() == 50 and 61 <= xs.max() <= 63 and ys.min() == 10 and ys.max() == 29
    assert set(np.unique(full)) == {0, 255}


def test_a_mask_whose_box_leaves_the_image_is_cut_at_the_border() -> None:
    full = reframe(np.ones((8, 8), np.float32), np.array([-0.5, 0.5, 0.5, 1.5]), 20, 20)
    assert full[10:, :10].min() == 255 and full[:10].max() == 0 and full[:, 10:].max() == 0
