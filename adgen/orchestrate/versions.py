"""Dataset versions: a git commit of the pipeline state plus an annotated tag `dataset-YYYY-MM-DD`.

DVC's lock file names every byte of the dataset by hash, but it only reproduces together with the
params.yaml and dvc.yaml it was made from (and the metrics files DVC compares): a lock committed
without them makes a fresh clone's `dvc status` report `params.yaml modified`. So every commit here
holds the pipeline definition with the lock entries and metrics of the stages the run reproduced,
and nothing else (adgen/orchestrate/stagecommit.py), made once the DVC remote has their outputs;
the tagged commit is reproducible anywhere (`adgen versions verify` proves it)
(`git checkout dataset-2026-11-25 && dvc pull && dvc status` is clean). The tag message
carries the size of the kept set, so the next refresh can tell how much it grew without reading old
data.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from adgen.config import Params
from adgen.orchestrate import commands

_KEPT = re.compile(r"\bkept=(\d+)\b")
GIT_FALLBACK_IDENTITY = ["-c", "user.name=AdGen", "-c", "user.email=adgen@localhost"]
# What one pipeline state is made of: committed together, never one without the others.
PIPELINE_FILES = ("params.yaml", "dvc.yaml", "dvc.lock", "metrics", ".gitignore", ".dvc/config")


@dataclass(frozen=True)
class DatasetVersion:
    tag: str
    kept: int
    commit: str


def _git(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    ident: list[str] = []
    has_email = subprocess.run(["git", "config", "user.email"], cwd=root, capture_output=True, text=True)
    if not has_email.stdout.strip():
        ident = GIT_FALLBACK_IDENTITY
    return subprocess.run(["git", *ident, *args], cwd=root, check=check, capture_output=True, text=True)


def head(root: Path) -> str | None:
    """The commit the checkout is at (None before the first commit)."""
    out = _git(Path(root), "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).stdout.strip()
    return out or None


def count_kept(params: Params) -> int:
    """Size of the kept set: images the last dataset stage kept so far.

    The stripped manifest when the strip stage has run, else the filtered one, else every crawled
    image (while those stages have not landed in the DAG).
    """
    for manifest in (params.paths.stripped, params.paths.filtered):
        path = params.path(manifest) / "manifest.parquet"
        if path.exists():
            keep = pd.read_parquet(path, columns=["keep"])["keep"]
            return int(keep.fillna(False).astype(bool).sum())
    raw = params.path(params.paths.raw) / "manifest.parquet"
    if raw.exists():
        return len(pd.read_parquet(raw, columns=["image_id"]))
    return 0


def latest_version(root: Path, prefix: str = "dataset-") -> DatasetVersion | None:
    """The newest dataset tag (by creation date) reachable in the repository, or None."""
    out = _git(
        root,
        "for-each-ref",
        "--sort=-v:refname",  # ties (same second): the higher .N suffix
        "--sort=-creatordate",
        "--format=%(refname:short)%00%(*objectname)%(objectname)%00%(contents)%1e",
        f"refs/tags/{prefix}*",
    ).stdout
    for record in out.split("\x1e"):
        parts = record.strip("\n").split("\0")
        if len(parts) < 3:
            continue
        tag, commit, message = parts
        m = _KEPT.search(message)
        return DatasetVersion(tag=tag, kept=int(m.group(1)) if m else 0, commit=commit[:40])
    return None


def _stage_outs(lock_text: str | None, wanted: dict[str, list[str]]) -> dict[str, object]:
    """{stage: {path: md5}} of the `wanted` outputs recorded in a dvc.lock text."""
    if not lock_text:
        return {}
    found = (yaml.safe_load(lock_text) or {}).get("stages", {})
    out: dict[str, object] = {}
    for stage, paths in wanted.items():
        recorded = {o.get("path"): o.get("md5") for o in (found.get(stage, {}).get("outs") or [])}
        out[stage] = {p: recorded.get(p) for p in paths}
    return out


def dataset_changed(root: Path, stages: list[str]) -> bool:
    """Do the data outputs of `stages` in dvc.lock differ from the committed dvc.lock?"""
    from adgen.orchestrate import dag

    wanted = dag.data_outs(root, stages)
    lock = root / "dvc.lock"
    now = lock.read_text() if lock.exists() else None
    head = _git(root, "show", "HEAD:dvc.lock", check=False)
    before = head.stdout if head.returncode == 0 else None
    return _stage_outs(now, wanted) != _stage_outs(before, wanted)


def stages_changed(root: Path, stages: list[str]) -> bool:
    """Do the dvc.lock entries of `stages` differ from the committed ones (any field, any output)?"""
    lock = root / "dvc.lock"
    now = (yaml.safe_load(lock.read_text()) or {}).get("stages", {}) if lock.exists() else {}
    head = _git(root, "show", "HEAD:dvc.lock", check=False)
    before = (yaml.safe_load(head.stdout) or {}).get("stages", {}) if head.returncode == 0 else {}
    return any(now.get(s) != before.get(s) for s in stages)


def next_tag(root: Path, prefix: str, today: dt.date) -> str:
    base = f"{prefix}{today.isoformat()}"
    taken = set(_git(root, "tag", "--list", f"{base}*").stdout.split())
    if base not in taken:
        return base
    n = 2
    while f"{base}.{n}" in taken:
        n += 1
    return f"{base}.{n}"


def record_dataset_version(
    root: Path,
    kept: int,
    *,
    stages: list[str],
    prefix: str = "dataset-",
    push: bool = True,
    today: dt.date | None = None,
    on_line=None,
    base: str | None = None,
) -> DatasetVersion | None:
    """Push the data, commit dvc.lock and tag the commit; None when the dataset did not change.

    `stages` are the dataset stages (crawl … build_datasets as present in the DAG): all are pushed;
    the data outputs of `dag.version_stages` decide whether this is a new version. Their outputs
    must already be in the DVC cache (`dvc repro` does that).
    """
    from adgen.orchestrate import dag

    root = Path(root)
    if not dataset_changed(root, [s for s in dag.version_stages(root) if s in stages] or stages):
        return None
    if push:
        # with what they read (inputs/*.dvc): a clone of the version restores it all
        commands.run(commands.dvc("push", "--with-deps", *stages), cwd=root, on_line=on_line)
    tag = next_tag(root, prefix, today or dt.datetime.now(dt.UTC).date())
    commit_pipeline_state(
        root, f"Dataset version {tag}: {kept} kept images", stages, require_remote=push, base=base
    )
    _git(root, "tag", "-a", tag, "-m", f"AdGen dataset version {tag}\n\nkept={kept}")
    from adgen.orchestrate import runclone

    runclone.push_tag(root, tag)
    commit = _git(root, "rev-parse", "HEAD").stdout.strip()
    return DatasetVersion(tag=tag, kept=kept, commit=commit)


def should_retrain(previous: DatasetVersion | None, current: DatasetVersion | None, growth: float) -> bool:
    """True when a new version's kept set grew by more than `growth` (a fraction) over the last one.

    The first version with any kept image counts as growth; no new version never does.
    """
    if current is None or current.kept <= 0:
        return False
    if previous is None or previous.kept <= 0:
        return True
    return (current.kept - previous.kept) / previous.kept > growth


def commit_pipeline_state(
    root: Path,
    message: str,
    stages: list[str] | None = None,
    *,
    require_remote: bool = False,
    base: str | None = None,
) -> bool:
    """Commit what `stages` (default: every stage of dvc.yaml) reproduced: their dvc.lock entries,
    their git-tracked metrics files and the pipeline definition (adgen/orchestrate/stagecommit.py);
    nothing else the checkout holds. With `require_remote`, only once the DVC remote has their
    outputs. In a run clone (`base`: the commit the run started at) the commit is published to the
    git remote (adgen/orchestrate/runclone.py). False when that changes nothing."""
    from adgen.orchestrate import dag, runclone

    root = Path(root)
    chosen = dag.stages(root) if stages is None else stages
    return runclone.commit_run(root, chosen, message, base=base, require_remote=require_remote) is not None


def commit_lock(root: Path, message: str, stages: list[str] | None = None) -> bool:
    """After a training run: commit its stage with the pipeline state it ran with."""
    return commit_pipeline_state(root, message, stages)
