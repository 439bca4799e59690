"""Real SavedModels with MoveNet's signature, built once per session and loaded via tensorflow_hub."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def write_stripped_project(root: Path, scenes: list, **strip_params: object):
    """A project as the pose stage finds it: the filter's output and strip's, run for real on it."""
    from adgen import config
    from adgen.matting.strip import strip
    from tests.matting.scenes import write_filtered_project

    df = write_filtered_project(root, scenes)
    strip(config.from_dict({"strip": {"refine_detector_masks": False, **strip_params}}, root=root))
    return df


@pytest.fixture(scope="session")
def fixture_pose_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from adgen.fixtures.pose import build_fixture_pose_model

    return build_fixture_pose_model(tmp_path_factory.mktemp("models") / "fixture-pose")


SCRIPTED_YX = np.array([[0.25 + 0.02 * k, 0.5 - 0.01 * k, 0.8] for k in range(17)], dtype=np.float32)
SCRIPTED_YX[3, 2] = 0.05  # left ear: below any sensible min_score


def build_scripted_movenet(out_dir: Path, size: int = 192) -> Path:
    """A MoveNet-signature SavedModel (int32 [1,S,S,3] -> output_0 [1,1,17,3] (y, x, score)) that
    always answers SCRIPTED_YX, so the letterbox mapping can be checked exactly."""
    import tensorflow as tf

    class ScriptedMoveNet(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, size, size, 3], tf.int32, name="input")])
        def serve(self, input):  # noqa: A002
            zero = tf.cast(tf.reduce_sum(input) * 0, tf.float32)
            return {"output_0": tf.constant(SCRIPTED_YX)[None, None] + zero}

    m = ScriptedMoveNet()
    tf.saved_model.save(m, str(out_dir), signatures={"serving_default": m.serve.get_concrete_function()})
    return out_dir


@pytest.fixture(scope="session")
def scripted_movenet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_scripted_movenet(tmp_path_factory.mktemp("models") / "scripted-movenet-lightning")
