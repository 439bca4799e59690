"""Pull steps a Prefect worker runs before a flow: find the code to run, or say in one line what to set.

`prefect.yaml` (one machine) gives every flow run its own clone of the checkout named by
ADGEN_PROJECT_DIR on the worker's machine (`clone_project_dir`), so concurrent runs never share a
working tree or DVC's lock; `enter_project_dir` runs a flow in the checkout itself. Prefect's own `set_working_directory` turns an unset variable into "" and
"succeeds" in the worker's temp directory, so the run crashed later with a FileNotFoundError for
flows/train.py that named nothing to set. This step checks first and fails with one line.
(`prefect.workers.yaml`, for workers on other machines, clones the repository instead; its
checks are shell one-liners because adgen is not importable before the clone is installed.)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

PROJECT_DIR_VAR = "ADGEN_PROJECT_DIR"
MARKERS = ("dvc.yaml", "params.yaml", "flows")


class WorkerSetupError(RuntimeError):
    """A setting the worker's operator must fix; the message is one line naming it."""


def check_project_dir(directory: str | os.PathLike[str] | None) -> Path:
    """The checkout a flow run works in: ADGEN_PROJECT_DIR, which must be set and be an AdGen checkout."""
    text = str(directory or "").strip()
    if not text:
        raise WorkerSetupError(
            f"{PROJECT_DIR_VAR} is not set on this worker: start it as "
            f"`{PROJECT_DIR_VAR}=/path/to/adgen-checkout prefect worker start --pool …`, or deploy "
            "prefect.workers.yaml to clone the repository instead (docs/operations.md)"
        )
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise WorkerSetupError(
            f"{PROJECT_DIR_VAR}={text} must be an absolute path (the worker runs flows elsewhere)"
        )
    missing = [name for name in MARKERS if not (path / name).exists()]
    if missing:
        raise WorkerSetupError(
            f"{PROJECT_DIR_VAR}={text} is not an AdGen checkout (no {', '.join(missing)}): "
            "point it at the project's git checkout"
        )
    return path.resolve()


def report_to_run(message: str) -> None:
    """Put `message` in the flow run's own log (the UI's run page), not only the worker's output:
    a pull step runs before the flow, and Prefect records such a crash as just 'exited with status 1'."""
    run_id = os.environ.get("PREFECT__FLOW_RUN_ID")
    extra = {"flow_run_id": run_id} if run_id else {}
    logging.getLogger("prefect.flow_runs").error(message, extra=extra)


def clone_project_dir(
    directory: str | None = None,
    commit: str | None = None,
    branch: str | None = None,
    checkout: list[str] | None = None,
) -> dict[str, str]:
    """Pull step (prefect.yaml): the flow run's own clone of the checked ADGEN_PROJECT_DIR, in the
    run's working directory (the worker deletes it after the run), at the deployed `commit`'s code
    on `branch`'s newest pipeline state; its commits are pushed back into the checkout
    (adgen/orchestrate/runclone.py). Its DVC-tracked inputs and the outputs of the `checkout`
    stages (and their dependencies') are restored from the shared DVC cache."""
    from adgen.errors import UserError
    from adgen.orchestrate import commands, runclone, stagecommit

    try:
        project = check_project_dir(directory or os.environ.get(PROJECT_DIR_VAR))
        clone = runclone.clone_project(
            project, Path.cwd() / "adgen-run", commit=commit or None, branch=branch or None
        )
        # every DVC-tracked input (inputs/*.dvc: models, ground truth), then the stages' outputs
        inputs = stagecommit.git(clone, "ls-files", "*.dvc").stdout.split()
        if inputs or checkout:
            argv = commands.dvc("checkout", "--allow-missing", "--with-deps", *inputs, *(checkout or []))
            commands.run(argv, cwd=clone)
    except (WorkerSetupError, UserError) as err:
        report_to_run(str(err).splitlines()[0])
        raise
    os.chdir(clone)
    return {"directory": str(clone)}


def enter_project_dir(directory: str | None = None) -> dict[str, str]:
    """Pull step: change into the checked ADGEN_PROJECT_DIR (`directory` is the templated value;
    the environment variable is read when the template left nothing)."""
    try:
        path = check_project_dir(directory or os.environ.get(PROJECT_DIR_VAR))
    except WorkerSetupError as err:
        report_to_run(str(err))
        raise
    os.chdir(path)
    return {"directory": str(path)}
