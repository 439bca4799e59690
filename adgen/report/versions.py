"""The dataset-version panel: which version the workspace is, and what changed since the previous one.

Versions are the annotated git tags `dataset-YYYY-MM-DD` the refresh flow makes
(adgen/orchestrate/versions.py; the message carries `kept=N`). Everything about a tagged version is
read from git (`git show TAG:./dvc.lock`, `TAG:./params.yaml`, parsed with adgen.safe_files.read_yaml) and, for
the image ids of its manifests, from the local DVC cache by the hashes its dvc.lock records (the
cache the refresh flow filled; no DVC code runs). A version whose manifests are not in the local
cache still shows its kept count from the tag message. Outside a git repository, or with no tag
yet, the panel says so in one line.
"""

from __future__ import annotations

import configparser
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from adgen import safe_files
from adgen.config import Params
from adgen.errors import UserError

TAG_PREFIX = "dataset-"
_KEPT = re.compile(r"\bkept=(\d+)\b")
# A tagged dvc.lock lists every out of every stage; params.yaml is far smaller.
LOCK_MAX_BYTES = 20_000_000
# The stages the panel counts: (label, paths attribute, count only rows kept?)
STAGES = (("crawled", "raw", False), ("kept", "filtered", True), ("stripped", "stripped", True))


@dataclass(frozen=True)
class Tag:
    name: str
    commit: str
    date: str  # the tagger's date, YYYY-MM-DD HH:MM
    kept: int | None  # from the tag message


@dataclass
class State:
    """One side of the comparison: a tagged version, or the workspace as it is."""

    label: str
    date: str
    ids: dict[str, set[str] | None] = field(default_factory=dict)  # per stage; None: not readable
    kept_from_tag: int | None = None


def _git(root: Path, *args: str) -> str | None:
    """Output of a read-only git command run in `root`; None when it fails (not a repo, no such rev)."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def dataset_tags(root: Path) -> list[Tag]:
    """Every dataset tag in the repository, newest first (by the tag's date, then name)."""
    out = _git(root, "for-each-ref", "--sort=-v:refname", "--sort=-creatordate",
               "--format=%(refname:short)%00%(*objectname)%00%(objectname)%00"
               "%(creatordate:format:%Y-%m-%d %H:%M)%00%(contents)%1e",
               f"refs/tags/{TAG_PREFIX}*")  # fmt: skip
    tags = []
    for record in (out or "").split("\x1e"):
        parts = record.strip("\n").split("\0")
        if len(parts) < 5:
            continue
        name, peeled, obj, date, message = parts
        m = _KEPT.search(message)
        tags.append(Tag(name, peeled or obj, date, int(m.group(1)) if m else None))
    return tags


def _show(root: Path, rev: str, path: str) -> str | None:
    return _git(root, "show", f"{rev}:./{path}")


def _yaml(text: str | None) -> dict[str, Any]:
    try:  # a tag's params.yaml / dvc.lock came from whoever pushed it: the user-file limits apply
        data = safe_files.read_yaml(text, "tagged file", max_bytes=LOCK_MAX_BYTES) if text else None
    except UserError:
        return {}
    return data if isinstance(data, dict) else {}


def flatten(data: object, prefix: str = "") -> dict[str, object]:
    """Nested mappings as dotted keys (`strip.backend`); lists and scalars are values."""
    if not isinstance(data, dict):
        return {prefix: data} if prefix else {}
    out: dict[str, object] = {}
    for k, v in data.items():
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def params_changed(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(key, before, after) for every param that differs between two params.yaml mappings."""
    a, b = flatten(before), flatten(after)
    unset = "(not set)"
    return [
        (k, unset if k not in a else json.dumps(a[k]), unset if k not in b else json.dumps(b[k]))
        for k in sorted(set(a) | set(b))
        if a.get(k, unset) != b.get(k, unset) or (k in a) != (k in b)
    ]


def _lock_outs(lock: dict[str, Any]) -> dict[str, dict[str, str]]:
    """{stage: {out path: md5}} of a parsed dvc.lock."""
    stages = lock.get("stages") if isinstance(lock.get("stages"), dict) else {}
    found: dict[str, dict[str, str]] = {}
    for stage, entry in stages.items():
        outs = entry.get("outs") if isinstance(entry, dict) else None
        found[str(stage)] = {
            str(o["path"]): str(o.get("md5"))
            for o in outs or []
            if isinstance(o, dict) and isinstance(o.get("path"), str)
        }
    return found


def stages_changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Stages whose recorded outputs differ between two dvc.lock files (new stages included)."""
    a, b = _lock_outs(before), _lock_outs(after)
    return [s for s in b if a.get(s) != b[s]] + [s for s in a if s not in b]


def cache_dir(root: Path) -> Path:
    """The DVC cache of the project: `cache.dir` of .dvc/config(.local), else .dvc/cache."""
    found = root / ".dvc" / "cache"
    for name in ("config", "config.local"):
        cfg = configparser.ConfigParser()
        try:
            cfg.read(root / ".dvc" / name)
        except configparser.Error:
            continue
        if cfg.has_option("cache", "dir"):
            found = (root / ".dvc" / cfg.get("cache", "dir").strip("'\"")).resolve()
    return found


def _cached(cache: Path, md5: str) -> Path | None:
    """A cache file by its hash (DVC 3 layout `files/md5/ab/cdef…`, then DVC 2's `ab/cdef…`)."""
    if not re.fullmatch(r"[0-9a-f]{32}(\.dir)?", md5):
        return None
    for base in (cache / "files" / "md5", cache):
        p = base / md5[:2] / md5[2:]
        if p.is_file():
            return p
    return None


def locked_file(lock: dict[str, Any], cache: Path, relpath: str) -> Path | None:
    """The cached copy of `relpath` as the dvc.lock `lock` recorded it: a file output itself, or a
    file inside a directory output (through the directory's `.dir` listing); None if not cached."""
    for outs in _lock_outs(lock).values():
        for out, md5 in outs.items():
            if out == relpath:
                return _cached(cache, md5)
            if relpath.startswith(out.rstrip("/") + "/") and md5.endswith(".dir"):
                listing = _cached(cache, md5)
                try:
                    entries = json.loads(listing.read_text()) if listing else []
                except (OSError, ValueError):
                    return None
                inner = relpath[len(out.rstrip("/")) + 1 :]
                for e in entries if isinstance(entries, list) else []:
                    if isinstance(e, dict) and e.get("relpath") == inner and isinstance(e.get("md5"), str):
                        return _cached(cache, e["md5"])
                return None
    return None


def manifest_ids(path: Path | None, kept_only: bool) -> set[str] | None:
    """Image ids in a manifest (only the kept rows if asked); None when it can't be read."""
    if path is None or not path.is_file():
        return None
    try:
        columns = ["image_id", "keep"] if kept_only else ["image_id"]
        df = pd.read_parquet(path, columns=columns)
    except (OSError, ValueError, KeyError):
        return None
    if kept_only:
        df = df[df["keep"].fillna(False).astype(bool)]
    return {str(i) for i in df["image_id"]}


def _manifest(params: Params, attr: str) -> str:
    return (Path(getattr(params.paths, attr)) / "manifest.parquet").as_posix()


def workspace_state(params: Params, label: str, date: str) -> State:
    state = State(label, date)
    for stage, attr, kept_only in STAGES:
        state.ids[stage] = manifest_ids(params.path(_manifest(params, attr)), kept_only)
    return state


def tagged_state(params: Params, tag: Tag) -> State:
    root = params.root
    lock, cache = _yaml(_show(root, tag.name, "dvc.lock")), cache_dir(root)
    state = State(tag.name, tag.date, kept_from_tag=tag.kept)
    for stage, attr, kept_only in STAGES:
        state.ids[stage] = manifest_ids(locked_file(lock, cache, _manifest(params, attr)), kept_only)
    return state


def count(state: State, stage: str) -> int | None:
    ids = state.ids.get(stage)
    return None if ids is None else len(ids)


def version_panel(params: Params) -> dict[str, Any]:
    """What the panel's template shows: `line` alone when there is nothing to compare, else the
    current and previous versions, counts per stage with images added/removed, changed params and
    stages."""
    root = params.root
    head = _git(root, "rev-parse", "HEAD")
    if head is None:
        return {"line": "Not a git repository (or no commit yet): no dataset versions to compare. The "
                        "refresh flow tags each version dataset-YYYY-MM-DD."}  # fmt: skip
    head = head.strip()
    tags = dataset_tags(root)
    if not tags:
        return {"line": f"No dataset version tagged yet (commit {head[:10]}); the refresh flow tags "
                        "each version dataset-YYYY-MM-DD."}  # fmt: skip
    at_head = [t for t in tags if t.commit == head]
    if at_head:
        current = at_head[0]
        older = tags[tags.index(current) + 1 :]
        label, date = current.name, current.date
    else:
        older = tags
        when = (_git(root, "log", "-1", "--format=%cd", "--date=format:%Y-%m-%d %H:%M", "HEAD") or "").strip()
        label, date = f"not a tagged version (commit {head[:10]})", when
    now = workspace_state(params, label, date)
    panel: dict[str, Any] = {"line": None, "current": label, "date": date, "tagged": bool(at_head),
                             "previous": None, "rows": [], "params": [], "stages": [],
                             "versions": len(tags)}  # fmt: skip
    previous = tagged_state(params, older[0]) if older else None
    if previous is not None:
        panel["previous"] = f"{previous.label} ({previous.date})"
        panel["previous_kept"] = previous.kept_from_tag
        panel["previous_cached"] = any(ids is not None for ids in previous.ids.values())
        before = _yaml(_show(root, older[0].name, "params.yaml"))
        after = _yaml((root / "params.yaml").read_text() if (root / "params.yaml").is_file() else None)
        panel["params"] = params_changed(before, after)
        lock_now = _yaml((root / "dvc.lock").read_text() if (root / "dvc.lock").is_file() else None)
        panel["stages"] = stages_changed(_yaml(_show(root, older[0].name, "dvc.lock")), lock_now)
    panel["header"] = ["stage", "images now"]
    if previous is not None:
        panel["header"] += [f"at {previous.label}", "added", "removed"]
    for stage, _, _ in STAGES:
        row: list[object] = [stage, _shown(count(now, stage))]
        if previous is not None:
            a, b = previous.ids.get(stage), now.ids.get(stage)
            known = a is not None and b is not None
            row += [_shown(count(previous, stage)), f"+{len(b - a)}" if known else "—",
                    f"−{len(a - b)}" if known else "—"]  # fmt: skip
        panel["rows"].append(row)
    return panel


def _shown(n: int | None) -> object:
    return "—" if n is None else n
