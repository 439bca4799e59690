"""Inception Score with Keras' InceptionV3 (the product measured IS this way).

The network is `tf.keras.applications.InceptionV3(weights=None)` with the ImageNet weights loaded
from a local file (no download here): `metrics.inception_v3_weights` in params.yaml.
Images are resized to 299x299 (bilinear) and scaled to [-1, 1] (Keras' preprocess_input).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from adgen.errors import UserError
from adgen.metrics.images import ImageSet, batches
from adgen.metrics.maths import InceptionScore, inception_score_from_probs
from adgen.metrics.weights import require_file
from adgen.progress import track

WEIGHTS_HINT = (
    "get Keras' ImageNet InceptionV3 weights (inception_v3_weights_tf_dim_ordering_tf_kernels.h5 from "
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/) and set "
    "metrics.inception_v3_weights in params.yaml to its path"
)


def require_weights(path: str | Path | None) -> Path:
    path = require_file(path, "metrics.inception_v3_weights", "InceptionV3 weights file", WEIGHTS_HINT)
    if not path.name.endswith(".h5"):
        raise UserError(f"{path}: expected a Keras .h5 / .weights.h5 file: {WEIGHTS_HINT}")
    return path


@lru_cache(maxsize=2)
def load_classifier(weights: str):
    """InceptionV3 with the 1000-way softmax top, weights from `weights` (a local .h5 file)."""
    import tensorflow as tf

    model = tf.keras.applications.InceptionV3(weights=None, include_top=True)
    try:
        model.load_weights(weights)
    except Exception as exc:  # wrong file: say which, not a 40-line h5py trace
        raise UserError(
            f"{weights}: cannot load as InceptionV3 weights ({type(exc).__name__}): {WEIGHTS_HINT}"
        ) from None
    return model


def class_probabilities(images: ImageSet, weights: str | Path | None, batch_size: int = 32) -> np.ndarray:
    """p(y|x) [N, 1000] for every image."""
    path = require_weights(weights)  # before importing TensorFlow: a quick, clear failure
    import tensorflow as tf

    model = load_classifier(str(path))
    out = []
    for batch in track(batches(images, batch_size), "inception score"):
        x = tf.image.resize(tf.convert_to_tensor(batch, tf.float32), (299, 299), method="bilinear")
        x = tf.keras.applications.inception_v3.preprocess_input(x)
        out.append(np.asarray(model(x, training=False), dtype=np.float64))
    if not out:
        raise UserError("inception score: no images")
    return np.concatenate(out)


def inception_score(
    images: ImageSet, weights: str | Path | None, splits: int = 10, batch_size: int = 32
) -> InceptionScore:
    """(mean, std) IS of `images` (PIL list, uint8 [N,H,W,3], folder or zip)."""
    return inception_score_from_probs(class_probabilities(images, weights, batch_size), splits)
