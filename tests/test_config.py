"""params.yaml promises: the repo's file loads; a wrong key or value is one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adgen import config
from adgen.errors import UserError


def test_repository_params_yaml_loads(repo_root: Path) -> None:
    params = config.load(repo_root / "params.yaml")
    assert params.root == repo_root
    assert params.path(params.paths.raw) == repo_root / "data" / "raw"


def test_unknown_key_names_the_key(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text("paths:\n  rawz: data/x\n")
    with pytest.raises(UserError, match=r"paths\.rawz: unknown key"):
        config.load(p)


def test_unknown_section_names_the_section(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text("crawler: {}\n")
    with pytest.raises(UserError, match=r"crawler: unknown key"):
        config.load(p)


def test_invalid_yaml_is_one_line(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text("paths: [\n")
    with pytest.raises(UserError, match="not valid YAML"):
        config.load(p)


def test_cli_reports_bad_params_as_one_line_without_trace(tmp_path: Path) -> None:
    p = tmp_path / "params.yaml"
    p.write_text("paths:\n  nope: 1\n")
    code = "from adgen.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", code, "--params", str(p), "config", "show"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2, out.stderr
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert lines == [
        f"adgen: error: {p}: paths.nope: unknown key (check the spelling against params.yaml in the repository)"
    ]


def test_the_crawl_cannot_store_photos_the_later_stages_refuse(tmp_path: Path) -> None:
    from adgen import safety

    assert (
        config.from_dict({"crawl": {"max_pixels": safety.MAX_PIXELS}}).crawl.max_pixels == safety.MAX_PIXELS
    )
    with pytest.raises(UserError, match=r"crawl\.max_pixels"):
        config.from_dict({"crawl": {"max_pixels": safety.MAX_PIXELS + 1}})
