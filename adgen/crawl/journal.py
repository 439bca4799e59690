"""The crawl journal: one JSON line per stored or rejected download, fsynced as it is written.

The Scrapy subprocess appends a line only after the image file is safely stored, so after a
kill -9 every journalled row has its file and every stored file either has its row or is simply
downloaded again. The stage folds the journal into the manifest when a crawl ends (or, after a
kill, at the end of the next run) and then removes it. A torn last line is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

IMAGE = "image"
REJECT = "reject"


class Journal:
    """Append-only writer; each `append` is durable when it returns."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()  # the pipeline appends from worker threads
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            # a line torn by a kill: end it, or this run's first row would be glued to it and lost
            self._write(b"\n")

    def append(self, kind: str, row: dict[str, Any]) -> None:
        """Append one line, durably; on a disk error (full disk) nothing of it is left behind."""
        line = json.dumps({"kind": kind, "row": row}, sort_keys=True, default=str) + "\n"
        with self._lock:
            self._write(line.encode("utf-8"))

    def _write(self, data: bytes) -> None:
        start = os.fstat(self._fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, start)  # a half line would swallow the next one
            raise

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def read(path: str | Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (kind, row) for every complete line; a line cut short by a kill is skipped."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.endswith("\n"):
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and rec.get("kind") in (IMAGE, REJECT):
                yield rec["kind"], rec["row"]


def count_lines(path: str | Path) -> tuple[int, int]:
    """(images, rejects) journalled so far: cheap enough to poll for a progress bar."""
    images = rejects = 0
    for kind, _ in read(path):
        if kind == IMAGE:
            images += 1
        else:
            rejects += 1
    return images, rejects


class JournalTail:
    """Counts journal lines as they are appended, reading only what is new."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self.images = 0
        self.rejects = 0
        self._rest = b""

    def poll(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        self.offset += len(data)
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        for line in lines:
            if b'"kind": "image"' in line:
                self.images += 1
            elif line.strip():
                self.rejects += 1
