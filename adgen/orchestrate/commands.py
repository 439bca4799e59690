"""Run the project's command-line tools (`adgen`, `dvc`, `git`) as subprocesses.

Flows, the demo and the tests all drive stages through the same commands a user types, each in its
own process (Scrapy's reactor and TensorFlow both want a fresh one). The environment puts this
interpreter's `bin/` first on PATH so `adgen` inside `dvc.yaml` commands is this project's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from adgen.errors import UserError


class CommandFailed(UserError):
    """A pipeline command exited non-zero; the message names it and ends with its last output."""

    def __init__(self, message: str, returncode: int | None = None):
        super().__init__(message)
        self.returncode = returncode

    @property
    def user_error(self) -> bool:
        """The command refused its input (an `adgen` UserError: bad params, unknown site): exit 2."""
        return self.returncode == USER_ERROR_EXIT


class Stopping(UserError):
    """The process was asked to stop (SIGTERM/SIGINT): no new command starts."""


# `adgen` exits with this status on a UserError (adgen/cli.py): a mistake to fix, not to retry
USER_ERROR_EXIT = 2
_live: set[subprocess.Popen] = set()
_live_lock = threading.Lock()
_stopping = threading.Event()


def stop_all(grace: float = 10.0) -> None:
    """Refuse new commands and end every running one with all it started (SIGINT, as a Ctrl-C
    would: the crawl merges what it stored, DVC releases its lock; SIGKILL after `grace` s).

    For a signal handler: a flow asked to stop must not leave its subprocesses (Scrapy, training)
    running, and the tasks waiting on them then fail at once and release what they hold.
    """
    _stopping.set()
    with _live_lock:
        procs = list(_live)
    _interrupt_then_kill(procs, grace)


def _interrupt_then_kill(procs: list[subprocess.Popen], grace: float) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(proc)


def stopping() -> bool:
    return _stopping.is_set()


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

    A command still running after `timeout` seconds is killed (and then fails). Each command runs
    in its own process group, so `stop_all` ends it with everything it started.

    stderr is merged into stdout so the log reads in order. On a non-zero exit (and `check`)
    raise CommandFailed with the command and its last lines.
    """
    lines: list[str] = []
    tail: deque[str] = deque(maxlen=30)
    shown = " ".join(str(a) for a in argv)
    with _live_lock:
        if _stopping.is_set():
            raise Stopping(f"not starting `{shown}`: this run is stopping")
        proc = subprocess.Popen(
            list(argv),
            cwd=str(cwd),
            env=env or tool_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        _live.add(proc)
    timer = threading.Timer(timeout, _kill_group, (proc,)) if timeout else None
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
    except BaseException:  # e.g. Ctrl-C here: the command is in its own session, so pass it on
        _interrupt_then_kill([proc], grace=10.0)
        proc.wait()
        raise
    finally:
        if timer is not None:
            timer.cancel()
        with _live_lock:
            _live.discard(proc)
    if _stopping.is_set() and rc != 0:
        raise Stopping(f"`{shown}` was stopped (exit status {rc}): this run is stopping")
    if check and rc != 0:
        last = "\n".join(tail)
        raise CommandFailed(f"`{shown}` failed with exit status {rc} in {cwd}:\n{last}", returncode=rc)
    return "\n".join(lines)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
