"""A commit that holds only the stages a run reproduced.

A flow used to `git add -A` dvc.lock and all of metrics/: a training commit then carried whatever
else the checkout held (another training's metrics deleted by a cancelled run, the crawl entry of a
refresh whose data was never pushed), and a fresh clone of it could not `dvc pull`. Here the
committed dvc.lock is HEAD's with only the run's stage entries replaced, the metrics files are only
those stages' git-tracked outputs, and the commit is built in a temporary index: whatever the user
staged or edited stays as it was, uncommitted.

The pipeline definition (params.yaml, dvc.yaml, .gitignore, .dvc/config) is committed whole with
it: a lock entry only reproduces together with the params and stage definition it was made from.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from adgen.errors import UserError
from adgen.orchestrate import commands

LOCK = "dvc.lock"
# The pipeline definition, committed whole with every stage entry (when present).
DEFINITION = ("params.yaml", "dvc.yaml", ".gitignore", ".dvc/config")
_IDENTITY = ["-c", "user.name=AdGen", "-c", "user.email=adgen@localhost"]


class NotPushed(UserError):
    """Outputs a commit would name are not in the DVC remote: a clone of it could not restore them."""


def git(
    root: Path, *args: str, check: bool = True, env: dict[str, str] | None = None, stdin: str | None = None
):
    ident: list[str] = []
    has_email = subprocess.run(["git", "config", "user.email"], cwd=root, capture_output=True, text=True)
    if not has_email.stdout.strip():
        ident = _IDENTITY
    return subprocess.run(
        ["git", *ident, *args], cwd=root, check=check, capture_output=True, text=True, env=env, input=stdin
    )


def _stage_defs(root: Path) -> dict:
    path = root / "dvc.yaml"
    return ((yaml.safe_load(path.read_text()) or {}).get("stages") or {}) if path.exists() else {}


def tracked_outputs(root: Path, stages: Sequence[str]) -> list[str]:
    """The git-tracked outputs (`cache: false`: metrics, their info files, loss logs) of `stages`."""
    defs = _stage_defs(root)
    found: list[str] = []
    for stage in stages:
        spec = defs.get(stage) or {}
        for section in ("outs", "metrics", "plots"):
            for entry in spec.get(section) or []:
                if isinstance(entry, dict):
                    for path, opts in entry.items():
                        if isinstance(opts, dict) and opts.get("cache") is False and path not in found:
                            found.append(path)
    return found


def _lock(text: str | None) -> dict:
    """dvc.lock as DVC reads it: YAML 1.2 (ruamel, safe). PyYAML's YAML 1.1 read `2:1` (a params
    value DVC writes unquoted) as the sexagesimal number 121, and the rebuilt lock then no longer
    matched params.yaml: the commit did not restore (`params.yaml: datasets modified`)."""
    from dvc.utils.serialize import loads_yaml

    data = loads_yaml(text) if text else None
    return data if isinstance(data, dict) else {}


def merged_lock(head_text: str | None, work_text: str | None, stages: Sequence[str]) -> str | None:
    """HEAD's dvc.lock with the entries of `stages` taken from the working one (the text of the
    working file itself when that is all it differs by); None when neither has those entries."""
    head, work = _lock(head_text), _lock(work_text)
    merged = {
        "schema": work.get("schema") or head.get("schema") or "2.0",
        "stages": dict(head.get("stages") or {}),
    }
    for stage in stages:
        entry = (work.get("stages") or {}).get(stage)
        if entry is not None:
            merged["stages"][stage] = entry
    if not merged["stages"]:
        return None
    if work_text is not None and merged == {
        "schema": work.get("schema", "2.0"),
        "stages": work.get("stages") or {},
    }:
        return work_text
    from dvc.utils.serialize import dumps_yaml

    return dumps_yaml(merged)  # written as DVC writes it


def not_pushed(root: Path, stages: Sequence[str]) -> dict[str, str]:
    """{output: state} of the cached outputs of `stages` that the default DVC remote lacks."""
    out = commands.run(commands.dvc("status", "--cloud", "--json", *stages), cwd=root, check=True)
    start = out.find("{")
    return json.loads(out[start:]) if start >= 0 else {}


def require_pushed(root: Path, stages: Sequence[str]) -> None:
    missing = not_pushed(root, stages)
    if missing:
        shown = ", ".join(f"{path} ({state})" for path, state in sorted(missing.items()))
        raise NotPushed(f"not committing {', '.join(stages)}: the DVC remote lacks {shown}; run `dvc push`")


def commit_stages(
    root: Path,
    stages: Sequence[str],
    message: str,
    *,
    require_remote: bool = False,
    definition: Sequence[str] = DEFINITION,
) -> str | None:
    """Commit the pipeline definition, `stages`' dvc.lock entries and their existing git-tracked
    outputs on top of HEAD; return the new commit, or None when that changes nothing.

    A missing metrics file is left as HEAD has it (a stopped run deleted it; its lock entry is not
    this run's either). With `require_remote`, refuse (NotPushed) while the DVC remote lacks any
    cached output of `stages`. `definition`: the pipeline definition files to commit from the
    working tree (the others stay as HEAD has them).
    """
    root = Path(root)
    stages = list(stages)
    head = git(root, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False).stdout.strip() or None
    head_lock = git(root, "show", f"HEAD:{LOCK}", check=False).stdout if head else None
    work_lock = (root / LOCK).read_text() if (root / LOCK).exists() else None
    lock_text = merged_lock(head_lock or None, work_lock, stages)
    if lock_text is None:
        return None
    if require_remote:
        require_pushed(root, stages)

    blobs: dict[str, str] = {LOCK: git(root, "hash-object", "-w", "--stdin", stdin=lock_text).stdout.strip()}
    for name in (*definition, *tracked_outputs(root, stages)):
        if (root / name).is_file():
            blobs[name] = git(root, "hash-object", "-w", "--", name).stdout.strip()

    fd, index = tempfile.mkstemp(prefix="adgen-index-", dir=root / ".git")
    os.close(fd)
    try:
        env = dict(os.environ, GIT_INDEX_FILE=index)
        git(root, "read-tree", *([head] if head else ["--empty"]), env=env)
        for name, blob in blobs.items():
            git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", env=env)
        tree = git(root, "write-tree", env=env).stdout.strip()
    finally:
        os.unlink(index)
    if head and tree == git(root, "rev-parse", f"{head}^{{tree}}").stdout.strip():
        return None
    commit = git(root, "commit-tree", tree, *(["-p", head] if head else []), "-m", message).stdout.strip()
    git(root, "update-ref", "-m", f"commit: {message}", "HEAD", commit, *([head] if head else []))
    # the real index follows the commit for these paths, so they don't show as staged reversions
    for name, blob in blobs.items():
        git(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},{name}")
    return commit
