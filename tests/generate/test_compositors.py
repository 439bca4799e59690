"""`adgen composite --model sfgan` and `adgen generate --compositor sfgan`: SF-GAN places and relights
the bag where ST-GAN only places it, through the same commands, on tiny models trained here."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.generate.test_generate import _adgen_in_process
from tests.generate.test_generate import project as project  # noqa: F401  (the module fixture: approach 1's models)
from tests.models.sfgan.helpers import tiny_params


@pytest.fixture(scope="module")
def with_sfgan(project: Path) -> Path:  # noqa: F811
    """The approach-1 project plus a tiny SF-GAN (32 px like its ST-GAN) under models/sfgan."""
    import torch

    from adgen.models.sfgan.train import run

    torch.set_num_threads(1)
    params = tiny_params(project / "sfgan-data")
    run(
        params,
        project / "models" / "sfgan" / "00000-demo",
        project / "sfgan-metrics",
        data_root=project / "sfgan-data",
        echo=False,
    )
    return project


@pytest.mark.slow
def test_composite_with_sfgan_puts_the_bag_on_the_person(with_sfgan: Path):
    person = with_sfgan / "person.png"
    Image.new("RGB", (16, 32), (200, 180, 160)).save(person)
    code = _adgen_in_process(
        with_sfgan,
        "composite",
        "--model",
        "sfgan",
        "--person",
        str(person),
        "--bag",
        "bag.png",
        "-o",
        "sf.png",
    )
    assert code == 0
    assert Image.open(with_sfgan / "sf.png").size == (32, 32)


@pytest.mark.slow
def test_generate_with_the_sfgan_compositor_records_its_checkpoint(with_sfgan: Path):
    import json

    code = _adgen_in_process(
        with_sfgan,
        "generate",
        "--pose",
        "pose.json",
        "--bag",
        "bag.png",
        "--compositor",
        "sfgan",
        "-o",
        "sf-out",
    )
    assert code == 0
    metrics = json.loads((with_sfgan / "sf-out" / "metrics.json").read_text())
    assert "sfgan" in metrics["checkpoints"] and "stgan" not in metrics["checkpoints"]
    assert (with_sfgan / "sf-out" / "seed-0" / "ad.png").is_file()


def test_an_unknown_compositor_is_one_line(project: Path, capsys):  # noqa: F811
    code = _adgen_in_process(
        project, "composite", "--model", "glue", "--person", "bag.png", "--bag", "bag.png", "-o", "x.png"
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--model 'glue': choose stgan or sfgan" in err[0]
    code = _adgen_in_process(
        project, "generate", "--pose", "pose.json", "--bag", "bag.png", "--compositor", "glue", "-o", "x"
    )
    assert code == 2
    assert "choose stgan (placement) or sfgan" in capsys.readouterr().err
