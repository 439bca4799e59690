"""The one place that decides whether data from outside may touch the disk, a link or a decoder.

Manifests are files users copy, merge and pull from remotes; crawled pages are written by strangers;
user folders hold whatever someone dropped there. So every value read from them that becomes
- a path (image ids, names, relative paths) goes through `image_id`, `safe_name` or `inside`,
- a link in a page goes through `link_href` (http/https only),
- a decoded image goes through `open_image` (a pixel limit before any pixel is decoded),
and every write a stage makes goes through `writing`, which turns a disk error into `OutputError`:
a stage stops on it (one line, no stamp) instead of recording a good photo as a bad one.
"""

from __future__ import annotations

import contextlib
import fcntl
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from PIL import Image

from adgen.errors import UserError

IMAGE_ID = re.compile(r"[0-9a-f]{64}")
# Names that become one path component: letters, digits, `_`, `-`, `.`; never `.`/`..`, never hidden.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
LINK_SCHEMES = frozenset({"http", "https"})
# Pixels (width x height) any image from outside may have: a 12000 x 10000 photo passes, a
# 20000 x 20000 "decompression bomb" (1.2 GB of RGB once decoded) does not.
MAX_PIXELS = 120_000_000


class OutputError(UserError):
    """Writing an output failed (disk full, read-only, permissions): the stage stops, never the item."""


class ImageTooLarge(UserError, ValueError):
    """An input image over `MAX_PIXELS`. Per-item handlers see a ValueError (that one photo is bad,
    like any undecodable file); anywhere else it is a one-line UserError."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def image_id(value: object, where: str) -> str:
    """`value` if it is a sha256 hex digest (what every image id is), else one line naming `where`."""
    if isinstance(value, str) and IMAGE_ID.fullmatch(value):
        return value
    raise UserError(
        f"{where}: image_id {_shown(value)} is not a sha256 hex digest; the manifest was edited or damaged, "
        "re-run the stage that wrote it"
    )


def safe_name(value: object, where: str) -> str:
    """`value` if it can be one path component (no `/`, no `..`, no leading dot), else one line."""
    if isinstance(value, str) and NAME.fullmatch(value) and ".." not in value:
        return value
    raise UserError(
        f"{where}: name {_shown(value)} cannot be a file name (letters, digits, _ - . only, "
        "no leading dot, no '..'); fix it in the file it came from"
    )


def inside(root: Path, relative: object, where: str, allowed: tuple[Path, ...] = ()) -> Path:
    """`root / relative` if that stays inside `root` or one of the `allowed` data dirs (a manifest's
    `path` column), else one line. Relative paths may climb out of the project only into a data dir
    the params name (e.g. paths.raw on another disk)."""
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise UserError(
            f"{where}: path {_shown(relative)} is not a relative path; re-run the stage that wrote it"
        )
    full = (Path(root) / relative).resolve()
    for base in (Path(root), *allowed):
        base = base.resolve()
        if full == base or base in full.parents:
            return full
    raise UserError(
        f"{where}: path {_shown(relative)} points outside the project and its data dirs; "
        "the manifest was edited or damaged, re-run the stage that wrote it"
    )


def check_manifest(
    rows: Any, where: str, root: Path, paths: dict[str, tuple[Path, ...]] | None = None, ids: str = "image_id"
) -> None:
    """Refuse (one line, first bad row) a manifest whose ids are not digests or whose path columns
    leave the project: done once when a stage reads a manifest, before any path is built from it."""
    import pandas as pd

    if ids in rows:
        for value in rows[ids]:
            image_id(value, where)
    for column, allowed in (paths or {}).items():
        if column not in rows:
            continue
        for value in rows[column]:
            if not isinstance(value, str):
                try:
                    missing = bool(pd.isna(value))  # null / NaN / NA: no file
                except (TypeError, ValueError):  # a list or an array where a path should be
                    missing = False
                if missing:
                    continue
            inside(root, value, where, allowed)  # refuses anything but a relative path inside


def link_url(url: object) -> str | None:
    """`url` if a browser may follow it from our pages (http/https with a host), else None."""
    if not isinstance(url, str):
        return None
    text = url.strip()
    if any(ord(c) < 32 for c in text):  # "java\tscript:" tricks and header splitting
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in LINK_SCHEMES or not parts.netloc:
        return None
    return text


def link_href(url: object, label: str) -> str:
    """An escaped `<a href>` for a safe URL; for anything else the escaped label alone (no link)."""
    safe = link_url(url)
    if safe is None:
        return html.escape(label)
    return f'<a href="{html.escape(safe, quote=True)}" rel="noopener noreferrer">{html.escape(label)}</a>'


def check_pixels(width: int, height: int, what: str) -> None:
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(
            f"{what}: {width}x{height} is over the {MAX_PIXELS:,}-pixel limit for images from outside"
        )


@contextlib.contextmanager
def open_image(source: str | Path | IO[bytes], what: str | None = None) -> Iterator[Image.Image]:
    """`Image.open` with the pixel limit checked on the header, before anything is decoded."""
    what = what or str(source)
    try:
        image = Image.open(source)
    except Image.DecompressionBombError as exc:  # Pillow's own check (twice the limit) came first
        detail = str(exc).split(",")[0]
        raise ImageTooLarge(
            f"{what}: over the {MAX_PIXELS:,}-pixel limit for images from outside ({detail})"
        ) from None
    with image:
        check_pixels(image.width, image.height, what)
        yield image


@contextlib.contextmanager
def writing(what: str | Path) -> Iterator[None]:
    """Turn an OSError raised while writing `what` into a one-line `OutputError` that stops the stage."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(
            f"cannot write {what}: {reason}; free space or fix the permissions there and re-run "
            "(the previous outputs are left as they were)"
        ) from None


@contextlib.contextmanager
def flock(path: Path, mode: int, busy: str | None = None) -> Iterator[None]:
    """Hold an flock on `path`; with LOCK_NB, `busy` is the UserError when someone else holds it."""
    with writing(path):  # a read-only or full dir: one line, not a trace
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a")  # noqa: SIM115 - held for the block
    try:
        try:
            fcntl.flock(fh, mode)
        except BlockingIOError:
            raise UserError(busy or f"{path} is locked") from None
        yield
    finally:
        fh.close()  # releases the lock


# Pillow's own bomb check uses the same limit (it raises above twice this, warns above it).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
