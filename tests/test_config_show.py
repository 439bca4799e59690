"""`adgen config show`: the values each stage will actually use (presets applied), each marked with
the layer that set it: default, preset <name>, params.yaml or CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from adgen import config

PARAMS = """\
paths:
  raw: elsewhere/raw
train:
  gfla:
    preset: demo
    batch: 3
"""


def show(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "params.yaml").write_text(PARAMS)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "adgen.cli",
            "--params",
            str(tmp_path / "params.yaml"),
            "config",
            "show",
            *args,
        ],
        capture_output=True,
        text=True,
    )


def layer_of(out: str, section: str, key: str) -> tuple[object, str]:
    """(value, layer) of `key` inside the block starting at `section:` (indented YAML)."""
    block = out.split(f"\n{section}:\n", 1)[1] if not out.startswith(f"{section}:") else out
    match = re.search(rf"^\s+{re.escape(key)}: (.*?)  # (.*)$", block, re.M)
    assert match, f"{section}.{key} not shown"
    return config.read_yaml(match.group(1)), match.group(2)


def test_show_prints_the_values_a_run_uses_with_their_layer(tmp_path: Path) -> None:
    proc = show(tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    shown = config.read_yaml(out)  # still plain YAML: the layers are comments
    gfla = shown["train"]["gfla"]
    # The demo preset's 4 steps are what trains, not the class default (100000).
    assert (gfla["preset"], gfla["steps"], gfla["flow_steps"], gfla["batch"]) == ("demo", 4, 4, 3)
    assert layer_of(out, "  gfla", "steps") == (4, "preset demo")
    assert layer_of(out, "  gfla", "batch") == (3, "params.yaml")
    assert layer_of(out, "  gfla", "preset") == ("demo", "params.yaml")
    assert layer_of(out, "  gfla", "lr_d") == (1e-05, "default")
    assert layer_of(out, "paths", "raw") == ("elsewhere/raw", "params.yaml")
    assert layer_of(out, "paths", "models") == ("data/models", "default")
    # A model the file does not mention runs its default preset: its values show, marked as such.
    stylegan2 = shown["train"]["stylegan2"]
    assert stylegan2["preset"] == "auto" and stylegan2["mapping_layers"] == 2
    assert layer_of(out, "  stylegan2", "mapping_layers") == (2, "preset auto")


def test_a_preset_on_the_command_line_is_shown_as_the_cli_layer(tmp_path: Path) -> None:
    proc = show(tmp_path, "--preset", "gfla=p128", "--preset", "stgan=exp1")
    assert proc.returncode == 0, proc.stderr
    assert layer_of(proc.stdout, "  gfla", "preset") == ("p128", "CLI --preset gfla=p128")
    assert layer_of(proc.stdout, "  gfla", "height") == (128, "preset p128")
    assert layer_of(proc.stdout, "  gfla", "batch") == (3, "params.yaml")  # the file still wins over a preset
    assert layer_of(proc.stdout, "  stgan", "height") == (144, "preset exp1")


def test_a_bad_preset_argument_is_one_line(tmp_path: Path) -> None:
    for bad, says in (("gfla", "expected MODEL=PRESET"), ("nosuchgan=demo", "unknown model 'nosuchgan'")):
        proc = show(tmp_path, "--preset", bad)
        assert proc.returncode == 2 and says in proc.stderr and "Traceback" not in proc.stderr
    proc = show(tmp_path, "--preset", "gfla=huge")
    assert proc.returncode == 2 and "unknown GFLA preset 'huge'" in proc.stderr
