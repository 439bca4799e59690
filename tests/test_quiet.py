"""TensorFlow's start-up chatter is off by default, and a user's own TF_CPP_MIN_LOG_LEVEL is respected.

Real TensorFlow and TF Hub imported in a child process, as `adgen filter` / `adgen pose` do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHATTER = (
    "absl::InitializeLog",
    "oneDNN custom operations",
    "cpu_feature_guard",
    "cudart_stub",
    "pkg_resources",
    "cuInit",  # a CUDA build of TensorFlow on a machine without a GPU, at its first op
)
SCRIPT = """
import os, sys
import adgen
import tensorflow as tf
import tensorflow_hub
print("sum", int(tf.reduce_sum(tf.ones([2, 2]))))  # the first op initialises the devices
print("level", os.environ["TF_CPP_MIN_LOG_LEVEL"])
print("stderr still works", file=sys.stderr)
"""


def start_up(level: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.mark.slow
def test_importing_tensorflow_through_adgen_prints_no_start_up_chatter():
    done = start_up(None)
    assert "level 2" in done.stdout and "sum 4" in done.stdout
    assert [line for line in done.stderr.splitlines() if any(c in line for c in CHATTER)] == []
    assert "stderr still works" in done.stderr  # only the import was silenced


@pytest.mark.slow
def test_a_user_who_asks_for_tensorflows_logs_gets_them():
    done = start_up("0")
    assert "level 0" in done.stdout
    assert "oneDNN custom operations" in done.stderr or "absl::InitializeLog" in done.stderr
