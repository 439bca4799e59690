"""The released official checkpoint loads into our network strictly, by a one-to-one name mapping.

tests/models/pidm/official_keys.json is the official network's state-dict table (name -> shape):
it was recorded by instantiating the official `BeatGANsAutoencModel` (ankanbhunia/PIDM at e4f1d88,
models/unet_autoenc.py, with config/diffconfig.py's get_model_conf() arguments) on torch's meta
device outside this repository and writing every `state_dict()` entry; its "how" field says so. No
official code is in this repository: the table is the independent side of the check.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from adgen.errors import UserError
from adgen.models.pidm.config import preset
from adgen.models.pidm.model import PidmUNet
from adgen.models.pidm.official import load_official, official_names, to_ours
from adgen.training.checkpoint import UnsafeCheckpoint

TABLE = json.loads((Path(__file__).parent / "official_keys.json").read_text())["keys"]


@pytest.fixture(scope="module")
def meta_model() -> PidmUNet:
    with torch.device("meta"):
        return PidmUNet(preset("deepfashion256"))


def test_every_official_name_and_shape_maps_one_to_one_onto_ours(meta_model):
    names = official_names(meta_model)
    ours = meta_model.state_dict()
    assert len(TABLE) == 852 and sum(torch.Size(s).numel() for s in TABLE.values()) == 180_355_718
    assert set(names) == set(ours)  # every one of ours has an official name
    assert len(set(names.values())) == len(names)  # no two of ours share one
    assert set(names.values()) == set(TABLE)  # and they are exactly the official names
    for mine, theirs in names.items():
        assert list(ours[mine].shape) == TABLE[theirs], (mine, theirs)


def test_a_state_dict_with_the_official_names_and_shapes_loads_strictly(meta_model):
    official = {k: torch.empty(s, device="meta") for k, s in TABLE.items()}
    result = meta_model.load_state_dict(to_ours(official, meta_model), strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


def _official_state(model: PidmUNet) -> dict[str, torch.Tensor]:
    """Distinct values under the official names (the inverse mapping), to see each lands in place."""
    g = torch.Generator().manual_seed(0)
    names = official_names(model)
    return {names[k]: torch.randn(v.shape, generator=g) for k, v in model.state_dict().items()}


def test_the_released_file_layout_loads_with_every_value_in_its_place(tmp_path):
    model = PidmUNet(preset("demo"))
    official = _official_state(model)
    path = tmp_path / "last.pt"
    torch.save({"ema": official, "model": {}, "scheduler": {}}, path)  # the release's dict layout
    load_official(path, model)
    names = official_names(model)
    for k, v in model.state_dict().items():
        assert torch.equal(v, official[names[k]]), k


def test_the_pose_transfer_loader_takes_the_official_ema_file(tmp_path):
    from PIL import Image

    from adgen.models.pidm.api import load_pose_transfer

    model = PidmUNet(preset("demo"))
    official = _official_state(model)
    torch.save({"ema": official}, tmp_path / "pidm_ema.pt")  # as docs/pidm.md says to extract it
    transfer = load_pose_transfer(tmp_path / "pidm_ema.pt", official="demo")
    names = official_names(model)
    assert all(torch.equal(v, official[names[k]]) for k, v in transfer.model.state_dict().items())
    transfer.steps = 1
    kp = np.full((18, 3), [0.5, 0.5, 1.0], np.float32)
    assert transfer.transfer(Image.new("RGB", (22, 32), "white"), kp, kp).size == (22, 32)


def test_a_checkpoint_of_another_network_is_refused_in_one_line(tmp_path):
    model = PidmUNet(preset("demo"))
    official = _official_state(model)
    official.pop(next(iter(official)))
    official["label_emb.weight"] = torch.zeros(3)
    with pytest.raises(UserError, match="1 missing .* 1 unexpected"):
        to_ours(official, model)


def test_a_file_with_code_in_it_is_not_loaded(tmp_path):
    path = tmp_path / "last.pt"
    # the official file pickles its config object: any class is refused by the weights-only loader
    torch.save({"ema": {}, "conf": argparse.Namespace(lr=2e-5)}, path)
    with pytest.raises(UnsafeCheckpoint, match="save its .ema. entry alone"):
        load_official(path, PidmUNet(preset("demo")))
