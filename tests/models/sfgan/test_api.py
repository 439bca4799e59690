"""The SF-GAN compositor as `adgen generate --compositor sfgan` loads it."""

from __future__ import annotations

import shutil

from adgen.models.sfgan.api import load_compositor
from adgen.training import checkpoint


def test_a_damaged_newest_checkpoint_in_a_run_dir_is_passed_over_for_the_previous_one(trained, tmp_path):
    root, _, _ = trained
    run_dir = tmp_path / "run"
    shutil.copytree(root / "run", run_dir)
    newest = checkpoint.list_checkpoints(run_dir)[-1]
    step = int(newest.stem.split("-")[1])
    checkpoint.path_for(run_dir, step + 1).write_bytes(newest.read_bytes()[:100])  # killed mid-write
    comp = load_compositor(run_dir)
    assert comp.fusion is not None
