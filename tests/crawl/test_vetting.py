"""A download becomes a photo only if it is what it claims, decodable, safe and big enough."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from adgen.crawl import vetting
from tests.crawl.conftest import photo

LIMITS = vetting.Limits(
    content_types=("image/jpeg", "image/png"),
    max_bytes=1_000_000,
    max_pixels=4_000_000,
    min_width=64,
    min_height=64,
)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries almost no data (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_good_jpeg_is_a_photo_with_its_size_and_hash():
    got = vetting.vet(photo(1), "image/jpeg", LIMITS)
    assert isinstance(got, vetting.Photo)
    assert (got.width, got.height, got.format, got.ext) == (160, 200, "JPEG", "jpg")
    assert len(got.phash) == 16


def test_decompression_bomb_is_refused_from_its_header():
    got = vetting.vet(_png_header_only(30000, 30000), "image/png", LIMITS)
    assert got == vetting.Refusal(vetting.DECOMPRESSION_BOMB, got.detail)


def test_truncated_jpeg_is_refused():
    body = photo(2)
    got = vetting.vet(body[: len(body) // 2], "image/jpeg", LIMITS)
    assert isinstance(got, vetting.Refusal) and got.reason == vetting.TRUNCATED


def test_html_served_as_jpeg_is_refused_as_bad_content_type():
    got = vetting.vet(b"<!DOCTYPE html><html><body>hi</body></html>", "image/jpeg", LIMITS)
    assert isinstance(got, vetting.Refusal) and got.reason == "bad_content_type"


def test_wrong_content_type_and_size_caps_are_refused():
    assert vetting.vet(photo(3), "text/html", LIMITS).reason == "bad_content_type"
    assert (
        vetting.vet(photo(3), "image/jpeg", vetting.Limits(("image/jpeg",), 100, 10**7, 1, 1)).reason
        == "too_large"
    )
    small = io.BytesIO()
    Image.new("RGB", (40, 300)).save(small, "PNG")
    assert vetting.vet(small.getvalue(), "image/png", LIMITS).reason == vetting.TOO_SMALL


def test_exif_orientation_decides_width_and_height():
    img = Image.open(io.BytesIO(photo(4)))  # 160 x 200 as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°: displayed 200 x 160
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    got = vetting.vet(buf.getvalue(), "image/jpeg", LIMITS)
    assert (got.width, got.height) == (200, 160)


def test_perceptual_hash_is_imagehash_phash_bit_for_bit():
    import imagehash

    from adgen.fixtures.site import synth

    for i in range(24):
        img = synth.photo(0, i).image
        assert vetting.perceptual_hash(img) == str(imagehash.phash(img))
    for i in range(12):
        img = Image.open(io.BytesIO(photo(i)))
        assert vetting.perceptual_hash(img) == str(imagehash.phash(img))
