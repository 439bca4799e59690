"""A standard VGG19 weights file (torchvision key names) loads into the in-project VGG19."""

from __future__ import annotations

import pytest
import torch

from adgen.errors import UserError
from adgen.models.gfla.vgg import RELU_INDEX, load_vgg19


def test_torchvision_vgg19_state_dict_loads_and_gives_the_named_relu_features(vgg19_file):
    vgg = load_vgg19(vgg19_file)
    state = torch.load(vgg19_file)
    torch.testing.assert_close(vgg.features[34].weight, state["features.34.weight"])  # conv5_4
    assert not any(p.requires_grad for p in vgg.parameters())
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    feats = vgg(x, ["relu1_1", "relu3_1", "relu5_2"])
    # relu1_1 by hand: conv 0 then ReLU
    torch.testing.assert_close(
        feats["relu1_1"],
        torch.relu(
            torch.nn.functional.conv2d(x, state["features.0.weight"], state["features.0.bias"], padding=1)
        ),
    )
    assert feats["relu3_1"].shape == (1, 256, 8, 8) and feats["relu5_2"].shape == (1, 512, 2, 2)
    assert RELU_INDEX["relu4_1"] == 20 and RELU_INDEX["relu5_2"] == 31


def test_missing_vgg_weights_name_the_download_and_the_param(tmp_path):
    with pytest.raises(UserError, match=r"train\.gfla\.vgg19_weights is not set.*vgg19-dcbb9e9d"):
        load_vgg19(None)
    with pytest.raises(UserError, match="not found"):
        load_vgg19(tmp_path / "nope.pth")
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, tmp_path / "partial.pth")
    with pytest.raises(UserError, match="not a VGG19 state dict"):
        load_vgg19(tmp_path / "partial.pth")
