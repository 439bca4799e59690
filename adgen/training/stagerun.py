"""The run dir of a DVC training stage: resumed after a stopped attempt, started over otherwise.

dvc.yaml declares each `train_*` run dir `persist: true`, so DVC no longer deletes it before
running the stage: a `dvc repro` (or a retried Prefect task) after a crash, a kill or a cancel finds
the stopped attempt's checkpoints and the trainer resumes from the newest valid one, exactly.

But a persisted run dir also survives a *finished* run, and DVC reruns a stage precisely because
its params or data changed since: resuming that run would continue an old training with other
options (or refuse to, for the models that check). So the stage keeps a note in the run dir,
`stage-attempt.json` (the model and its resolved options, and whether the attempt finished): only
a stopped attempt with the same options is resumed; a finished run, another model's or another
options' run, or a run dir without the note is cleared and the training starts from step 0. Each
case is said in one line.

A stopped attempt resumed after its *data* changed (same options) continues on the new data; the
note does not fingerprint the dataset (docs/orchestration.md, "Resuming a training").

A run-dir rule beside adgen.training.rundir: `adgen train --dvc-stage` applies it, and the training
commands sit below adgen/orchestrate, which only lists their stages.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from adgen import atomic

NOTE = "stage-attempt.json"


def _read(run_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / NOTE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def prepare(run_dir: Path, model: str, options: dict[str, Any]) -> str:
    """Make `run_dir` ready for this attempt of the stage; return what was decided, as a line."""
    run_dir = Path(run_dir)
    options = json.loads(json.dumps(options, sort_keys=True, default=str))  # as the note holds them
    note = _read(run_dir)
    held = run_dir.is_dir() and any(p.name != NOTE for p in run_dir.iterdir())
    if note is not None and held and not note.get("finished"):
        if note.get("model") == model and note.get("options") == options:
            return f"{run_dir}: resuming the stopped attempt of this stage (same options)"
        why = "a stopped attempt with other options"
    elif note is not None and held:
        why = "a finished run (the stage reruns because its params or data changed)"
    elif held:
        why = "a run without a stage note"
    else:
        why = None
    if why is not None:
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic.write_json(run_dir / NOTE, {"model": model, "options": options, "finished": False})
    return f"{run_dir}: starting over, it held {why}" if why else f"{run_dir}: a new run"


def finish(run_dir: Path) -> None:
    """The attempt completed: the next run of the stage starts over."""
    note = _read(Path(run_dir)) or {}
    note["finished"] = True
    atomic.write_json(Path(run_dir) / NOTE, note)
