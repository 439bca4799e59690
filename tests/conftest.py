"""Test-wide environment: no analytics, a private PREFECT_HOME, quiet TensorFlow, small torch."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

# Before any prefect/tensorflow import anywhere in the tests.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="adgen-prefect-home-"))
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DVC_NO_ANALYTICS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port() -> int:
    return free_port()
