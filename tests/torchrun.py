"""The one way tests launch torchrun: in its own process group, so a timeout ends every worker too.

`subprocess.run(..., timeout=)` kills only the process it started (torchrun's launcher) and leaves
its workers running, holding a port and two cores (and the output pipes, so the test hangs). torchrun
starts each worker in a session of its own, so killing the launcher's group is not enough either:
on a timeout every process below the launcher (found through /proc) and the launcher's own group get
SIGKILL before the timeout is raised.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def torchrun(
    args: Sequence[str | Path],
    *,
    nproc: int = 2,
    port: int | None = None,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """`torchrun --nproc_per_node=<nproc> <args…>` (a script, or `-m module …`), output captured as
    text; `port` is the rendezvous port (default: torchrun's `--standalone`). One thread per worker,
    this checkout on PYTHONPATH unless `env` says otherwise."""
    rendezvous = [f"--master_port={port}"] if port is not None else ["--standalone"]
    cmd = [sys.executable, "-m", "torch.distributed.run", *rendezvous, f"--nproc_per_node={nproc}"]
    cmd += [str(a) for a in args]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:  # the timeout, or a Ctrl-C of the test run: leave no worker behind
        kill_tree(proc.pid)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, …), read from /proc."""
    parent_of: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        parent_of[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        kids = [child for child, parent in parent_of.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL the launcher's process group and every process below it, whatever their session."""
    below = descendants(pid)
    for target, kill in [(pid, os.killpg), *((p, os.kill) for p in below)]:
        try:
            kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
