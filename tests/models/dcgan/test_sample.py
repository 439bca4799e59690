"""Sampling promises: the same seed is the same person; wrong or missing checkpoints are one line."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from adgen.errors import UserError
from adgen.models.dcgan.api import load_sampler
from adgen.models.dcgan.train import DcganTrainer, generate, train
from adgen.training import checkpoint, dist
from tests.training.helpers import options_job as job


@pytest.fixture
def trained(demo_options, tmp_path):
    return train(job(demo_options.model_copy(update={"total_steps": 6}), tmp_path / "run"))


def test_a_seed_is_the_same_image_whatever_else_is_sampled(trained):
    """The sampling promise (docs/dcgan.md): bit-identical whatever else is in the call."""
    sampler = load_sampler(trained.run_dir)
    assert sampler.resolution == (32, 16)
    a = sampler.sample([3, 7, 11])
    b = load_sampler(trained.checkpoint).sample([11, 3])
    alone = sampler.sample([3])[0]
    assert all(isinstance(im, Image.Image) and im.size == (16, 32) for im in a)
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[1]))
    assert np.array_equal(np.asarray(a[0]), np.asarray(alone))
    assert np.array_equal(np.asarray(a[2]), np.asarray(b[0]))
    assert not np.array_equal(np.asarray(a[0]), np.asarray(a[1]))


def test_each_seed_gets_its_own_forward_pass_in_eval_mode(trained):
    """Why the promise holds on any CPU or GPU: no seed shares a batch (kernels block a batch of 1
    and of 2 differently), BatchNorm uses its running statistics, cuDNN is deterministic."""
    G = load_sampler(trained.checkpoint).G
    G.train()
    seen = []

    def record(module, args):
        seen.append((args[0].shape[0], module.training, torch.backends.cudnn.deterministic))

    G.register_forward_pre_hook(record)
    images = generate(G, [3, 7, 11])
    assert images.shape == (3, 32, 16, 3) and G.training  # back in the mode it was in
    assert seen == [(1, False, True)] * 3


def test_a_missing_checkpoint_or_an_empty_run_dir_is_a_one_line_user_error(tmp_path):
    with pytest.raises(UserError, match="not found.*adgen train dcgan"):
        load_sampler(tmp_path / "nope.pt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no checkpoint"):
        load_sampler(tmp_path / "empty")


def test_a_checkpoint_of_another_model_is_refused_in_one_line(tmp_path):
    other = checkpoint.save(tmp_path / "checkpoint-000000001.pt", {"model": "stylegan2", "G_ema": {}})
    with pytest.raises(UserError, match="a stylegan2 checkpoint, expected one from `adgen train dcgan`"):
        load_sampler(other)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable checkpoint"):
        load_sampler(junk)


def test_training_state_holds_only_what_weights_only_loading_accepts(demo_options):
    """No numpy arrays, no custom classes: the trainer's state loads with weights_only=True."""
    trainer = DcganTrainer(demo_options, dist.setup("cpu", amp=False))
    trainer.step(torch.rand(8, 3, 32, 16) * 2 - 1)
    buf = io.BytesIO()
    torch.save({**trainer.state_dict(), "tick": {"sums": {"loss_G": 1.0}, "count": 1, "start_step": 0}}, buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    assert state["model"] == "dcgan" and state["step"] == 1


def test_sample_command_writes_a_grid(trained, tmp_path):
    import typer

    from adgen.models.dcgan.cli import sample_command

    app = typer.Typer()
    app.command()(sample_command)
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(
        app, ["--checkpoint", str(trained.checkpoint), "--seeds", "0-7", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    with Image.open(out) as grid:
        assert grid.size[0] % 16 == 0 and grid.size[1] % 32 == 0
        tiles = np.asarray(grid.convert("RGB"))
    # seed 5's tile is the person seed 5 is alone
    row, col = divmod(5, tiles.shape[1] // 16)
    alone = np.asarray(load_sampler(trained.checkpoint).sample([5])[0])
    assert np.array_equal(tiles[row * 32 : (row + 1) * 32, col * 16 : (col + 1) * 16], alone)
