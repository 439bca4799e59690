"""Skip a stage whose inputs have not changed since its last complete run.

DVC already skips unchanged stages; this makes the same promise to users who call `adgen` directly
or through Prefect. A stamp is a hash of the params section and the input files' identities
(size + mtime for big trees, content hash for small manifests), written last, after every output.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from adgen import atomic, safety


def fingerprint(params: Any, files: list[Path], root: Path | None = None) -> str:
    """With the project `root`, files inside it are named by their project-relative path: a moved
    or copied workspace has the same fingerprints (and re-does nothing)."""
    h = hashlib.sha256()
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    for f in sorted(Path(p) for p in files):
        h.update(portable_name(f, root).encode())
        if f.is_file():
            h.update(hashlib.sha256(f.read_bytes()).digest())
        else:
            h.update(b"<missing>")
    return h.hexdigest()


def portable_name(path: Path, root: Path | None) -> str:
    """`path` relative to the project `root` when inside it, else as given."""
    if root is not None:
        base, full = Path(root).resolve(), Path(path).absolute()
        if base == full or base in full.parents:
            return full.relative_to(base).as_posix()
    return str(path)


class Stamp:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def matches(self, key: str) -> bool:
        return self.path.exists() and self.path.read_text().strip() == key

    def write(self, key: str) -> None:
        atomic.write_text(self.path, key + "\n")

    def clear(self) -> None:
        """Forget the last complete run; a disk error doing so stops the stage in one line (nothing
        to do when there is no stamp: a read-only output dir fails where the stage writes)."""
        if not (self.path.exists() or self.path.is_symlink()):
            return
        with safety.writing(self.path):
            self.path.unlink(missing_ok=True)
