"""The metrics point the right way: a generator that outputs the real photos beats noise.

Real maths on small real networks the tests build: a TF GraphDef laid out like the FID Inception
graph, a random Keras InceptionV3, and the FIXTURE pose model (a SavedModel with MoveNet's
signature) that reads the joints these test people carry.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from adgen.compare.evalset import build_eval_set
from adgen.compare.generators import Candidate, Missing
from adgen.compare.run import compare_generators, write_comparison
from adgen.compare.score import Scorer

from .conftest import H, W, write_held_out


def real_photos(ev) -> Candidate:
    """Pose-controlled by construction: for a target pose, its real photo (whatever the seed)."""

    def posed(keypoints, seeds):
        t = next(t for t in ev.targets if np.allclose(t.keypoints, keypoints, atol=1e-6))
        return [t.image.copy() for _ in seeds]

    return Candidate("approach1", (H, W), {}, posed=posed)


def noise(kind: str = "approach2") -> Candidate:
    def posed(keypoints, seeds):
        return [
            Image.fromarray(np.random.default_rng(s).integers(0, 256, (H, W, 3), dtype=np.uint8))
            for s in seeds
        ]

    return Candidate(kind, (H, W), {}, posed=posed)


@pytest.fixture
def eval_set(tmp_path):
    return build_eval_set(
        write_held_out(tmp_path / "gfla", deepfashion=3, curated=3), tmp_path / "compare", k=6
    )


def test_real_photos_score_better_fid_and_pose_mse_than_noise(eval_set, fid_graph, estimator):
    scorer = Scorer(fid_graph=fid_graph, estimator=estimator)
    result = compare_generators(eval_set, [real_photos(eval_set), noise()], scorer, seeds=2)
    real, rand = result.values["generators"]["approach1"], result.values["generators"]["approach2"]
    assert real["fid"] < rand["fid"]
    assert real["fid"] == pytest.approx(0.0, abs=1e-3 * rand["fid"])
    assert real["pose_mse"] < 1e-3, "the pose model reads the target pose off the real photo"
    assert rand["pose_mse"] > 10 * real["pose_mse"]
    assert real["full_body_share"] == 1.0 and real["pose_found_share"] == 1.0
    assert rand["full_body_share"] <= real["full_body_share"]
    assert real["images"] == rand["images"] == 12
    assert real["images_per_second"] > 0


def test_inception_score_is_computed_with_the_keras_network(eval_set, tmp_path):
    import tensorflow as tf

    weights = tmp_path / "inception_v3.weights.h5"
    tf.keras.utils.set_random_seed(0)
    tf.keras.applications.InceptionV3(weights=None).save_weights(str(weights))
    scores = Scorer(inception_weights=weights, is_splits=2).score(
        [t.image for t in eval_set.targets], [], None, (W, H), 1.0
    )
    assert 1.0 <= scores["inception_score"] < 1000 and scores["inception_score_std"] >= 0


def test_metrics_without_their_networks_are_skipped_with_the_reason(eval_set):
    scores = Scorer(estimator=None, estimator_error="pose.model: no SavedModel at x").score(
        [t.image for t in eval_set.targets], [t.image for t in eval_set.targets], None, (W, H), 0.5
    )
    assert scores["inception_score_skipped"] == "metrics.inception_v3_weights is not set"
    assert scores["fid_skipped"] == "metrics.fid_inception_graph is not set"
    assert scores["pose_mse_skipped"].startswith("no pose model: pose.model")
    assert scores["images_per_second"] == pytest.approx(12.0)


def test_unconditional_generators_get_no_pose_mse_but_a_full_body_share(eval_set, estimator):
    people = Candidate("dcgan", (H, W), {}, people=lambda seeds: [eval_set.targets[0].image] * len(seeds))
    result = compare_generators(eval_set, [people], Scorer(estimator=estimator), seeds=2)
    g = result.values["generators"]["dcgan"]
    assert g["kind"] == "unconditional" and g["images"] == 12
    assert g["pose_mse_skipped"] == "not pose-controlled" and g["full_body_share"] == 1.0


def test_outputs_split_numbers_from_words_and_draw_one_row_per_target(eval_set, tmp_path, estimator):
    missing = Missing("approach2", "not trained", "no run", "adgen train dpig")
    result = compare_generators(eval_set, [real_photos(eval_set), missing], Scorer(estimator=estimator), seeds=1,
                                cell_height=64)  # fmt: skip
    files = write_comparison(tmp_path / "metrics", result)
    import json

    numbers = json.loads(files.metrics.read_text())
    info = json.loads(files.info.read_text())
    assert set(numbers["generators"]) == {"approach1"}
    assert numbers["poses"] == 6 and "status" not in numbers["generators"]["approach1"]
    assert info["generators"]["approach2"] == {
        "status": "not trained",
        "reason": "no run",
        "command": "adgen train dpig",
    }
    with Image.open(files.grid) as grid:
        # columns: target pose, real photo, approach 1; rows: 6 targets under a heading strip
        assert grid.size[0] > 3 * 40 and grid.size[1] > 6 * 64
