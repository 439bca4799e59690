from __future__ import annotations

import pytest

from .helpers import write_dataset, write_vgg19


@pytest.fixture(scope="session")
def vgg19_file(tmp_path_factory):
    """A VGG19 weights file with torchvision's key names (random weights, ~80 MB, written once)."""
    return write_vgg19(tmp_path_factory.mktemp("vgg") / "vgg19-test.pth")


@pytest.fixture(scope="session")
def gfla_dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("gfla-data") / "gfla")
