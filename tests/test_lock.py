"""What the suite runs with is the lock, and the lock satisfies pyproject.toml.

A fresh `make test` builds `.venv` from requirements/lock.txt only; these checks make a drift
visible where it starts (a hand-installed upgrade in the venv, a range edited without `make lock`)
instead of on the next user's machine.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import REPO_ROOT

LOCK = REPO_ROOT / "requirements" / "lock.txt"
EXTRAS = ("dev", "s3", "cluster")  # the Makefile's EXTRAS


def locked() -> dict[str, Version]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if match:
            pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in EXTRAS:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return [r for r in reqs if r.marker is None or r.marker.evaluate()]


def test_every_declared_dependency_is_locked_within_its_range():
    pins = locked()
    for req in declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in the lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"lock has {req.name}=={pins[name]}, outside pyproject's {req.specifier}: run `make lock`"
        )


def test_the_venv_holds_exactly_the_locked_versions():
    """Each locked package, as `import` finds it (the first on sys.path). Not every distribution on
    the path: setuptools appends its `_vendor` folder, with older copies of packaging, zipp and
    others, once something imports it (tensorflow_hub does)."""
    drift = []
    for name, pinned in locked().items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            drift.append(f"{name} missing (lock {pinned})")
            continue
        if installed.public != pinned.public:
            drift.append(f"{name} {installed} (lock {pinned})")
    assert not drift, "installed versions differ from requirements/lock.txt: " + ", ".join(sorted(drift))
