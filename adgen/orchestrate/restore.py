"""`adgen versions verify [REV]`: does a commit restore from a fresh clone?

The promise of every commit a flow makes is that `git clone` + `dvc pull` + `dvc status` of it is
clean on any machine: its outputs are in the DVC remote and its lock matches its params and stage
definitions. This checks exactly that, in a temporary clone against the real remote, rather than
trusting the checkout that made it (whose cache and working files hide what was never pushed).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from adgen.errors import UserError
from adgen.orchestrate import commands


class NotRestorable(UserError):
    """A commit that a fresh clone cannot restore to a clean `dvc status`."""


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise UserError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout


def remotes(root: Path) -> dict[str, str]:
    """{name: url} of the DVC remotes as `root` resolves them (relative local paths made absolute).

    Read through DVC's own config loader: `dvc remote list` prints a table that wraps at the
    terminal's width, so a long path came back cut in two (seen under pytest-xdist's deeper temp
    dirs) and the clone was pointed at a directory that did not exist.
    """
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return {name: str(conf["url"]) for name, conf in repo.config["remote"].items() if "url" in conf}


def _point_at_remotes(root: Path, clone: Path) -> None:
    """The clone uses the remotes `root` uses: its git-ignored config.local (credentials, endpoints)
    is copied, and a local-directory url (relative to `root`) is made absolute."""
    local = root / ".dvc" / "config.local"
    if local.is_file():
        shutil.copyfile(local, clone / ".dvc" / "config.local")
        # never `root`'s cache: a run clone shares its project's (runclone.clone_project), and a
        # verifying clone that read from it would not prove the remote holds the outputs
        if "cache" in local.read_text():
            commands.run(commands.dvc("config", "--local", "--unset", "cache.dir"), cwd=clone, check=False)
    for name, url in remotes(root).items():
        if "://" not in url:
            commands.run(commands.dvc("remote", "modify", "--local", name, "url", url), cwd=clone)


def verify(
    root: Path,
    rev: str = "HEAD",
    *,
    stages: Sequence[str] = (),
    on_line: Callable[[str], None] | None = None,
) -> str:
    """Clone `root` at `rev` into a temp dir, `dvc pull` (only `stages` and what they depend on,
    when given) and require a clean `dvc status`; return the commit. NotRestorable otherwise."""
    root = Path(root).resolve()
    commit = _git(root, "rev-parse", "--verify", f"{rev}^{{commit}}").strip()
    with tempfile.TemporaryDirectory(prefix="adgen-verify-") as tmp:
        clone = Path(tmp) / "clone"
        _git(Path(tmp), "clone", "-q", "--no-checkout", str(root), str(clone))
        _git(clone, "fetch", "-q", str(root), commit)  # also a commit no branch of the clone holds
        _git(clone, "checkout", "-q", "--detach", commit)
        _point_at_remotes(root, clone)
        targets = [*stages, "--with-deps"] if stages else []
        pulled = commands.run(commands.dvc("pull", *targets), cwd=clone, on_line=on_line, check=False)
        status = commands.run(
            commands.dvc("status", "--json", *stages, *(["--with-deps"] if stages else [])),
            cwd=clone,
            check=False,
        )
    start = status.find("{")
    try:
        changed = json.loads(status[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        changed = None
    if changed != {}:
        tail = "\n".join(pulled.splitlines()[-8:])
        raise NotRestorable(
            f"commit {commit[:10]} does not restore from a clone: dvc status {status.strip()[:600]}\n{tail}"
        )
    return commit
