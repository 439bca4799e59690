"""One tiny trained SF-GAN shared by the tests of this directory."""

from __future__ import annotations

import pytest

from adgen.models.sfgan.train import run

from .helpers import tiny_params


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A tiny SF-GAN: ST-GAN pre-trained in <run>/geometry (4 + 4 steps), then 6 joint steps."""
    root = tmp_path_factory.mktemp("sfgan")
    params = tiny_params(root)
    result = run(params, root / "run", root / "metrics", data_root=root, echo=False)
    return root, params, result
