"""FIXTURE detector: a SavedModel with the TF Hub object-detection signature that finds the fixture
stock site's synthetic people and bags by their palette colours. FOR THE OFFLINE DEMO AND TESTS ONLY.

No real detector can be downloaded on an offline machine, so the demo and the tests build this one.
It is a real SavedModel loaded through `tensorflow_hub.load` exactly like a Hub handle, and it speaks
the same signature: uint8 [1, H, W, 3] → detection_boxes [1, N, 4] (ymin, xmin, ymax, xmax),
detection_classes [1, N] (float COCO ids), detection_scores [1, N], num_detections [1] and
detection_masks [1, N, 33, 33] relative to each box (as Mask R-CNN gives them).

How it "detects" (adgen/fixture_site/palette.py is the contract): for each person instance colour
(4) and bag class colour (3) it takes the pixels within TOLERANCE, removes edge-blend pixels with a
small morphological opening (min-pool then max-pool), drops colours with fewer than `min_pixels`
pixels, and boxes what remains. One colour is one instance, so two bags of the same class merge.
Scores are fixed (0.97 people, 0.9 bags). It knows nothing about real photos.
"""

from __future__ import annotations

from pathlib import Path

from adgen.fixture_site import palette

MASK_SIZE = 33
PERSON_SCORE = 0.97
BAG_SCORE = 0.90


def _instances() -> list[tuple[tuple[int, int, int], int, float]]:
    """(colour, COCO class id, score) for every instance the fixture detector looks for."""
    out = [(c, palette.PERSON_COCO_ID, PERSON_SCORE) for c in palette.PERSON_COLOURS]
    for name, colour in palette.BAG_COLOURS.items():
        out.append((colour, palette.BAG_COCO_IDS[name], BAG_SCORE))
    return out


def build(out_dir: str | Path, min_pixels: int = 30, opening: int = 3, batch_free: bool = False) -> Path:
    """Save the FIXTURE detector SavedModel into `out_dir` (created); returns the directory.

    `batch_free=True` saves a variant whose signature takes [None, H, W, 3] (TF Hub OD models take
    exactly one image), to exercise the batched inference path."""
    import tensorflow as tf

    instances = _instances()
    colours = tf.constant([c for c, _, _ in instances], tf.int32)  # [K, 3]
    classes = tf.constant([k for _, k, _ in instances], tf.float32)
    scores = tf.constant([s for _, _, s in instances], tf.float32)
    tol = palette.TOLERANCE

    k = len(instances)

    def detect_one(img_u8: tf.Tensor) -> dict[str, tf.Tensor]:
        """One image [H, W, 3] → K padded slots, found instances first (like a real model's top-N)."""
        img = tf.cast(img_u8, tf.int32)
        h = tf.shape(img)[0]
        w = tf.shape(img)[1]
        diff = tf.abs(img[None, :, :, :] - colours[:, None, None, :])  # [K, H, W, 3]
        hit = tf.cast(tf.reduce_all(diff <= tol, axis=-1), tf.float32)[..., None]  # [K, H, W, 1]
        if opening > 1:  # opening = erosion (min-pool) then dilation (max-pool): drops edge blends
            eroded = -tf.nn.max_pool2d(-hit, opening, 1, "SAME")
            hit = tf.nn.max_pool2d(eroded, opening, 1, "SAME")
        count = tf.reduce_sum(hit, axis=[1, 2, 3])
        rows = tf.reduce_max(hit[..., 0], axis=2) > 0  # [K, H]
        cols = tf.reduce_max(hit[..., 0], axis=1) > 0  # [K, W]
        ys = tf.range(h)[None]
        xs = tf.range(w)[None]
        ymin = tf.reduce_min(tf.where(rows, ys, h), axis=1)
        ymax = tf.reduce_max(tf.where(rows, ys, -1), axis=1) + 1
        xmin = tf.reduce_min(tf.where(cols, xs, w), axis=1)
        xmax = tf.reduce_max(tf.where(cols, xs, -1), axis=1) + 1
        hf = tf.cast(h, tf.float32)
        wf = tf.cast(w, tf.float32)
        found = count >= float(min_pixels)
        boxes = tf.stack(
            [
                tf.cast(ymin, tf.float32) / hf,
                tf.cast(xmin, tf.float32) / wf,
                tf.cast(ymax, tf.float32) / hf,
                tf.cast(xmax, tf.float32) / wf,
            ],
            axis=1,
        )
        boxes = tf.where(found[:, None], boxes, 0.0)
        # Box-relative masks, as Mask R-CNN returns them (crop_and_resize samples pixel centres
        # from corner to corner, hence the (n - 1) scaling).
        hm, wm = tf.maximum(hf - 1.0, 1.0), tf.maximum(wf - 1.0, 1.0)
        corners = boxes * tf.stack([hf / hm, wf / wm, hf / hm, wf / wm]) - tf.stack(
            [0.0, 0.0, 1.0 / hm, 1.0 / wm]
        )
        masks = tf.image.crop_and_resize(hit, corners, tf.range(k), [MASK_SIZE, MASK_SIZE])[..., 0]
        order = tf.argsort(tf.cast(found, tf.int32), direction="DESCENDING", stable=True)
        return {
            "detection_boxes": tf.gather(boxes, order),
            "detection_classes": tf.gather(tf.where(found, classes, 0.0), order),
            "detection_scores": tf.gather(tf.where(found, scores, 0.0), order),
            "num_detections": tf.reduce_sum(tf.cast(found, tf.float32)),
            "detection_masks": tf.gather(tf.where(found[:, None, None], masks, 0.0), order),
        }

    class FixtureDetector(tf.Module):
        """FIXTURE: finds palette colours; for the offline demo/tests only."""

        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8, name="input_tensor")])
        def __call__(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
            return {name: t[None] for name, t in detect_one(images[0]).items()}

    class BatchFixtureDetector(tf.Module):
        """FIXTURE, batch dim free (unlike TF Hub OD models): exercises the batched pipeline."""

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8, name="input_tensor")])
        def __call__(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
            spec = {
                "detection_boxes": tf.TensorSpec([k, 4], tf.float32),
                "detection_classes": tf.TensorSpec([k], tf.float32),
                "detection_scores": tf.TensorSpec([k], tf.float32),
                "num_detections": tf.TensorSpec([], tf.float32),
                "detection_masks": tf.TensorSpec([k, MASK_SIZE, MASK_SIZE], tf.float32),
            }
            return tf.map_fn(detect_one, images, fn_output_signature=spec)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    module = BatchFixtureDetector() if batch_free else FixtureDetector()
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.__call__})
    (out / "FIXTURE_DETECTOR.txt").write_text(
        "FIXTURE detector: finds the AdGen fixture site's palette colours. Offline demo/tests only;\n"
        "it cannot detect anything in real photos. Real runs set detect.model to a TF Hub detector.\n"
    )
    return out
