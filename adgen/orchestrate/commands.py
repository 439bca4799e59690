"""Run the project's command-line tools (`adgen`, `dvc`, `git`) as subprocesses.

Flows, the demo and the tests all drive stages through the same commands a user types, each in its
own process (Scrapy's reactor and TensorFlow both want a fresh one). The environment puts this
interpreter's `bin/` first on PATH so `adgen` inside `dvc.yaml` commands is this project's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from adgen.errors import UserError


class CommandFailed(UserError):
    """A pipeline command exited non-zero; the message names it and ends with its last output."""


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if extra:
        env.update(extra)
    return env


def dvc(*args: str) -> list[str]:
    """argv for DVC through this interpreter (no reliance on a `dvc` script on PATH)."""
    return [sys.executable, "-m", "dvc", *args]


def adgen(*args: str) -> list[str]:
    return [sys.executable, "-m", "adgen.cli", *args]


def run(
    argv: Sequence[str],
    cwd: str | Path,
    *,
    on_line: Callable[[str], None] | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> str:
    """Run `argv` in `cwd`, streaming each output line to `on_line`; return the whole output.

    A command still running after `timeout` seconds is killed (and then fails).

    stderr is merged into stdout so the log reads in order. On a non-zero exit (and `check`)
    raise CommandFailed with the command and its last lines.
    """
    lines: list[str] = []
    tail: deque[str] = deque(maxlen=30)
    proc = subprocess.Popen(
        list(argv),
        cwd=str(cwd),
        env=env or tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    timer = threading.Timer(timeout, proc.kill) if timeout else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            tail.append(line)
            if on_line is not None:
                on_line(line)
        rc = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        if timer is not None:
            timer.cancel()
    if check and rc != 0:
        shown = " ".join(str(a) for a in argv)
        last = "\n".join(tail)
        raise CommandFailed(f"`{shown}` failed with exit status {rc} in {cwd}:\n{last}")
    return "\n".join(lines)
