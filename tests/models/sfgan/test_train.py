"""SF-GAN trains real steps on CPU, resumes exactly, and its checkpoints load as weights only."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from PIL import Image

from adgen.errors import UserError
from adgen.models.sfgan.api import load_compositor
from adgen.models.sfgan.config import LOSS_COLUMNS
from adgen.models.sfgan.train import build_networks, load_state, run, stgan_state
from tests.training.helpers import stats_rows

from .helpers import tiny_params


def test_training_runs_both_stages_and_leaves_every_output(trained):
    root, params, result = trained
    run_dir = root / "run"
    assert result.steps == params.iters
    assert result.checkpoint == run_dir / "checkpoint-000000006.pt"
    assert list((run_dir / "geometry").glob("warp-1.pt")), "the geometry part was pre-trained by ST-GAN"
    for name in ("training_options.json", "log.txt", "stats.jsonl", "metrics.json", "samples-final.png"):
        assert (run_dir / name).is_file(), name
    records = stats_rows(run_dir)
    assert [r["step"] for r in records] == list(range(1, 7))
    assert all(torch.isfinite(torch.tensor([r[c] for c in LOSS_COLUMNS])).all() for r in records)
    numbers = json.loads((root / "metrics" / "sfgan.json").read_text())
    assert numbers["joint_steps"] == 6 and "placement_error_final" in numbers
    assert all(isinstance(v, int | float | dict) for v in numbers.values())
    assert "checkpoint" in json.loads((root / "metrics" / "sfgan.info.json").read_text())
    csv = (root / "metrics" / "sfgan_loss.csv").read_text().splitlines()
    assert csv[0] == "step," + ",".join(LOSS_COLUMNS) and len(csv) == 7


def test_joint_training_changes_the_appearance_part_and_the_warps(trained):
    root, params, result = trained
    state = load_state(result.checkpoint)
    fresh = build_networks(params)
    moved = [
        not torch.equal(state["appearance"][k], v) for k, v in fresh.fusion.appearance.state_dict().items()
    ]
    assert any(moved)
    geometry = stgan_state(root / "run" / "geometry")["generators"]  # the pre-trained warps
    assert any(not torch.equal(state["geometry"][k], v) for k, v in geometry.items())


def test_checkpoint_holds_only_weights_only_types(trained):
    _, _, result = trained
    state = torch.load(result.checkpoint, weights_only=True)
    assert state["format"] == "adgen-sfgan/1" and state["iteration"] == 6


def test_resumed_run_equals_an_uninterrupted_one(trained, tmp_path):
    root, _, first = trained
    # Start both from the same trained ST-GAN so only the joint stage differs.
    params = tiny_params(root, stgan_checkpoint=root / "run" / "geometry")
    straight = run(params, tmp_path / "straight", None, data_root=root, echo=False)
    half = run(params, tmp_path / "resumed", None, data_root=root, echo=False, until=3)
    assert half.steps == 3
    resumed = run(params, tmp_path / "resumed", None, data_root=root, echo=False)
    assert resumed.steps == 6
    a = (tmp_path / "straight" / "stats.jsonl").read_text()
    b = (tmp_path / "resumed" / "stats.jsonl").read_text()
    assert a == b
    sa, sb = load_state(straight.checkpoint), load_state(resumed.checkpoint)
    for part in ("geometry", "appearance", "d_geometry", "d_appearance"):
        for k in sa[part]:
            assert torch.equal(sa[part][k], sb[part][k]), (part, k)


def test_the_joint_stage_is_the_same_whether_its_geometry_was_trained_here_or_loaded(trained, tmp_path):
    """Stage 1 runs inside the joint run (its `begin`) and draws from the global RNG: the joint
    stage's batch streams are seeded after it, so loading that same ST-GAN gives the same steps."""
    root, _, _ = trained
    params = tiny_params(root, stgan_checkpoint=root / "run" / "geometry")
    run(params, tmp_path / "loaded", None, data_root=root, echo=False)
    assert (tmp_path / "loaded" / "stats.jsonl").read_text() == (root / "run" / "stats.jsonl").read_text()


def test_resume_with_other_params_is_refused_in_one_line(trained, tmp_path):
    root, _, _ = trained
    params = tiny_params(root, stgan_checkpoint=root / "run" / "geometry", iters=2)
    run(params, tmp_path / "r", None, data_root=root, echo=False)
    with pytest.raises(UserError, match="different params"):
        run(
            tiny_params(root, stgan_checkpoint=root / "run" / "geometry", iters=3),
            tmp_path / "r",
            None,
            data_root=root,
            echo=False,
        )


def test_an_stgan_of_another_size_is_refused_in_one_line(trained, tmp_path):
    root, _, _ = trained
    params = tiny_params(root, stgan_checkpoint=root / "run" / "geometry", height=48, width=48)
    with pytest.raises(UserError, match="height"):
        run(params, tmp_path / "r", None, data_root=root, echo=False)


def test_compositor_puts_a_bag_on_a_person_deterministically(trained):
    root, params, result = trained
    comp = load_compositor(root / "run")
    person = Image.open(next((root / "ds" / "images").glob("background-*.png"))).convert("RGB")
    bag = Image.open(next((root / "ds" / "images").glob("foreground-*.png"))).convert("RGBA")
    one = comp.composite(person, bag, seed=3)
    two = comp.composite(person, bag, seed=3)
    assert one.image.size == (params.width, params.height)
    assert one.image.tobytes() == two.image.tobytes()
    assert len(one.per_warp) == params.warps + 1 and len(one.params) == params.warps + 1
    assert one.alpha.shape == (params.height, params.width) and one.alpha.max() > 0.5
    assert one.geometry_image.size == one.image.size


def test_a_foreign_or_hostile_checkpoint_is_a_one_line_error(tmp_path):
    evil = tmp_path / "evil.pt"

    class Boom:
        def __reduce__(self):
            return (print, ("unpickled!",))

    evil.write_bytes(pickle.dumps({"format": "adgen-sfgan/1", "x": Boom()}))
    with pytest.raises(UserError, match="SF-GAN checkpoint .* holds more than tensors"):
        load_compositor(evil)
    other = tmp_path / "other.pt"
    torch.save({"format": "adgen-stgan/1"}, other)
    with pytest.raises(UserError, match="not an SF-GAN checkpoint"):
        load_compositor(other)
    with pytest.raises(UserError, match="not found"):
        load_compositor(tmp_path / "missing.pt")
    with pytest.raises(UserError, match="no SF-GAN checkpoint"):
        load_compositor(tmp_path)


def test_untrained_translator_leaves_a_smooth_bag_alone():
    """The colour head and the style layer start at zero: before training, SF-GAN is ST-GAN."""
    from adgen.models.sfgan.model import AppearanceTranslator

    torch.manual_seed(0)
    t = AppearanceTranslator(8, 2)
    bag = torch.zeros(1, 4, 32, 32)
    bag[:, :3, 8:24, 8:24] = torch.tensor([0.8, 0.4, 0.1]).view(1, 3, 1, 1)
    bag[:, 3, 8:24, 8:24] = 1.0
    out = t(torch.rand(1, 3, 32, 32), bag)
    assert torch.allclose(out, bag, atol=1e-4)
