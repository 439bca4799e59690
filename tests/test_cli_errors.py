"""The installed `adgen` meets a user's mistakes with click's short message, never a traceback.

Run as the console script pip installed (the venv's `bin/adgen`), not through `CliRunner`: the
bug this guards against (typer vendoring its own click, so usage errors escaped `main()`) only
shows in the real entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ADGEN = Path(sys.executable).with_name("adgen")


def run_adgen(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if not ADGEN.exists():
        pytest.fail(f"{ADGEN} missing: the tests expect the project installed in this venv (make test)")
    return subprocess.run(
        [str(ADGEN), *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["trian", "stgan"], "No such command 'trian'"),
        (["crawl", "--max-images", "abc"], "Invalid value for '--max-images'"),
        (["train", "stgan", "--nosuch"], "No such option: --nosuch"),
        (["train"], "Usage: adgen train"),
        ([], "Usage: adgen"),
    ],
    ids=["typo-command", "bad-value", "unknown-option", "group-alone", "no-arguments"],
)
def test_usage_errors_are_clicks_short_message_with_exit_2(args, says, tmp_path):
    done = run_adgen(*args, cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert says in out
    assert "Traceback" not in out
    assert len(out.splitlines()) < 60, out  # a message or the help, not a stack


def test_version_prints_the_installed_version(tmp_path):
    done = run_adgen("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"adgen {version('adgen')}"
    assert "Traceback" not in done.stderr
