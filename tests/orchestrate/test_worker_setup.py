"""The one-machine pull step: a flow run enters ADGEN_PROJECT_DIR, or fails in one line saying what to set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adgen.orchestrate.worker_setup import WorkerSetupError, check_project_dir, enter_project_dir


@pytest.mark.parametrize("value", [None, "", "   "])
def test_an_unset_project_dir_names_the_variable_to_set(value):
    with pytest.raises(WorkerSetupError) as err:
        check_project_dir(value)
    message = str(err.value)
    assert message.startswith("ADGEN_PROJECT_DIR is not set on this worker")
    assert "\n" not in message


def test_a_relative_project_dir_is_refused(tmp_path: Path):
    with pytest.raises(WorkerSetupError, match="must be an absolute path"):
        check_project_dir("adgen")


def test_a_dir_that_is_not_a_checkout_says_what_is_missing(tmp_path: Path):
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    with pytest.raises(WorkerSetupError, match=r"is not an AdGen checkout \(no params.yaml, flows\)"):
        check_project_dir(str(tmp_path))


def test_the_step_enters_the_checkout(repo_root: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir("/")
    monkeypatch.delenv("ADGEN_PROJECT_DIR", raising=False)
    assert enter_project_dir(str(repo_root)) == {"directory": str(repo_root.resolve())}
    assert Path(os.getcwd()) == repo_root.resolve()


def test_the_step_reads_the_variable_when_the_template_left_nothing(repo_root: Path, monkeypatch):
    monkeypatch.chdir("/")
    monkeypatch.setenv("ADGEN_PROJECT_DIR", str(repo_root))
    assert enter_project_dir("") == {"directory": str(repo_root.resolve())}
