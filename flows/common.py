"""Tasks shared by the flows: run a pipeline command with its output in the Prefect log.

The flows own scheduling, retries and dispatch; every stage runs as the same command a user types
(`adgen …` or `dvc repro …`) in the flow run's working directory: the project checkout the worker
was pointed at by prefect.yaml's `enter_project_dir` pull step, or the run's own clone made by
prefect.workers.yaml's `git_clone` step.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from prefect import get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner

from adgen.errors import UserError
from adgen.orchestrate import commands

# After a stop signal, the flow process ends at the latest this long after its subprocesses were
# ended, even if a task thread is still asleep waiting to retry (Prefect cannot wake it).
EXIT_GRACE_S = 20.0


def is_transient(exc: BaseException | None) -> bool:
    """Worth a retry: a fault that may go away (site down, timeout, crash), not a mistake in the
    request (an unknown site or a bad param, which `adgen` reports as a UserError with exit 2),
    and never once the run has been asked to stop."""
    if exc is None or commands.stopping() or isinstance(exc, commands.Stopping):
        return False
    if isinstance(exc, commands.CommandFailed):
        return not exc.user_error
    return not isinstance(exc, UserError) or isinstance(exc, TransientFault)


class TransientFault(UserError):
    """A failure another attempt may not have (e.g. a site that answered nothing)."""


def retry_transient(task, task_run, state) -> bool:  # noqa: ARG001 - Prefect's retry_condition_fn
    """`retry_condition_fn` for tasks: retry only transient faults (see `is_transient`)."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception as err:  # noqa: BLE001 - a result that can't be read: judge the error itself
        exc = err
    return is_transient(exc if isinstance(exc, BaseException) else None)


class StoppableTaskRunner(ThreadPoolTaskRunner):
    """Prefect's thread pool, except that a run asked to stop does not wait for its task threads.

    Prefect's runner joins its threads when the flow ends; a task asleep before its next retry
    (Prefect cannot wake it) would then hold the stopped run, unreported, for the whole retry
    delay. Once `commands.stopping()`, the pool is shut down without waiting, so the engine
    records the run as Crashed/Cancelled at once. (Uses the runner's `_executor` and
    `_cancel_events`, as in prefect 3.9.)
    """

    def cancel_all(self) -> None:
        if commands.stopping() and self._executor is not None:
            for event in self._cancel_events.values():
                event.set()
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            return
        super().cancel_all()


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While a flow runs: SIGTERM/SIGINT end its subprocesses at once, refuse new ones and retries,
    then hand the signal to whoever handled it before (Prefect marks the run Crashed/Cancelled).

    Without this a stopped flow kept going: a task asleep before its next retry, or one waiting on
    a Scrapy or training subprocess, held the process (and its concurrency slot) for minutes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def on_signal(signum, frame):
        timer = threading.Timer(EXIT_GRACE_S, os._exit, (128 + signum,))
        timer.daemon = True
        timer.start()
        commands.stop_all()
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:
            raise SystemExit(128 + signum)

    for sig in previous:
        signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(sig, handler)


def run_logged(argv: Sequence[str], *, timeout: float | None = None) -> str:
    """Run a command in the current directory, each output line going to the run's log."""
    logger = get_run_logger()
    logger.info("$ %s", " ".join(str(a) for a in argv))
    return commands.run(argv, cwd=Path.cwd(), on_line=logger.info, timeout=timeout)


@task(name="dvc-repro")
def dvc_repro(targets: list[str], pull: bool = False) -> str:
    """`dvc repro` the targets; stages whose inputs did not change are skipped by DVC itself."""
    extra = ["--pull"] if pull else []
    return run_logged(commands.dvc("--wait-for-lock", "repro", *extra, *targets))


def push_with_deps(targets: list[str]) -> str:
    """Push the targets' outputs and everything upstream (the dataset version, the DVC-tracked
    inputs): a clone of the commit that names them must restore them all from the remote."""
    return run_logged(commands.dvc("--wait-for-lock", "push", "--with-deps", *targets))


@task(name="dvc-push")
def dvc_push(targets: list[str]) -> str:
    return push_with_deps(targets)
