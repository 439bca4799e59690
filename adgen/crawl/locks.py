"""Who may crawl what, and when: file locks under `paths.raw/.crawl/locks/`.

One crawl per site at a time (a second `adgen crawl --site X` is refused with one line); crawls of
different sites may run at once (the Prefect flow starts one per site) and their merges into the
shared manifest are serialised.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from adgen.errors import UserError
from adgen.safety import flock


@contextlib.contextmanager
def crawl_locks(state: Path, raw: Path, names: list[str]) -> Iterator[None]:
    """One crawl per site at a time; several sites may crawl at once (one process each).

    The first crawl to start while no other is active sweeps temp files a killed run left behind.
    """
    with contextlib.ExitStack() as stack:
        for name in names:
            stack.enter_context(
                flock(
                    state / "locks" / f"{name}.lock",
                    fcntl.LOCK_EX | fcntl.LOCK_NB,
                    busy=f"site {name} is already being crawled by another process",
                )
            )
        active = state / "locks" / "active.lock"
        try:
            with flock(active, fcntl.LOCK_EX | fcntl.LOCK_NB):
                sweep_partial_files(raw)
        except UserError:
            pass  # another site's crawl is writing: its temp files are live
        stack.enter_context(flock(active, fcntl.LOCK_SH))
        yield


def sweep_partial_files(raw: Path) -> None:
    """Remove temp files left by a write that a kill interrupted (atomic writes never leave halves)."""
    for tmp in list(raw.glob("images/*/.*.tmp")) + list(raw.glob(".*.tmp")):
        tmp.unlink(missing_ok=True)
