"""FIXTURE pose stand-in: a SavedModel with MoveNet's signature that finds the palette's keypoint discs.

For the offline demo and tests ONLY. The fixture site draws a disc in KEYPOINT_COLOURS[k] at each
visible COCO joint k; this model returns each colour's centroid as that joint, so the pose stage,
the GFLA dataset and the metrics run end to end on synthetic people without MoveNet's weights.
It knows nothing about real people: never point pose.model at it for real photos.
"""

from __future__ import annotations

from pathlib import Path

from adgen import atomic
from adgen.fixture_site.palette import KEYPOINT_COLOURS, TOLERANCE

FIXTURE_NOTE = (
    "FIXTURE pose stand-in (adgen.pose.fixture_pose): finds the fixture site's keypoint colour discs. "
    "Offline demo/tests only; it cannot see real people. Real runs use MoveNet from TF Hub.\n"
)
MIN_PIXELS = 2  # fewer matching pixels than this = joint not visible
FOUND_SCORE = 0.9


def build_fixture_pose_model(out_dir: str | Path, input_size: int = 256) -> Path:
    """Write the FIXTURE pose SavedModel (int32 [1,S,S,3] -> output_0 [1,1,17,3] (y, x, score))."""
    import tensorflow as tf

    class FixturePoseModel(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="FIXTURE_pose_stand_in")
            self.colours = tf.constant(KEYPOINT_COLOURS, dtype=tf.int32)

        @tf.function(input_signature=[tf.TensorSpec([1, input_size, input_size, 3], tf.int32, name="input")])
        def serve(self, input):  # noqa: A002 - MoveNet's input name
            img = input[0]
            h = tf.shape(img)[0]
            w = tf.shape(img)[1]
            diff = tf.abs(img[None, :, :, :] - self.colours[:, None, None, :])
            raw = tf.cast(tf.reduce_all(diff <= TOLERANCE, axis=-1), tf.float32)  # [17, H, W]
            # Disc pixels only: keep matches with >= 4 matching pixels in their 3x3 neighbourhood. The
            # 1-px rims where two palette colours blend under resizing can match a third colour, but
            # they are thin and scattered; a disc of radius >= 1.5 px survives.
            neighbours = tf.nn.avg_pool2d(raw[..., None], 3, 1, "SAME")[..., 0] * 9.0
            solid = raw * tf.cast(neighbours >= 3.5, tf.float32)
            use_solid = tf.reduce_sum(solid, axis=[1, 2]) >= 1.0
            match = tf.where(use_solid[:, None, None], solid, raw)
            count = tf.reduce_sum(match, axis=[1, 2])
            ys = (tf.cast(tf.range(h), tf.float32) + 0.5) / tf.cast(h, tf.float32)
            xs = (tf.cast(tf.range(w), tf.float32) + 0.5) / tf.cast(w, tf.float32)
            safe = tf.maximum(count, 1.0)
            y = tf.reduce_sum(match * ys[None, :, None], axis=[1, 2]) / safe
            x = tf.reduce_sum(match * xs[None, None, :], axis=[1, 2]) / safe
            score = tf.where(use_solid | (count >= MIN_PIXELS), FOUND_SCORE, 0.0)
            return {"output_0": tf.stack([y, x, score], axis=-1)[None, None]}

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    module = FixturePoseModel()
    tf.saved_model.save(
        module, str(out), signatures={"serving_default": module.serve.get_concrete_function()}
    )
    atomic.write_text(out / "FIXTURE.txt", FIXTURE_NOTE)
    return out
