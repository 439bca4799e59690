"""Hostile inputs built by the tests themselves: crafted pickles, traversal ids, bombs, full disks.

Every case runs the real `adgen` command in a subprocess, as a user or DVC would, and checks the
promise a user sees: exit status 2, one `adgen: error:` line, no traceback, nothing run or written
where it must not be.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import torch
import yaml
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]


class Payload:
    """Pickles into a call of os.system: loading a file that holds it with plain pickle runs `command`."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def crafted_checkpoint(path: Path, marker: Path, **looks_like) -> Path:
    """A real torch zip file that looks like a checkpoint and creates `marker` when unpickled."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**looks_like, "payload": Payload(f"touch {marker}")}, path)
    return path


def adgen(
    *args: str, cwd: Path, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "adgen.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The one error line of a refused command (exit 2, no traceback; TensorFlow's start-up chatter
    and adgen warnings may precede it)."""
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("adgen: error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def write_params(root: Path, data: dict) -> Path:
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def write_png(path: Path, size: tuple[int, int] = (16, 32), mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = (200, 40, 40, 255) if mode == "RGBA" else (200, 40, 40)
    image = Image.new(mode, size, colour)
    if mode == "RGBA":  # a real cut-out: transparent border, opaque middle
        alpha = Image.new("L", size, 0)
        alpha.paste(255, (size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4))
        image.putalpha(alpha)
    image.save(path)
    return path


# An injected write error for machines where a read-only bind mount is not allowed: the child
# Python imports this `sitecustomize`, which makes every temp file (how adgen writes anything, see
# adgen.atomic), directory or staging-file append under the named dir fail as a read-only or full
# disk would.
_HOOK = """
import errno, os, tempfile
_DIR = os.path.realpath(os.environ["ADGEN_TEST_BROKEN_DIR"])
_ERR = getattr(errno, os.environ["ADGEN_TEST_BROKEN_ERRNO"])
_left = [int(os.environ.get("ADGEN_TEST_BROKEN_AFTER", "0"))]  # files this process may still write
def _under(p):
    p = os.path.realpath(os.fspath(p))
    return p == _DIR or p.startswith(_DIR + os.sep)
_mkstemp, _mkdir = tempfile.mkstemp, os.mkdir
def mkstemp(suffix=None, prefix=None, dir=None, text=False):
    if dir is not None and _under(dir):
        if _left[0] <= 0:
            raise OSError(_ERR, os.strerror(_ERR), dir)
        _left[0] -= 1
    return _mkstemp(suffix, prefix, dir, text)
def mkdir(path, mode=0o777, *, dir_fd=None):
    if _under(path) and _left[0] <= 0 and not os.path.exists(path):
        raise OSError(_ERR, os.strerror(_ERR), path)
    return _mkdir(path, mode, dir_fd=dir_fd)
tempfile.mkstemp, os.mkdir = mkstemp, mkdir
# The store's staging files and spools are appended to (adgen.store.staging, .spool): each append
# counts as a file.
_open, _write, _fds = os.open, os.write, set()
def open_(path, flags, mode=0o777, *, dir_fd=None):
    fd = _open(path, flags, mode, dir_fd=dir_fd)
    if flags & os.O_APPEND and _under(path):
        _fds.add(fd)
    return fd
def write(fd, data):
    if fd in _fds:
        if _left[0] <= 0:
            raise OSError(_ERR, os.strerror(_ERR))
        _left[0] -= 1
    return _write(fd, data)
os.open, os.write = open_, write
"""


def _bind_read_only(path: Path) -> bool:
    ok = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True).returncode == 0
    if ok and subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], capture_output=True).returncode:
        subprocess.run(["umount", str(path)], capture_output=True)
        ok = False
    return ok


@contextlib.contextmanager
def broken_dir(
    path: Path, hook_dir: Path, error: str = "EROFS", inject: bool = False, after: int = 0
) -> Iterator[dict[str, str]]:
    """Writes under `path` fail while inside; yields the env for `adgen(...)`.

    EROFS: a read-only bind mount where this machine allows it (we run as root here, and chmod
    does not stop root), else (or with `inject`) the injected error above. Any other errno
    (ENOSPC): always injected, after `after` files written by each process (a disk filling up).
    """
    path.mkdir(parents=True, exist_ok=True)
    if error == "EROFS" and not inject and not after and _bind_read_only(path):
        try:
            yield {}
        finally:
            subprocess.run(["umount", str(path)], check=True)
        return
    hook_dir.mkdir(parents=True, exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(_HOOK)
    assert hasattr(errno, error)
    yield {
        "PYTHONPATH": f"{hook_dir}{os.pathsep}{REPO_ROOT}",
        "ADGEN_TEST_BROKEN_DIR": str(path),
        "ADGEN_TEST_BROKEN_ERRNO": error,
        "ADGEN_TEST_BROKEN_AFTER": str(after),
    }


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG whose header says width x height (e.g. a 20000 x 20000 decompression bomb) but whose
    pixel data is a few bytes: Pillow refuses or accepts it on the header alone, before decoding."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
