"""Params presets: `demo` for tiny CPU runs, `gpu` for the product's real settings."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from adgen import config
from adgen.errors import UserError
from adgen.orchestrate import presets


@pytest.fixture
def project(tmp_path: Path, repo_root: Path) -> Path:
    shutil.copyfile(repo_root / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(repo_root / "presets", tmp_path / "presets")
    return tmp_path


@pytest.mark.parametrize("name", ["demo", "gpu"])
def test_every_shipped_preset_validates_over_the_project_params(project: Path, name: str):
    params = presets.apply_preset(project / "params.yaml", name)
    assert params == config.load(project / "params.yaml")


def test_demo_preset_makes_training_tiny_and_points_at_fixture_models(project: Path):
    presets.apply_preset(project / "params.yaml", "demo")
    p = config.load(project / "params.yaml")
    assert (
        p.train.stgan.preset == "demo"
        and p.train.stylegan2.preset == "demo"
        and p.train.gfla.preset == "demo"
    )
    assert tuple(p.train.stylegan2.resolution) == (32, 16)
    assert p.detect.model == "data/fixtures/detector"
    assert p.crawl.sites["profile"].enabled
    # untouched keys keep the project's values
    assert p.crawl.queries == config.load(Path(__file__).parents[2] / "params.yaml").crawl.queries


def test_applying_a_preset_keeps_the_comments_of_params_yaml(project: Path):
    before = (project / "params.yaml").read_text()
    presets.apply_preset(project / "params.yaml", "demo")
    after = (project / "params.yaml").read_text()
    comments = [line.strip() for line in before.splitlines() if line.strip().startswith("#")]
    assert comments and all(c in after for c in comments)
    assert "stgan_sizes: [32]" in after  # lists stay in flow style


def test_applying_a_preset_twice_changes_nothing(project: Path):
    presets.apply_preset(project / "params.yaml", "demo")
    once = (project / "params.yaml").read_text()
    presets.apply_preset(project / "params.yaml", "demo")
    assert (project / "params.yaml").read_text() == once


def test_a_preset_with_an_unknown_key_fails_naming_it_and_leaves_params_untouched(project: Path):
    (project / "presets" / "typo.yaml").write_text("train:\n  stgan:\n    warpz: 3\n")
    before = (project / "params.yaml").read_text()
    with pytest.raises(UserError, match=r"train\.stgan\.warpz: unknown key"):
        presets.apply_preset(project / "params.yaml", "typo")
    assert (project / "params.yaml").read_text() == before


def test_an_unknown_preset_names_the_available_ones(project: Path):
    with pytest.raises(UserError, match="available presets: demo, gpu"):
        presets.apply_preset(project / "params.yaml", "fast")


def test_merge_replaces_lists_and_merges_mappings():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    presets.merge(base, {"a": {"c": [3]}, "e": {"f": 2}})
    assert base == {"a": {"b": 1, "c": [3]}, "d": 1, "e": {"f": 2}}


def test_preset_apply_command_writes_params_and_errors_in_one_line(project: Path):
    cmd = [sys.executable, "-m", "adgen.cli", "--params", str(project / "params.yaml"), "preset", "apply"]
    ok = subprocess.run([*cmd, "demo"], capture_output=True, text=True, cwd=project)
    assert ok.returncode == 0, ok.stderr
    assert yaml.safe_load((project / "params.yaml").read_text())["train"]["stgan"]["preset"] == "demo"
    bad = subprocess.run([*cmd, "nope"], capture_output=True, text=True, cwd=project)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "preset 'nope'" in bad.stderr
