"""The hostile payloads are what they claim to be (not just bytes with a scary name)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from adgen.fixtures.site import payloads, synth


def test_bomb_png_is_a_complete_valid_png_of_the_declared_size(monkeypatch):
    # the same construction at a size that is safe to decode (and not a multiple of the row block)
    small = payloads.decompression_bomb_png(2500)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    img = Image.open(io.BytesIO(small))
    img.load()
    assert img.size == (2500, 2500) and img.getextrema() == (0, 0)


def test_real_bomb_declares_900_megapixels_in_about_110_kb():
    data = payloads.decompression_bomb_png()
    assert len(data) < 200_000
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(data))


def test_padded_image_still_decodes_and_truncated_one_does_not():
    jpeg = synth.encode_jpeg(synth.photo(0, 0).image)
    big = payloads.padded(jpeg, 3 * len(jpeg))
    assert len(big) == 3 * len(jpeg)
    Image.open(io.BytesIO(big)).load()
    img = Image.open(io.BytesIO(payloads.truncated(jpeg)))
    with pytest.raises(OSError):
        img.load()
