"""Cut-outs carry the mask as straight alpha; every source photo is read upright in RGB."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from adgen.config.prepare import StripParams
from adgen.matting.cutout import alpha_channel, mask_bbox, on_white, png_bytes, rgba_cutout
from adgen.matting.photo import load_photo, to_upright_rgb
from adgen.matting.quality import MaskFigures, drop_reason, mask_figures


def _photo(h: int = 20, w: int = 30) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_alpha_is_the_mask_and_colours_are_not_premultiplied() -> None:
    rgb = _photo()
    mask = np.zeros((20, 30), np.float32)
    mask[5:15, 10:20] = 1.0
    mask[5:15, 20:25] = 0.5  # a soft edge
    cut = np.asarray(rgba_cutout(rgb, mask, (0, 0, 30, 20)))
    np.testing.assert_array_equal(cut[..., 3], alpha_channel(mask))
    assert cut[10, 22, 3] == 128
    np.testing.assert_array_equal(cut[..., :3], rgb)  # straight alpha: colours untouched, even at a=0.5


def test_on_white_composites_exactly_once() -> None:
    rgb = np.full((4, 4, 3), 100, np.uint8)
    mask = np.full((4, 4), 0.5, np.float32)
    white = np.asarray(on_white(rgba_cutout(rgb, mask, (0, 0, 4, 4))))
    # 100 * 128/255 + 255 * (1 - 128/255) = 177.3; premultiplying twice would give ~139
    assert np.abs(white.astype(int) - 177).max() <= 1
    opaque = np.asarray(on_white(rgba_cutout(rgb, np.ones((4, 4), bool), (0, 0, 4, 4))))
    assert (opaque == 100).all()


def test_cutout_png_round_trips_with_the_same_alpha_and_bytes() -> None:
    rgb = _photo()
    mask = np.zeros((20, 30), bool)
    mask[2:9, 3:7] = True
    box = mask_bbox(mask)
    assert box == (3, 2, 7, 9)
    data = png_bytes(rgba_cutout(rgb, mask, box))
    assert data == png_bytes(rgba_cutout(rgb, mask, box))  # deterministic: content-addressable
    back = np.asarray(Image.open(io.BytesIO(data)))
    assert back.shape == (7, 4, 4) and (back[..., 3] == 255).all()
    np.testing.assert_array_equal(back[..., :3], rgb[2:9, 3:7])


def test_cmyk_grayscale_and_exif_rotated_sources_are_read_upright_rgb(tmp_path) -> None:
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:10, :20] = (255, 0, 0)  # a red block top-left
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=98)
    Image.fromarray(rgb).convert("L").save(tmp_path / "gray.png")
    # Stored rotated 90 degrees with EXIF orientation 6 ("rotate 90 CW to view"): the viewer sees `rgb`.
    stored = Image.fromarray(rgb).transpose(Image.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "rotated.jpg", exif=exif, quality=98)
    for name in ("cmyk.jpg", "gray.png", "rotated.jpg"):
        im = load_photo(tmp_path / name)
        assert im.mode == "RGB" and im.size == (60, 40), name
        arr = np.asarray(im).astype(int)
        assert arr[:10, :20].mean() > 60 and arr[20:, 30:].mean() < 20, name
    assert np.asarray(load_photo(tmp_path / "cmyk.jpg"))[5, 5, 0] > 200
    assert to_upright_rgb(Image.new("RGBA", (2, 2), (0, 0, 0, 0))).getpixel((0, 0)) == (255, 255, 255)


def test_mask_figures_count_holes_and_edge_contact() -> None:
    m = np.zeros((50, 40), bool)
    m[10:40, 10:30] = True
    m[20:25, 15:20] = False  # one enclosed hole of 25 px
    fig = mask_figures(m, (10, 10, 30, 40))
    assert fig.holes == 1 and fig.hole_ratio == pytest.approx(25 / 575)
    assert fig.area_ratio == pytest.approx(575 / 600) and not fig.touches_edge and fig.components == 1
    m[45:, 0:5] = True
    fig = mask_figures(m, (10, 10, 30, 40))
    assert fig.touches_edge and fig.components == 2


def test_drop_reasons_name_the_failed_rule() -> None:
    p = StripParams()
    good = MaskFigures(0.6, 0, 0.0, 1, False)
    assert drop_reason(good, good, True, p) == "kept"
    assert drop_reason(None, None, True, p) == "no_person_mask"
    assert drop_reason(MaskFigures(0.05, 0, 0, 1, False), good, True, p) == "person_mask_too_small"
    assert drop_reason(MaskFigures(2.0, 0, 0, 1, False), good, True, p) == "person_mask_too_large"
    assert drop_reason(MaskFigures(0.6, 9, 0.4, 1, False), good, True, p) == "person_mask_holey"
    assert drop_reason(good, None, True, p) == "no_bag_mask"
    assert drop_reason(good, None, False, p) == "kept"
    assert drop_reason(good, MaskFigures(0.01, 0, 0, 1, False), True, p) == "bag_mask_too_small"
    edge = MaskFigures(0.6, 0, 0.0, 1, True)
    assert drop_reason(edge, good, True, StripParams(drop_person_touching_edge=True)) == "person_touches_edge"
