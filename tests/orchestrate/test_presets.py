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
    assert p.detect.model == "inputs/detector"
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


# --- params files that DVC or a person rewrote ----------------------------------------------------


def _git_dvc_project(project: Path, tracked: str) -> None:
    """`project` as a git + DVC repo with one stage that depends on the params section `tracked`."""
    from adgen.orchestrate import commands

    (project / "dvc.yaml").write_text(
        f"stages:\n  show:\n    cmd: python -c \"print('ok')\"\n    params:\n      - {tracked}\n"
    )
    env = commands.tool_env()
    ident = ["-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True, env=env)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=project, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True, env=env)
    subprocess.run(["git", *ident, "commit", "-qm", "init"], cwd=project, check=True, env=env)


def _dvc_exp_run_set(project: Path, assignment: str) -> None:
    from adgen.orchestrate import commands

    proc = subprocess.run(
        [sys.executable, "-m", "dvc", "exp", "run", "-S", assignment],
        cwd=project,
        env=commands.tool_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _preset_cli(project: Path, name: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "adgen.cli", "--params", str(project / "params.yaml"), "preset", "apply"]
    return subprocess.run([*cmd, name], capture_output=True, text=True, cwd=project)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gpu", "demo"])
def test_a_preset_applied_after_dvc_exp_run_leaves_valid_params_with_the_experiment_value(
    project: Path, name: str
):
    _git_dvc_project(project, "train.stylegan2")
    _dvc_exp_run_set(project, "train.stylegan2.fid_kimg=2")
    rewritten = (project / "params.yaml").read_text()
    assert "- 128" in rewritten  # DVC wrote the flow lists back as block lists
    done = _preset_cli(project, name)
    assert done.returncode == 0, done.stderr
    text = (project / "params.yaml").read_text()
    plain = yaml.safe_load(text)  # PyYAML too: any YAML reader must accept the file
    p = config.load(project / "params.yaml")
    assert p.train.stylegan2.fid_kimg == 2 == plain["train"]["stylegan2"]["fid_kimg"]
    preset = presets.read_preset(name, project)
    assert p.train.stylegan2.preset == preset["train"]["stylegan2"]["preset"]
    assert list(p.train.stylegan2.resolution) == preset["train"]["stylegan2"]["resolution"]
    assert "# FID of G_ema every N kimg" in text  # comments survive


HAND_EDITED = {
    "comments everywhere": """\
# top comment
train:   # the trainers
  # before stgan
  stgan:
    preset: exp2   # inline
    # between keys

    index: data/datasets/stgan/index.parquet
  stylegan2:
    resolution:     # block list with a comment on the key
    - 128           # height
    - 64            # width
    augment: ada
# trailing comment
""",
    "flow style": """\
train: {stgan: {preset: exp2, index: data/datasets/stgan/index.parquet}, stylegan2: {resolution: [128, 64], augment: ada}}
datasets: {stylegan2_aspect: "2:1", stgan_sizes: [64, 128]}
""",
    "odd indentation": """\
train:
      stgan:
            preset: exp2
            index: data/datasets/stgan/index.parquet
      stylegan2:
            resolution:
                  - 128
                  - 64
            augment: ada
datasets:
 stylegan2_aspect: '2:1'
""",
}


@pytest.mark.parametrize("layout", list(HAND_EDITED))
def test_a_preset_over_a_hand_edited_params_file_writes_exactly_the_merged_values(project: Path, layout: str):
    name = "gpu"
    (project / "params.yaml").write_text(HAND_EDITED[layout])
    before = config.read_yaml(HAND_EDITED[layout])
    presets.apply_preset(project / "params.yaml", name)
    text = (project / "params.yaml").read_text()
    expected = presets.merge(before, presets.read_preset(name, project))
    assert yaml.safe_load(text) == config.read_yaml(text) == expected
    for line in HAND_EDITED[layout].splitlines():
        if line.strip().startswith("#"):
            assert line.strip() in text


def test_a_params_file_that_is_not_yaml_is_left_alone_and_the_command_fails_in_one_line(project: Path):
    broken = "train:\n  stylegan2:\n    augment: ada fid_kimg: 0\n"
    (project / "params.yaml").write_text(broken)
    done = _preset_cli(project, "gpu")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "not valid YAML at line 3" in done.stderr
    assert (project / "params.yaml").read_text() == broken


def test_a_preset_that_makes_a_value_invalid_fails_and_leaves_params_untouched(project: Path):
    (project / "presets" / "bad.yaml").write_text("train:\n  stylegan2:\n    resolution: tall\n")
    before = (project / "params.yaml").read_text()
    done = _preset_cli(project, "bad")
    assert done.returncode == 2 and "train.stylegan2.resolution" in done.stderr, done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert (project / "params.yaml").read_text() == before
