"""The tests' torchrun launcher: a timeout ends the workers too, not only the launcher."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.torchrun import torchrun

HANG = """
import os, sys, time
from pathlib import Path
Path(sys.argv[1], f"worker-{os.environ['RANK']}.pid").write_text(str(os.getpid()))
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed, not yet reaped by its dead parent) counts as gone
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[-1][:1] != "Z"


@pytest.mark.slow
def test_a_torchrun_that_times_out_leaves_no_worker_running(tmp_path: Path, port: int) -> None:
    script = tmp_path / "hang.py"
    script.write_text(HANG)
    with pytest.raises(subprocess.TimeoutExpired):
        torchrun([script, tmp_path], port=port, timeout=25)
    pids = [int(p.read_text()) for p in sorted(tmp_path.glob("worker-*.pid"))]
    assert len(pids) == 2, "the workers did not start within the timeout"
    deadline = time.time() + 10
    while any(_alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids), "a torchrun worker outlived the timeout"
