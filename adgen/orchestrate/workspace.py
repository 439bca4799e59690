"""A workspace: a copy of the project that is its own git + DVC repository.

The demo and the orchestration tests run the real `dvc.yaml` with a params preset applied, without
touching the checkout's params.yaml, data or git history. The copy holds the project's files as
git sees them (tracked + untracked-but-not-ignored), minus data and reports; a second call brings
an existing workspace up to date with the project and keeps its data, DVC cache and history, so
`dvc repro` there only reruns what changed.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
from pathlib import Path

from adgen.errors import UserError

GIT_IDENTITY = ["-c", "user.name=AdGen", "-c", "user.email=adgen@localhost"]
# outputs of the pipeline, never the project's files (metrics/ is git-tracked but written by stages)
_SKIP_PREFIXES = ("data/", "report/", "metrics/", ".dvc/cache/", ".dvc/tmp/")


def project_files(repo: Path) -> list[str]:
    """Paths (relative) of the project's files: what git tracks or would track."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=repo,
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        raise UserError(f"{repo}: not a git checkout of the project (git ls-files failed)") from None
    names = sorted({n for n in out.decode().split("\0") if n})
    keep = [n for n in names if n == "data/.gitignore" or not n.startswith(_SKIP_PREFIXES)]
    return [n for n in keep if (repo / n).is_file()]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


# A workspace keeps its own params, lock and the fixture site's ground truth (the demo's input).
KEEP = ("params.yaml", "dvc.lock", "inputs/ground-truth.json")


def sync_workspace(repo: Path, dest: Path, *, skip: tuple[str, ...] = KEEP) -> Path:
    """Create or update `dest` as a git repo holding the project's files from `repo`.

    Files named in `skip` are copied only when missing in `dest` (a workspace keeps its own
    params and lock). Returns `dest`.
    """
    repo, dest = Path(repo).resolve(), Path(dest).resolve()
    if dest == repo or repo in dest.parents:
        raise UserError(f"{dest}: a workspace must live outside the project checkout {repo}")
    dest.mkdir(parents=True, exist_ok=True)
    fresh = not (dest / ".git").exists()
    if fresh:
        git("init", "-q", "-b", "main", cwd=dest)
    for name in project_files(repo):
        src, dst = repo / name, dest / name
        if dst.exists() and (name in skip or filecmp.cmp(src, dst, shallow=False)):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
    (dest / "data").mkdir(exist_ok=True)
    commit_all(dest, "Workspace created from the project" if fresh else "Workspace updated from the project")
    return dest


def commit_all(dest: Path, message: str) -> bool:
    """Commit every change in `dest`; False when there was nothing to commit."""
    git("add", "-A", cwd=dest)
    if not git("status", "--porcelain", cwd=dest).strip():
        return False
    git("commit", "-q", "-m", message, cwd=dest)
    return True
