"""Hostile inputs built by the tests themselves: crafted pickles, traversal ids, bombs, full disks.

Every case runs the real `adgen` command in a subprocess, as a user or DVC would, and checks the
promise a user sees: exit status 2, one `adgen: error:` line, no traceback, nothing run or written
where it must not be.
"""

from __future__ import annotations

import os
import subprocess
import sys
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


def adgen(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "adgen.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The one error line of a refused command (exit 2, no traceback); warnings may precede it."""
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("adgen: error:")]
    others = [line for line in proc.stderr.splitlines() if line and not line.startswith("adgen: ")]
    assert len(errors) == 1 and not others, proc.stderr
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
