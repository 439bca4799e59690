"""Fixtures for the orchestration tests: the fixture stock site, demo workspaces, a Prefect server.

Everything is real: the workspace is a copy of this project (its own git + DVC repo) running the
real dvc.yaml with the `demo` preset plus a few overrides that make trainings a handful of steps;
the Prefect server and workers are real processes on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from adgen.demo import prepare_workspace
from tests.conftest import free_port
from tests.orchestrate.harness import PrefectServer

# Fewer steps than the demo preset: the tests check orchestration, not what the models learn.
TEST_OVERRIDES = {
    "fixture_site": {"images": 28, "per_page": 10},
    "crawl": {"max_images": 20, "download_timeout": 3},
    "train": {
        "stgan": {"iters_d_only": 4, "iters_per_warp": 4, "checkpoint_every": 4, "sample_every": 4},
        "stylegan2": {
            "total_kimg": 0.016,
            "tick_kimg": 0.008,
            "checkpoint_kimg": 0.016,
            "sample_kimg": 0.016,
        },
        "gfla": {"flow_steps": 2, "steps": 2},
    },
}


@pytest.fixture
def fixture_site():
    from adgen.fixtures.site.server import FixtureSite

    with FixtureSite(
        images=TEST_OVERRIDES["fixture_site"]["images"], seed=3, per_page=10, slow_seconds=4
    ) as site:
        yield site


@pytest.fixture(scope="session")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FIXTURE detector/pose SavedModels, built once per test process and copied into workspaces."""
    return tmp_path_factory.mktemp("fixture-models")


def make_workspace(root: Path, base_url: str, models_cache: Path, overrides: dict | None = None) -> Path:
    """A demo workspace at `root/ws` with a local DVC remote at `root/remote` (git-ignored config)."""
    from adgen.orchestrate import presets

    ws = root / "ws"
    merged = presets.merge(presets.merge({}, TEST_OVERRIDES), overrides or {})
    prepare_workspace(ws, base_url, overrides=merged, models_cache=models_cache)
    dvc(ws, "remote", "modify", "--local", "local", "url", str(root / "remote"))
    return ws


def dvc(ws: Path, *args: str, check: bool = True) -> str:
    """Run DVC in `ws`; return stdout+stderr (raise with it on failure)."""
    from adgen.orchestrate import commands

    proc = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=ws,
        env=commands.tool_env(),
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed ({proc.returncode}):\n{out[-6000:]}")
    return out


def git(root: Path, *args: str) -> str:
    """Run git in `root` as a throwaway identity; return stdout (raise on failure)."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def lock_with(**entries: str) -> str:
    """A dvc.lock holding one output (md5 as given) per stage."""
    lines = ["schema: '2.0'", "stages:"]
    for stage, md5 in entries.items():
        lines += [
            f"  {stage}:",
            f"    cmd: {stage}",
            "    outs:",
            f"    - path: out/{stage}",
            f"      md5: {md5}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[PrefectServer]:
    """A real Prefect server on 127.0.0.1 (free port, temp PREFECT_HOME); stopped with its workers."""
    server = PrefectServer(home=tmp_path / "prefect-home", port=free_port(), logs=tmp_path / "prefect-logs")
    try:
        yield server.start()
    finally:
        server.stop()
