"""Shared fixtures for the filter tests: real SavedModels (built once per session) and tiny raw datasets.

Every model here is a real SavedModel loaded through `tensorflow_hub.load`, exactly like a Hub
handle: the FIXTURE detector (palette colours), plus scripted detectors that always answer the same
thing (for outputs a palette image cannot produce: boxes outside [0, 1], padding, zero detections).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from adgen import config, manifest
from adgen.fixtures.site import palette
from adgen.store.photos import store_photos

RED, BLUE = palette.PERSON_COLOURS[0], palette.PERSON_COLOURS[1]
GREEN, PURPLE = palette.PERSON_COLOURS[2], palette.PERSON_COLOURS[3]
HANDBAG = palette.BAG_COLOURS["handbag"]
BACKPACK = palette.BAG_COLOURS["backpack"]
BACKGROUND = (150, 140, 130)  # muted


@pytest.fixture(scope="session")
def fixture_detector_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from adgen.fixtures import detector as fixture_detector

    return fixture_detector.build(tmp_path_factory.mktemp("models") / "fixture-detector")


def build_scripted_detector(
    out_dir: Path,
    boxes: list[list[float]],
    classes: list[int],
    scores: list[float],
    pad_to: int = 0,
    with_masks: bool = True,
    delay_matmuls: int = 0,
) -> Path:
    """A SavedModel with the TF Hub OD signature that returns the same detections for every image
    (`pad_to` pads like real models do, with num_detections telling the real count;
    `delay_matmuls` makes each call slow, for kill-and-resume tests)."""
    import tensorflow as tf

    n = len(scores)
    total = max(pad_to, n)
    b = np.zeros((total, 4), np.float32)
    c = np.zeros((total,), np.float32)
    s = np.zeros((total,), np.float32)
    if n:
        b[:n], c[:n], s[:n] = boxes, classes, scores
    masks = np.zeros((total, 15, 15), np.float32)
    masks[:, 3:12, 3:12] = 1.0

    class Scripted(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8)])
        def __call__(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
            x = tf.cast(tf.reduce_mean(tf.cast(images, tf.float32)), tf.float32) * 0.0
            if delay_matmuls:
                m = tf.ones([256, 256]) / 256.0
                for _ in range(delay_matmuls):
                    m = tf.matmul(m, m)
                x = x + tf.reduce_sum(m) * 0.0
            out = {
                "detection_boxes": tf.constant(b)[None] + x,
                "detection_classes": tf.constant(c)[None],
                "detection_scores": tf.constant(s)[None],
                "num_detections": tf.constant([float(n)]),
            }
            if with_masks:
                out["detection_masks"] = tf.constant(masks)[None]
            return out

    module = Scripted()
    tf.saved_model.save(module, str(out_dir), signatures={"serving_default": module.__call__})
    return out_dir


def draw_photo(
    people: list[tuple[tuple[float, float, float, float], tuple[int, int, int]]] = (),
    bags: list[tuple[tuple[float, float, float, float], tuple[int, int, int]]] = (),
    size: tuple[int, int] = (160, 240),
) -> Image.Image:
    """A palette photo: flat rectangles at normalised boxes [x0, y0, x1, y1] on a muted background."""
    w, h = size
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:] = BACKGROUND
    for box, colour in list(people) + list(bags):
        x0, y0, x1, y1 = (int(round(v * s)) for v, s in zip(box, (w, h, w, h), strict=True))
        arr[y0:y1, x0:x1] = colour
    return Image.fromarray(arr, "RGB")


FULL_BODY = (0.40, 0.10, 0.60, 0.90)  # 32 x 192 px on 160 x 240: aspect 6.0 → keep it under max
PERSON = (0.35, 0.10, 0.62, 0.90)
BAG_IN_HAND = (0.60, 0.50, 0.72, 0.62)


def kept_photo(size: tuple[int, int] = (160, 240)) -> Image.Image:
    return draw_photo([(PERSON, RED)], [(BAG_IN_HAND, HANDBAG)], size)


def encode(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


class Project:
    """A temporary AdGen project: params.yaml + data/raw (manifest + the raw image store)."""

    def __init__(self, root: Path, model: Path):
        self.root = root
        self.model = model
        self.detect: dict[str, object] = {"model": str(model), "chunk_size": 4, "max_side": 512}
        self.rows: list[dict[str, object]] = []
        self.store = root / "data" / "raw" / "store"

    def add(self, data: bytes, ext: str = "png", **extra: object) -> str:
        ((image_id, shard, member),) = store_photos(self.store, [(data, ext)], label="test")
        self.rows.append(
            {
                "image_id": image_id,
                "shard": shard,
                "member": member,
                "site": "test",
                "query": "bag",
                "source_url": f"http://127.0.0.1/{image_id[:8]}.{ext}",
                "page_url": "http://127.0.0.1/",
                "title": "test photo",
                "license": "test",
                "width": 0,
                "height": 0,
                "format": ext,
                "bytes": len(data),
                "crawled_at": datetime(2026, 1, 1, tzinfo=UTC),
                **extra,
            }
        )
        return image_id

    def add_image(self, img: Image.Image, fmt: str = "PNG", **kw: object) -> str:
        return self.add(encode(img, fmt, **kw), {"PNG": "png", "JPEG": "jpg"}.get(fmt, fmt.lower()))

    def write(self) -> config.Params:
        import yaml

        df = manifest.coerce(pd.DataFrame(self.rows), manifest.RAW_COLUMNS)
        manifest.write(df, self.root / "data" / "raw" / "manifest.parquet")
        (self.root / "params.yaml").write_text(yaml.safe_dump({"detect": self.detect}))
        return config.load(self.root / "params.yaml")

    def filtered(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "data" / "filtered" / "manifest.parquet")

    def by_id(self) -> dict[str, dict[str, object]]:
        return {r["image_id"]: r for r in self.filtered().to_dict("records")}


@pytest.fixture
def project(tmp_path: Path, fixture_detector_dir: Path) -> Project:
    return Project(tmp_path, fixture_detector_dir)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[Path], Project]:
    counter = iter(range(1000))

    def make(model: Path) -> Project:
        root = tmp_path / f"p{next(counter)}"
        root.mkdir()
        return Project(root, model)

    return make
