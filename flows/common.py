"""Tasks shared by the flows: run a pipeline command with its output in the Prefect log.

The flows own scheduling, retries and dispatch; every stage runs as the same command a user types
(`adgen …` or `dvc repro …`) in the flow run's working directory (the project checkout the worker
was pointed at by the deployment's `set_working_directory` pull step).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prefect import get_run_logger, task

from adgen.orchestrate import commands


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


@task(name="dvc-push")
def dvc_push(targets: list[str]) -> str:
    return run_logged(commands.dvc("--wait-for-lock", "push", *targets))
