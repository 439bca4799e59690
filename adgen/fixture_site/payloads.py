"""The bytes the fixture site serves: photos (cached), thumbnails and hostile payloads.

Why: every byte must be deterministic (same seed → same sha256, so the ground truth can be keyed by
the hash of what a crawler stores), and big or costly payloads (the decompression bomb, the
over-cap image) are generated on demand instead of being stored in the repository.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import struct
import sys
import threading
import zlib
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from typing import Any

from PIL import Image

from adgen.fixture_site import synth


class PhotoCache:
    """Rendered JPEG bytes per synth index (LRU, bounded) and their sha256 + truth (kept forever).

    Rendering is deterministic, so an evicted photo is simply rendered again.
    """

    def __init__(self, seed: int, max_bytes_entries: int = 2048) -> None:
        self.seed = seed
        self._max = max_bytes_entries
        self._bytes: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._meta: dict[int, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def _get(self, key: tuple[str, int]) -> bytes | None:
        with self._lock:
            data = self._bytes.get(key)
            if data is not None:
                self._bytes.move_to_end(key)
            return data

    def _put(self, key: tuple[str, int], data: bytes) -> None:
        with self._lock:
            self._bytes[key] = data
            while len(self._bytes) > self._max:
                self._bytes.popitem(last=False)

    def photo(self, index: int) -> bytes:
        """The full photo (largest preview) as served: JPEG q95 4:4:4."""
        data = self._get(("full", index))
        if data is None:
            rendered = synth.photo(self.seed, index)
            data = synth.encode_jpeg(rendered.image)
            self._put(("full", index), data)
            with self._lock:
                self._meta.setdefault(index, (hashlib.sha256(data).hexdigest(), rendered.truth))
        return data

    def warm(self, indices: list[int], workers: int | None = None) -> None:
        """Render these photos now (in worker processes when there are many), so that serving them
        later costs no CPU: benchmarks call this first, so they time the crawler, not the drawing."""
        with self._lock:
            todo = [i for i in indices if i not in self._meta]
        workers = workers or min(os.cpu_count() or 1, 8)
        if len(todo) < 16 or workers < 2 or not sys.platform.startswith("linux"):
            for i in todo:
                self.photo(i)
            return
        # fork: no re-import of __main__ (safe for unguarded scripts); the children only render.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            jobs = [(self.seed, i) for i in todo]
            for index, data, truth in pool.map(_render_jpeg, jobs, chunksize=8):
                self._put(("full", index), data)
                with self._lock:
                    self._meta.setdefault(index, (hashlib.sha256(data).hexdigest(), truth))

    def meta(self, index: int) -> tuple[str, dict[str, Any]]:
        """(sha256 of the served photo bytes, truth dict)."""
        with self._lock:
            hit = self._meta.get(index)
        if hit is None:
            self.photo(index)
            with self._lock:
                hit = self._meta[index]
        return hit

    def thumb(self, index: int) -> bytes:
        data = self._get(("thumb", index))
        if data is None:
            full = Image.open(io.BytesIO(self.photo(index)))
            data = synth.encode_jpeg(synth.thumbnail(full.convert("RGB")), quality=85)
            self._put(("thumb", index), data)
        return data

    def near_duplicate(self, index: int) -> bytes:
        """The same photo resized to 90% and re-encoded at quality 90: different bytes, same picture."""
        data = self._get(("near", index))
        if data is None:
            full = Image.open(io.BytesIO(self.photo(index))).convert("RGB")
            w, h = full.size
            small = full.resize((round(w * 0.9), round(h * 0.9)), Image.BILINEAR)
            data = synth.encode_jpeg(small, quality=90)
            self._put(("near", index), data)
        return data


def _render_jpeg(job: tuple[int, int]) -> tuple[int, bytes, dict[str, Any]]:
    seed, index = job
    rendered = synth.photo(seed, index)
    return index, synth.encode_jpeg(rendered.image), rendered.truth


def truncated(jpeg: bytes) -> bytes:
    """The first half of a valid JPEG: opens, but decoding runs out of data."""
    return jpeg[: len(jpeg) // 2]


def html_document() -> bytes:
    return b"<!DOCTYPE html>\n<html><head><title>Just a moment...</title></head><body><h1>Checking your browser</h1></body></html>\n"


def padded(jpeg: bytes, size: int) -> bytes:
    """A valid JPEG followed by zero padding up to `size` bytes (decoders ignore data after EOI)."""
    return jpeg + b"\0" * max(0, size - len(jpeg))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


@lru_cache(maxsize=4)
def decompression_bomb_png(side: int = 30000) -> bytes:
    """A complete, valid 1-bit PNG of side x side black pixels: ~110 KB on the wire, 900 Mpx decoded.

    Built in ~0.2 s: a block of identical rows is deflated once, ending in a full flush (byte
    aligned, fresh dictionary), so the same compressed bytes can simply be repeated.
    """
    row = b"\0" * (1 + (side + 7) // 8)  # filter byte + packed bits
    rows_per_block = 1000
    blocks, rest = divmod(side, rows_per_block)

    def deflated(data: bytes) -> bytes:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: no header, no checksum
        return comp.compress(data) + comp.flush(zlib.Z_FULL_FLUSH)

    block = row * rows_per_block
    adler = 1
    for _ in range(blocks):
        adler = zlib.adler32(block, adler)
    adler = zlib.adler32(row * rest, adler)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block
    idat = b"\x78\xda" + deflated(block) * blocks + deflated(row * rest) + final + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
