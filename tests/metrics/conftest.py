"""Small stand-ins for the standard metric networks, built by the tests themselves.

- `fid_graph`: a TF GraphDef .pb laid out like the 2015 FID Inception graph (JPEG contents →
  DecodeJpeg → Cast → ExpandDims → ResizeBilinear → Sub/Mul → ... → pool_3 [N,1,1,D]) with a
  random conv, so it loads through exactly the code path of the real file.
- `inception_weights`: a random-weight Keras InceptionV3 saved as .weights.h5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FEATURES = 64  # the real graph has 2048; sqrtm of 2048x2048 takes ~30 s here


def build_fid_graph(path: Path, features: int = FEATURES, seed: int = 0) -> Path:
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
        decoded = tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg")
        x = tf.expand_dims(tf.cast(decoded, tf.float32, name="Cast"), 0, name="ExpandDims")
        x = tf.raw_ops.ResizeBilinear(images=x, size=[32, 32], name="ResizeBilinear")
        x = tf.multiply(tf.subtract(x, 128.0, name="Sub"), 1 / 128.0, name="Mul")
        w = np.random.default_rng(seed).normal(size=(4, 4, 3, features)).astype(np.float32)
        x = tf.nn.relu(tf.nn.conv2d(x, tf.constant(w), strides=4, padding="SAME"))
        tf.nn.avg_pool2d(x, ksize=8, strides=1, padding="VALID", name="pool_3")
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


@pytest.fixture(scope="session")
def fid_graph(tmp_path_factory) -> Path:
    return build_fid_graph(tmp_path_factory.mktemp("fid") / "classify_image_graph_def.pb")


@pytest.fixture(scope="session")
def inception_weights(tmp_path_factory) -> Path:
    import tensorflow as tf

    path = tmp_path_factory.mktemp("iv3") / "inception_v3.weights.h5"
    tf.keras.utils.set_random_seed(0)
    tf.keras.applications.InceptionV3(weights=None).save_weights(str(path))
    return path


def random_images(
    n: int, h: int = 40, w: int = 24, seed: int = 0, low: int = 0, high: int = 256
) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, high, (n, h, w, 3), dtype=np.uint8)
