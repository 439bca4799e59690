"""Where torch runs is one setting, checked once: a typo or a GPU that is not here is one line.

Before: `train.stylegan2.device: cdua` ended in torch's RuntimeError traceback, `device: cuda` on a
machine without a GPU in torch's "not compiled with CUDA" traceback from inside the run set-up, and
`compare.device: auto` (allowed by its pattern) reached `torch.device("auto")`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from pydantic import ValidationError

from adgen import config
from adgen.config.compare import CompareParams
from adgen.errors import UserError
from adgen.training.dist import resolve_device, setup
from tests.test_cli_errors import run_adgen

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a GPU")


def test_auto_is_the_gpu_when_there_is_one_else_the_cpu():
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
    assert setup("auto", amp=False).device.type == resolve_device("auto")


@pytest.mark.parametrize("name", ["cdua", "gpu", "cuda:", "cuda:x", "CPU", ""])
def test_a_name_torch_would_not_take_is_one_line_naming_the_setting(name):
    with pytest.raises(UserError, match=r"^--device .*: cpu, cuda, cuda:N or auto$"):
        resolve_device(name, "--device")


@no_gpu
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_a_gpu_that_is_not_here_is_one_line(name):
    with pytest.raises(UserError, match=rf"^train.gfla.device {name}: no CUDA device here"):
        resolve_device(name, "train.gfla.device")
    with pytest.raises(UserError, match="no CUDA device here"):
        setup(name)


def test_every_device_setting_refuses_a_typo_when_params_are_read(tmp_path: Path):
    for section in ("train.stylegan2", "train.gfla", "train.dpig", "train.stgan", "generate", "compare"):
        tree: dict = {}
        node = tree
        for part in section.split("."):
            node = node.setdefault(part, {})
        node["device"] = "cdua"
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(tree))
        with pytest.raises(UserError, match=rf"{section}.device: String should match pattern"):
            config.load(path)
    with pytest.raises(ValidationError):
        CompareParams(device="tpu")


@no_gpu
def test_training_on_a_gpu_that_is_not_here_stops_in_one_line_before_any_run_dir(tmp_path: Path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"train": {"stylegan2": {"device": "cuda"}}}))
    done = run_adgen("--params", "params.yaml", "train", "stylegan2", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "adgen: error: train.stylegan2.device cuda: no CUDA device here (torch sees none); use cpu or auto"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


@no_gpu
def test_sampling_on_a_gpu_that_is_not_here_is_one_line(tmp_path: Path):
    done = run_adgen("sample", "stylegan2", "--checkpoint", "nowhere.pt", "--device", "cuda", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--device cuda: no CUDA device here" in done.stderr
