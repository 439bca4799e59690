"""FID with the standard FID Inception network, so our numbers compare with published ones.

The network is the 2015 TensorFlow Inception graph the original FID code (TTUR) uses
(`classify_image_graph_def.pb`, from inception-2015-12-05.tgz), loaded with TensorFlow from a
local file: `metrics.fid_inception_graph` in params.yaml. As in TTUR, float images in [0, 255] of
any size are fed to the tensor `ExpandDims:0` (the graph resizes to 299 and normalises itself)
and the 2048-d `pool_3:0` activations are compared. The graph's input is re-mapped to a
[None, None, None, 3] placeholder so batches of any size go through.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from adgen.errors import UserError
from adgen.metrics.images import ImageSet, batches
from adgen.metrics.maths import FeatureStats, feature_stats, frechet_distance
from adgen.metrics.weights import require_file
from adgen.progress import track

INPUT_TENSOR = "ExpandDims:0"
OUTPUT_TENSOR = "pool_3:0"
GRAPH_HINT = (
    "get the FID Inception graph classify_image_graph_def.pb (inside "
    "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz) and set "
    "metrics.fid_inception_graph in params.yaml to its path"
)


def require_graph(path: str | Path | None) -> Path:
    return require_file(path, "metrics.fid_inception_graph", "FID Inception graph", GRAPH_HINT)


@lru_cache(maxsize=2)
def load_fid_network(graph_path: str):
    """A TF function uint8/float images [N,H,W,3] in [0,255] → pool_3 activations [N, D]."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(Path(graph_path).read_bytes())
    except Exception:
        raise UserError(f"{graph_path}: not a TensorFlow GraphDef (.pb): {GRAPH_HINT}") from None
    names = {n.name for n in graph_def.node}
    for tensor in (INPUT_TENSOR, OUTPUT_TENSOR):
        if tensor.split(":")[0] not in names:
            raise UserError(
                f"{graph_path}: no tensor {tensor} in the graph; is it the FID Inception graph? {GRAPH_HINT}"
            )

    def import_graph(images):
        (pool3,) = tf.compat.v1.import_graph_def(
            graph_def,
            input_map={INPUT_TENSOR: images},
            return_elements=[OUTPUT_TENSOR],
            name="FID_Inception_Net",
        )
        return pool3

    wrapped = tf.compat.v1.wrap_function(import_graph, [tf.TensorSpec([None, None, None, 3], tf.float32)])
    pool3 = wrapped.graph.get_tensor_by_name(f"FID_Inception_Net/{OUTPUT_TENSOR}")
    return wrapped.prune(feeds=wrapped.inputs, fetches=pool3)


def activations(
    images: ImageSet, graph: str | Path | None, batch_size: int = 50, limit: int | None = None
) -> np.ndarray:
    """pool_3 activations [N, 2048] (for the real graph) of `images`."""
    path = require_graph(graph)  # before importing TensorFlow: a quick, clear failure
    import tensorflow as tf

    net = load_fid_network(str(path))
    out = []
    for batch in track(batches(images, batch_size, limit), "FID activations"):
        feats = net(tf.convert_to_tensor(batch, tf.float32))
        out.append(np.asarray(feats).reshape(len(batch), -1))
    if not out:
        raise UserError("FID: no images")
    return np.concatenate(out)


def image_stats(
    images: ImageSet, graph: str | Path | None, batch_size: int = 50, limit: int | None = None
) -> FeatureStats:
    return feature_stats(activations(images, graph, batch_size, limit))


def fid(
    real: ImageSet | FeatureStats,
    fake: ImageSet | FeatureStats,
    graph: str | Path | None,
    batch_size: int = 50,
    limit: int | None = None,
) -> float:
    """FID between two image sets (PIL lists, uint8 arrays, folders, zips) or precomputed stats."""
    a = real if isinstance(real, FeatureStats) else image_stats(real, graph, batch_size, limit)
    b = fake if isinstance(fake, FeatureStats) else image_stats(fake, graph, batch_size, limit)
    return frechet_distance(a, b)
