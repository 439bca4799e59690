"""Is a downloaded file a usable photo? Pure checks over (bytes, content type) with one reason each.

Order matters: cheap header checks first, then a Pillow decode under a pixel cap (a decompression
bomb is refused from its header, before any pixels are allocated), then the minimum resolution
on the EXIF-corrected size (a portrait photo stored landscape with an Orientation tag counts as
portrait).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, ImageOps

# Reasons written to rejects.parquet (the `reason` column).
TOO_LARGE = "too_large"
WRONG_CONTENT_TYPE = "bad_content_type"
NOT_AN_IMAGE = "undecodable"
TRUNCATED = "truncated_image"
DECOMPRESSION_BOMB = "decompression_bomb"
TOO_SMALL = "too_small"
UNSUPPORTED_FORMAT = "unsupported_format"

# Magic numbers of the formats we keep: a body that matches none is not what its header claims.
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")

_ORIENTATION = 0x0112  # the EXIF tag

_FORMAT_EXT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


@dataclass(frozen=True)
class Limits:
    content_types: tuple[str, ...]
    max_bytes: int
    max_pixels: int
    min_width: int
    min_height: int


@dataclass(frozen=True)
class Photo:
    width: int  # after EXIF orientation
    height: int
    format: str  # JPEG / PNG / WEBP
    ext: str
    phash: str  # 16 hex digits (64-bit perceptual hash)


@dataclass(frozen=True)
class Refusal:
    reason: str
    detail: str


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def vet(body: bytes, content_type: str | None, limits: Limits) -> Photo | Refusal:
    if len(body) > limits.max_bytes:
        return Refusal(TOO_LARGE, f"{len(body)} bytes > {limits.max_bytes}")
    media = _media_type(content_type)
    if media not in limits.content_types:
        return Refusal(WRONG_CONTENT_TYPE, f"content-type {media or 'missing'!r}")
    if not body.startswith(_SIGNATURES):
        head = body[:16].lstrip().lower()
        kind = "HTML" if head.startswith((b"<!doctype", b"<html", b"<")) else "not image"
        return Refusal(WRONG_CONTENT_TYPE, f"declared {media} but the bytes are {kind}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(body))
            w, h = img.size
            if w * h > limits.max_pixels:
                return Refusal(DECOMPRESSION_BOMB, f"{w}x{h} = {w * h} pixels > {limits.max_pixels}")
            fmt = img.format or ""
            img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return Refusal(DECOMPRESSION_BOMB, str(exc)[:200])
    except OSError as exc:
        text = str(exc)
        if "truncated" in text or "broken data stream" in text:
            return Refusal(TRUNCATED, text[:200])
        return Refusal(NOT_AN_IMAGE, text[:200])
    except (ValueError, SyntaxError) as exc:  # Pillow raises these for some corrupt headers
        return Refusal(NOT_AN_IMAGE, str(exc)[:200])
    if fmt not in _FORMAT_EXT:
        return Refusal(UNSUPPORTED_FORMAT, f"format {fmt or 'unknown'}")
    orientation = img.getexif().get(_ORIENTATION, 1)
    width, height = (h, w) if orientation in (5, 6, 7, 8) else (w, h)  # 5-8: stored rotated by 90°
    if width < limits.min_width or height < limits.min_height:
        return Refusal(TOO_SMALL, f"{width}x{height} < {limits.min_width}x{limits.min_height}")
    upright = ImageOps.exif_transpose(img) if orientation != 1 else img
    phash = perceptual_hash(upright)
    return Photo(width, height, fmt, _FORMAT_EXT[fmt], phash)


# scipy.fftpack.dct (type II, unnormalised) as a matrix: y[k] = 2 * sum_n x[n] cos(pi k (2n+1) / 2N).
_N = 32
_DCT = 2 * np.cos(np.pi * np.outer(np.arange(_N), 2 * np.arange(_N) + 1) / (2 * _N))


def perceptual_hash(img: Image.Image) -> str:
    """imagehash.phash (8x8 low frequencies of the DCT of a 32x32 grey copy), same bits.

    The DCT is a 32x32 matrix product here, so the crawl process never imports scipy (~1 s of
    start-up in every Scrapy subprocess, and a refresh is mostly start-up).
    """
    grey = img.convert("L").resize((_N, _N), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.float64)
    # rounded: flat images have exact-zero coefficients in scipy's FFT DCT and ±1e-12 in a matrix product
    low = np.round((_DCT @ pixels @ _DCT.T)[:8, :8], 6)
    return str(imagehash.ImageHash(low > np.median(low)))


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
