"""A run in its own clone: clone the pipeline repository at a commit, and publish the run's commit.

The operating model (docs/orchestration.md): each flow run works in a fresh clone at a known
commit, so no two runs share a working tree or DVC's repository lock, and the git remote and the
DVC remote are the only shared state. Publishing is where runs meet: another run may have pushed
since this one's base commit. A textual `git rebase` of two runs' dvc.lock edits conflicts easily
(their entries are neighbours); instead the run's commit is *rebuilt* on the remote's new head with
`stagecommit` (that head's dvc.lock with only this run's stage entries replaced) and pushed again.
The pipeline definition files (params.yaml, dvc.yaml, ...) are carried over only when this run
changed them since its base, so one run never reverts another's params.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from adgen.errors import UserError
from adgen.orchestrate import commands, restore, stagecommit
from adgen.safety import flock


class PublishFailed(UserError):
    """The run's commit could not be pushed (still rejected after every retry, or no remote)."""


def clone_at(origin: str | Path, dest: Path, rev: str | None = None) -> str:
    """Clone `origin` into `dest` (which must not exist) at `rev` (default: its default branch's
    head), pointed at the same DVC remotes when `origin` is a local checkout; return the commit."""
    dest = Path(dest)
    stagecommit.git(dest.parent, "clone", "-q", str(origin), str(dest))
    if rev is not None:
        stagecommit.git(dest, "fetch", "-q", "origin", rev)
        stagecommit.git(dest, "checkout", "-q", "FETCH_HEAD")
    local = Path(origin)
    if local.is_dir() and (local / ".dvc").is_dir():
        restore._point_at_remotes(local, dest)
    return stagecommit.git(dest, "rev-parse", "HEAD").stdout.strip()


# What a run keeps from the branch head whatever commit its code comes from: the pipeline state
# the runs published (the newest dataset version, trainings), which its own commit builds on.
PIPELINE_STATE = ("dvc.lock", "metrics")
# Set in a run clone: the git remote its commits are published to (adgen/orchestrate/worker_setup.py).
PUBLISH_KEY = "adgen.publish"
# A run clone of a checkout (not a bare remote) pushes into the checked-out branch: the checkout's
# working tree follows the push (git refuses when it holds uncommitted edits to tracked files).
_PUSH_INTO_CHECKOUT = "git -c receive.denyCurrentBranch=updateInstead receive-pack"


def _cache_dir(project: Path) -> Path:
    from dvc.repo import Repo

    with Repo(str(project)) as repo:
        return Path(repo.cache.local.path).parents[1]  # <cache>/files/md5


def deployed_code(clone: Path, commit: str | None, branch: str, remote: str = "origin") -> str:
    """Check out `branch` as the remote has it, with `commit`'s files over it but for the pipeline
    state: the deployment's code and params, the newest published data. Return the branch head."""
    stagecommit.git(clone, "fetch", "-q", remote, branch)
    head = stagecommit.git(clone, "rev-parse", "FETCH_HEAD").stdout.strip()
    stagecommit.git(clone, "checkout", "-q", "-f", "-B", branch, head)
    if commit and commit != head:
        has = stagecommit.git(clone, "cat-file", "-e", f"{commit}^{{commit}}", check=False)
        if (
            has.returncode != 0
            and stagecommit.git(clone, "fetch", "-q", remote, commit, check=False).returncode
        ):
            raise UserError(f"the deployed commit {commit[:10]} is not in {remote}: push it, or deploy again")
        keep = [f":(exclude){name}" for name in PIPELINE_STATE]
        stagecommit.git(clone, "checkout", "-q", commit, "--", ".", *keep)
    return head


def clone_project(project: Path, dest: Path, *, commit: str | None = None, branch: str | None = None) -> Path:
    """A flow run's own clone of the project checkout `project` (prefect.yaml, one machine), at
    `commit`'s code on `branch`'s pipeline state (`deployed_code`), publishing its commits back into
    `project` and sharing its DVC cache and remotes: no two runs share a working tree or DVC's lock,
    and nothing the machine already has is copied over the network."""
    project, dest = Path(project).resolve(), Path(dest)
    branch = branch or current_branch(project)
    stagecommit.git(dest.parent, "clone", "-q", "--no-checkout", str(project), str(dest))
    deployed_code(dest, commit, branch)
    stagecommit.git(dest, "config", "remote.origin.receivepack", _PUSH_INTO_CHECKOUT)
    stagecommit.git(dest, "config", PUBLISH_KEY, "origin")
    if (project / ".dvc").is_dir():
        restore._point_at_remotes(project, dest)
        cache = str(_cache_dir(project))
        commands.run(commands.dvc("cache", "dir", "--local", cache), cwd=dest)
    return dest


def changed_since(clone: Path, base: str, names: Sequence[str]) -> list[str]:
    """Which of `names` this run changed in its working tree since `base`."""
    out = stagecommit.git(clone, "diff", "--name-only", base, "--", *names).stdout
    return [n for n in out.split() if n]


def _move_head(clone: Path, commit: str) -> None:
    """HEAD (and the index) to `commit`, the working tree untouched: the run's files stay as it made them."""
    stagecommit.git(clone, "read-tree", commit)
    stagecommit.git(clone, "update-ref", "HEAD", commit)


def publish(
    clone: Path,
    stages: Sequence[str],
    message: str,
    *,
    base: str,
    branch: str = "main",
    remote: str = "origin",
    require_remote: bool = True,
    tries: int = 5,
    wait_s: float = 1.0,
) -> str | None:
    """Commit `stages` of this run on top of the remote branch and push it; return the commit (None
    when the run changed nothing). A push rejected because another run pushed first is retried on
    the new head (`tries` times in all, `wait_s` growing between them)."""
    clone = Path(clone)
    own_definition = changed_since(clone, base, stagecommit.DEFINITION)
    url = stagecommit.git(clone, "remote", "get-url", remote).stdout.strip()
    for attempt in range(tries):
        with _pushing_into(url):
            stagecommit.git(clone, "fetch", "-q", remote, branch, check=False)
            head = stagecommit.git(
                clone, "rev-parse", "-q", "--verify", "FETCH_HEAD", check=False
            ).stdout.strip()
            if head:
                _move_head(clone, head)
            commit = stagecommit.commit_stages(
                clone, stages, message, require_remote=require_remote, definition=own_definition
            )
            if commit is None:
                return None
            pushed = stagecommit.git(clone, "push", "-q", remote, f"HEAD:refs/heads/{branch}", check=False)
        if pushed.returncode == 0:
            return commit
        if attempt + 1 < tries:
            time.sleep(wait_s * (attempt + 1) + (os.getpid() % 7) / 10)  # runs that collided part
    raise PublishFailed(
        f"could not push the commit of {', '.join(stages)} to {remote}/{branch} after {tries} tries: "
        + _why_rejected(pushed.stderr or "", url)
    )


@contextlib.contextmanager
def _pushing_into(url: str) -> Iterator[None]:
    """One run at a time publishes into a repository on this machine (the checkout of prefect.yaml's
    runs, a local bare remote). git's push into a checked-out branch (updateInstead) is not safe
    against a second push at the same moment: the loser's working-tree update is applied but its ref
    update refused, which left the checkout with staged changes that refused every later push (7 of
    8 concurrent runs failed; tests/orchestrate/test_runclone.py). A remote on another machine
    updates its refs atomically and needs no lock."""
    where = Path(url)
    git_dir = where / ".git" if (where / ".git").is_dir() else where if (where / "HEAD").is_file() else None
    if git_dir is None:
        yield
        return
    with flock(git_dir / "adgen-publish.lock", fcntl.LOCK_EX):
        yield


def _why_rejected(stderr: str, url: str) -> str:
    """git's reason, and what to do when the remote is a checkout with edits (prefect.yaml runs)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = next((line for line in lines if "rejected" in line), lines[-1] if lines else "rejected")
    if any(s in reason for s in ("staged changes", "not up to date", "Up-to-date check")):  # also "unstaged"
        return (
            f"{reason}: the checkout {url} holds uncommitted changes to tracked files, and runs push "
            "their commits into it; commit or undo them there"
        )
    return reason


# The worker cloned this run from the pipeline's git remote (prefect.workers.yaml's git_clone of
# $ADGEN_GIT_URL): its commits go back there. Anywhere else (a shared checkout, a developer's clone
# of GitHub) a flow only commits locally and never pushes on its own.
GIT_URL_ENV = "ADGEN_GIT_URL"


def _same_remote(a: str, b: str) -> bool:
    if a == b:
        return True
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    return pa.exists() and pb.exists() and pa.resolve() == pb.resolve()


def publishing_remote(root: Path, remote: str = "origin") -> str | None:
    """`remote` when this checkout is a run clone of $ADGEN_GIT_URL, the remote `clone_project`
    named, else None (commit locally)."""
    named = stagecommit.git(Path(root), "config", "--get", PUBLISH_KEY, check=False).stdout.strip()
    if named:
        return named
    wanted = os.environ.get(GIT_URL_ENV, "").strip()
    if not wanted:
        return None
    url = stagecommit.git(Path(root), "remote", "get-url", remote, check=False).stdout.strip()
    return remote if url and _same_remote(url, wanted) else None


def current_branch(root: Path) -> str:
    name = stagecommit.git(Path(root), "symbolic-ref", "-q", "--short", "HEAD", check=False).stdout.strip()
    return name or "main"


def commit_run(
    root: Path, stages: Sequence[str], message: str, *, base: str | None, require_remote: bool
) -> str | None:
    """A flow's commit of its `stages`: published to the git remote (rebuilt on its head, pushed,
    retried) when this is a run clone, else committed in this checkout only."""
    remote = publishing_remote(root) if base else None
    if remote is None:
        return stagecommit.commit_stages(root, stages, message, require_remote=require_remote)
    return publish(
        root,
        stages,
        message,
        base=base,
        branch=current_branch(root),
        remote=remote,
        require_remote=require_remote,
    )


def push_tag(root: Path, tag: str) -> None:
    """Publish `tag` too when this is a run clone (a dataset version's tag)."""
    remote = publishing_remote(root)
    if remote is not None:
        pushed = stagecommit.git(Path(root), "push", "-q", remote, f"refs/tags/{tag}", check=False)
        if pushed.returncode != 0:
            raise PublishFailed(f"could not push tag {tag} to {remote}: {pushed.stderr.strip()[-300:]}")
