"""The review tests' fixtures: the filter tests' real FIXTURE detector and tiny raw projects, the
orchestration tests' FIXTURE models cache, and a small reported project (served or not)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from adgen.report.build import build_report
from adgen.review.serve import review_server
from tests.detect.conftest import fixture_detector_dir, project  # noqa: F401 (pytest fixtures)
from tests.orchestrate.conftest import models_cache  # noqa: F401 (FIXTURE models, built once)
from tests.report.builders import build_project


@pytest.fixture
def reported(tmp_path: Path):
    """The report builders' small project (photo 0 kept, photo 2 rejected) with its report built."""
    (tmp_path / "project").mkdir()
    params = build_project(tmp_path / "project")
    return params, build_report(params)


@pytest.fixture
def served(reported):
    """That report served by `adgen review serve`'s server on a free port of 127.0.0.1."""
    params, _ = reported
    server = review_server(params, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield params, server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
