"""Which failures a flow retries, and what stopping a flow does to the commands it runs.

Real commands, no Prefect server: the retry rule is judged on the errors the real `adgen` and a
real killed process produce; stopping is tried in a fresh interpreter (a stop is for good).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from adgen.errors import UserError
from adgen.orchestrate import commands
from flows.common import TransientFault, is_transient


@pytest.fixture
def project(tmp_path: Path, repo_root: Path) -> Path:
    shutil.copyfile(repo_root / "params.yaml", tmp_path / "params.yaml")
    return tmp_path


def test_a_misspelt_site_is_a_mistake_not_a_fault_to_retry(project: Path):
    with pytest.raises(commands.CommandFailed) as failed:
        commands.run(commands.adgen("crawl", "--site", "gettty"), cwd=project)
    assert failed.value.returncode == 2 and failed.value.user_error
    assert not is_transient(failed.value)


def test_a_command_killed_by_its_timeout_is_retried():
    with pytest.raises(commands.CommandFailed) as failed:
        commands.run([sys.executable, "-c", "import time; time.sleep(60)"], cwd=".", timeout=1)
    assert not failed.value.user_error and is_transient(failed.value)


def test_an_unreachable_site_is_retried_and_a_config_error_is_not():
    assert is_transient(TransientFault("site 'getty' answered no request successfully"))
    assert is_transient(OSError("connection reset"))
    assert not is_transient(UserError("crawl.max_images: must be >= 1"))


def test_stopping_ends_the_running_command_with_its_children_and_refuses_new_ones(tmp_path: Path):
    marker = tmp_path / "grandchild.pid"
    script = textwrap.dedent(
        f"""
        import os, sys, threading, time
        from adgen.orchestrate import commands

        outcome = {{}}
        def work():
            child = "import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', " \\
                "'import time; time.sleep(120)']); open({str(marker)!r}, 'w').write(str(p.pid)); time.sleep(120)"
            try:
                commands.run([sys.executable, "-c", child], cwd=".")
            except commands.Stopping as exc:
                outcome["running"] = "stopped"
        t = threading.Thread(target=work)
        t.start()
        while not os.path.exists({str(marker)!r}):
            time.sleep(0.1)
        commands.stop_all(grace=5)
        t.join(30)
        try:
            commands.run([sys.executable, "-c", "print(1)"], cwd=".")
        except commands.Stopping:
            outcome["new"] = "refused"
        print(outcome["running"], outcome["new"], t.is_alive())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["stopped", "refused", "False"], done.stdout + done.stderr
    grandchild = int(marker.read_text())
    assert not Path(f"/proc/{grandchild}").exists() or "Z" in _state(grandchild)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return "Z"
