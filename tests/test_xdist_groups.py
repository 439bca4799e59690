"""`make test` runs `pytest -n 2 --dist loadgroup`: tests marked `xdist_group(name)` share one worker,
so a session fixture they share (a Prefect server, a reproduced DVC workspace, a trained model) is
built once. pytest 9.2 made that mark a no-op beside pytest-xdist 3.8 (the group is written into
`item._nodeid`, which 9.2 no longer reads): every grouped fixture was built on both workers, CI
trained ST-GAN's test run and reproduced the demo DAG twice. This runs the real plugin on two
grouped tests and checks they land on one worker."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GROUPED = """
import pytest

pytestmark = pytest.mark.xdist_group("together")


def test_one():
    pass


def test_two():
    pass


def test_three():
    pass
"""


def test_grouped_tests_run_on_one_xdist_worker(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the project's options
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup", "-v"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    workers = re.findall(r"\[(gw\d+)\] .*PASSED test_grouped\.py::test_\w+", done.stdout)
    assert len(workers) == 3, done.stdout[-2000:]
    assert len(set(workers)) == 1, f"the group was split over workers {sorted(set(workers))}"
