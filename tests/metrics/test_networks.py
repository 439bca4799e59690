"""The standard networks load from local files through the real code path; no file → clear error."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from adgen.errors import UserError
from adgen.metrics.fid import activations, fid
from adgen.metrics.inception_score import class_probabilities, inception_score

from .conftest import FEATURES, build_fid_graph, random_images


def test_fid_graph_gives_pool3_features_for_batches_of_any_size(fid_graph):
    imgs = random_images(7, 40, 24)
    feats = activations(imgs, fid_graph, batch_size=3)
    assert feats.shape == (7, FEATURES) and np.isfinite(feats).all()
    one_by_one = np.concatenate([activations(imgs[i : i + 1], fid_graph) for i in range(7)])
    assert np.allclose(feats, one_by_one, atol=1e-5)


def test_fid_of_a_set_with_itself_is_zero_and_of_different_sets_is_not(fid_graph):
    real = random_images(80, seed=1)
    dark = random_images(80, seed=2, high=80)
    assert fid(real, real, fid_graph) == pytest.approx(0.0, abs=1e-3)
    assert fid(real, dark, fid_graph) > 1.0


def test_fid_reads_image_folders(fid_graph, tmp_path):
    imgs = random_images(6, seed=3)
    for i, a in enumerate(imgs):
        Image.fromarray(a).save(tmp_path / f"{i}.png")
    assert np.allclose(activations(tmp_path, fid_graph), activations(imgs, fid_graph), atol=1e-5)


def test_missing_fid_graph_names_the_file_and_the_param(tmp_path):
    with pytest.raises(
        UserError, match=r"metrics.fid_inception_graph is not set.*classify_image_graph_def.pb"
    ):
        fid(random_images(2), random_images(2), None)
    with pytest.raises(UserError, match="not found"):
        fid(random_images(2), random_images(2), tmp_path / "missing.pb")


def test_a_graph_without_the_fid_tensors_is_rejected(tmp_path):
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default():
        tf.constant(1.0, name="something_else")
    path = tmp_path / "other.pb"
    path.write_bytes(g.as_graph_def().SerializeToString())
    with pytest.raises(UserError, match="no tensor ExpandDims:0"):
        activations(random_images(2), path)


def test_missing_inception_weights_name_the_file_and_the_param():
    with pytest.raises(UserError, match=r"metrics.inception_v3_weights is not set.*inception_v3_weights_tf"):
        inception_score(random_images(2), None)


@pytest.mark.slow
def test_inception_score_uses_the_weights_file_as_keras_would(inception_weights):
    import tensorflow as tf

    imgs = random_images(4, 64, 48, seed=4)
    probs = class_probabilities(imgs, inception_weights, batch_size=2)
    assert probs.shape == (4, 1000) and np.allclose(probs.sum(1), 1.0, atol=1e-4)
    model = tf.keras.applications.InceptionV3(weights=None)
    model.load_weights(str(inception_weights))
    x = tf.keras.applications.inception_v3.preprocess_input(
        tf.image.resize(imgs.astype(np.float32), (299, 299))
    )
    assert np.allclose(probs, model.predict(x, verbose=0), atol=1e-4)
    score = inception_score(imgs, inception_weights, splits=2)
    assert score.mean >= 1.0 - 1e-6


@pytest.mark.slow
def test_evaluate_cli_writes_fid_as_dvc_metrics(fid_graph, tmp_path):
    import json

    import yaml

    for name, seed in (("real", 5), ("fake", 6)):
        (tmp_path / name).mkdir()
        for i, a in enumerate(random_images(5, seed=seed)):
            Image.fromarray(a).save(tmp_path / name / f"{i}.png")
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "paths": {"metrics": str(tmp_path / "metrics")},
                "metrics": {"fid_inception_graph": str(fid_graph)},
            }
        )
    )
    cmd = [sys.executable, "-m", "adgen.cli", "--params", str(params), "evaluate", "images"]
    out = subprocess.run(
        [
            *cmd,
            "--fake",
            str(tmp_path / "fake"),
            "--real",
            str(tmp_path / "real"),
            "--no-is",
            "--name",
            "demo",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    metrics = json.loads((tmp_path / "metrics" / "demo.json").read_text())
    assert metrics["fid"] > 0
    # and without the IS weights configured the command fails in one line naming the param
    out = subprocess.run([*cmd, "--fake", str(tmp_path / "fake")], capture_output=True, text=True)
    assert out.returncode == 2 and "metrics.inception_v3_weights" in out.stderr.strip().splitlines()[-1]


def test_another_graph_with_the_same_tensor_names_gives_other_features(tmp_path):
    a = build_fid_graph(tmp_path / "a.pb", seed=1)
    b = build_fid_graph(tmp_path / "b.pb", seed=2)
    imgs = random_images(3)
    assert not np.allclose(activations(imgs, a), activations(imgs, b))
