"""The pair scores of the comparison: a transfer step held to the real photo of the same person in the
target pose. Known answers with small real classes implementing the PoseTransferrer protocol; the
end-to-end run with tiny trained GFLA and PIDM is in test_compare.py."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from adgen.compare.evalset import build_eval_set
from adgen.compare.pairs import PairScores, score_transfer, transfer_step
from adgen.metrics.pairs import PairMetricFiles
from adgen.models import registry
from adgen.models.roles import PoseTransfer, PoseTransferrer

from .conftest import H, W, write_held_out


class Oracle:
    """A perfect pose transfer: the real photo of the person in the asked pose (looked up by pose)."""

    def __init__(self, ev):
        self.answers = {t.keypoints.tobytes(): t.image for t in ev.paired}
        self.calls = 0

    @property
    def size(self) -> tuple[int, int]:
        return H, W

    def transfer(self, source: Image.Image, source_kp: np.ndarray, target_kp: np.ndarray) -> Image.Image:
        self.calls += 1
        return self.answers[np.asarray(target_kp).tobytes()].copy()


class Unmoved(Oracle):
    """A transfer that moves nobody: the source photo back, at half size (the network's own frame)."""

    def transfer(self, source: Image.Image, source_kp: np.ndarray, target_kp: np.ndarray) -> Image.Image:
        return source.resize((W // 2, H // 2))


@pytest.fixture(scope="module")
def ev(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    return build_eval_set(write_held_out(root / "gfla"), root / "compare", k=4)


def test_a_perfect_transfer_scores_ssim_1_and_one_that_moves_nobody_scores_less(ev):
    assert isinstance(Oracle(ev), PoseTransferrer)
    perfect = score_transfer(Oracle(ev), ev, PairMetricFiles())
    assert perfect["pairs"] == len(ev.paired) == 3 < len(ev.targets)  # only where the pair exists
    assert perfect["pair_ssim"] == pytest.approx(1.0)
    assert perfect["transfers_per_second"] > 0
    assert perfect["pair_fid_skipped"] == "metrics.fid_inception_graph is not set"
    assert perfect["pair_lpips_skipped"] == "metrics.lpips_weights is not set"
    unmoved = score_transfer(Unmoved(ev), ev, PairMetricFiles())
    assert unmoved["pair_ssim"] < 0.9  # the source pose is not the target pose


def test_a_perfect_transfer_has_a_pair_fid_near_0(ev, fid_graph):
    perfect = score_transfer(Oracle(ev), ev, PairMetricFiles(fid_graph=fid_graph))
    unmoved = score_transfer(Unmoved(ev), ev, PairMetricFiles(fid_graph=fid_graph))
    assert abs(perfect["pair_fid"]) < 1e-3 < unmoved["pair_fid"]


def _transfer_spec(loads: list, ev):
    """The first declared pose transfer, and a copy of it whose loader counts its calls and gives an Oracle."""
    spec = next(s for s in registry.models().values() if isinstance(s.role, PoseTransfer))

    def load(checkpoint, device):
        loads.append((checkpoint, device))
        return Oracle(ev)

    return spec, replace(spec, role=replace(spec.role, load=load))


def test_the_transfer_step_is_found_by_role_and_scored_once_for_every_chain_that_shares_it(ev, tmp_path):
    loads: list = []
    real_spec, spec = _transfer_spec(loads, ev)
    people = next(s for s in registry.models().values() if s.name == real_spec.role.people_from)
    assert transfer_step((people, real_spec)) is real_spec and transfer_step((people,)) is None
    ckpt = {spec.name: str(tmp_path / "checkpoint-1.pt"), people.name: "p.pt"}
    pairs = PairScores(ev, PairMetricFiles())
    first = pairs.for_chain((people, spec), ckpt)
    second = pairs.for_chain((people, spec), {**ckpt, people.name: "another people generator.pt"})
    assert len(loads) == 1 and loads[0][0].name == "checkpoint-1.pt"
    assert first["pair_ssim"] == second["pair_ssim"] == pytest.approx(1.0)
    assert "real held-out pairs" in first["pair_scores"]
    assert pairs.for_chain((people,), {people.name: "p.pt"}) == {}  # no transfer step, no pair scores
    pairs.for_chain((people, spec), {**ckpt, spec.name: str(tmp_path / "checkpoint-2.pt")})
    assert len(loads) == 2  # another checkpoint of the transfer is another model


def test_a_set_without_pairs_gives_the_reason_instead_of_scores(ev, tmp_path):
    loads: list = []
    _, spec = _transfer_spec(loads, ev)
    old = replace(ev, targets=[replace(t, pair=None) for t in ev.targets], pairs_recorded=False)
    out = PairScores(old, PairMetricFiles()).for_chain((spec,) * 2, {spec.name: "x.pt"})
    assert out == {"pairs_skipped": old.pairs_skipped} and not loads
    assert "rebuild the set with `adgen evaluate compare-set`" in out["pairs_skipped"]
