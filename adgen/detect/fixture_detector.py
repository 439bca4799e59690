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


def build(out_dir: str | Path, min_pixels: int = 30, opening: int = 3) -> Path:
    """Save the FIXTURE detector SavedModel into `out_dir` (created); returns the directory."""
    import tensorflow as tf

    instances = _instances()
    colours = tf.constant([c for c, _, _ in instances], tf.int32)  # [K, 3]
    classes = tf.constant([k for _, k, _ in instances], tf.float32)
    scores = tf.constant([s for _, _, s in instances], tf.float32)
    tol = palette.TOLERANCE

    class FixtureDetector(tf.Module):
        """FIXTURE: finds palette colours; for the offline demo/tests only."""

        @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8, name="input_tensor")])
        def __call__(self, images: tf.Tensor) -> dict[str, tf.Tensor]:
            img = tf.cast(images[0], tf.int32)  # [H, W, 3]
            h = tf.shape(img)[0]
            w = tf.shape(img)[1]
            diff = tf.abs(img[None, :, :, :] - colours[:, None, None, :])  # [K, H, W, 3]
            hit = tf.cast(tf.reduce_all(diff <= tol, axis=-1), tf.float32)[..., None]  # [K, H, W, 1]
            if opening > 1:
                eroded = -tf.nn.max_pool2d(-hit, opening, 1, "SAME")
                hit = tf.nn.max_pool2d(eroded, opening, 1, "SAME")
            hit = hit[..., 0]  # [K, H, W]
            count = tf.reduce_sum(hit, axis=[1, 2])
            rows = tf.reduce_max(hit, axis=2) > 0  # [K, H]
            cols = tf.reduce_max(hit, axis=1) > 0  # [K, W]
            ys = tf.range(h)
            xs = tf.range(w)
            big = tf.int32.max
            ymin = tf.reduce_min(tf.where(rows, ys[None], big), axis=1)
            ymax = tf.reduce_max(tf.where(rows, ys[None], -1), axis=1) + 1
            xmin = tf.reduce_min(tf.where(cols, xs[None], big), axis=1)
            xmax = tf.reduce_max(tf.where(cols, xs[None], -1), axis=1) + 1
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
            boxes = tf.boolean_mask(boxes, found)
            # Box-relative masks, as Mask R-CNN returns them (crop_and_resize wants corner pixels).
            idx = tf.boolean_mask(tf.range(tf.shape(colours)[0]), found)
            masks = tf.image.crop_and_resize(
                tf.gather(hit, idx)[..., None],
                boxes * tf.stack([hf / (hf - 1.0), wf / (wf - 1.0), hf / (hf - 1.0), wf / (wf - 1.0)])
                - tf.stack([0.0, 0.0, 1.0 / (hf - 1.0), 1.0 / (wf - 1.0)]),
                tf.range(tf.shape(idx)[0]),
                [MASK_SIZE, MASK_SIZE],
            )[..., 0]
            n = tf.shape(idx)[0]
            return {
                "detection_boxes": boxes[None],
                "detection_classes": tf.boolean_mask(classes, found)[None],
                "detection_scores": tf.boolean_mask(scores, found)[None],
                "num_detections": tf.cast(n, tf.float32)[None],
                "detection_masks": masks[None],
            }

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    module = FixtureDetector()
    tf.saved_model.save(module, str(out), signatures={"serving_default": module.__call__})
    (out / "FIXTURE_DETECTOR.txt").write_text(
        "FIXTURE detector: finds the AdGen fixture site's palette colours. Offline demo/tests only;\n"
        "it cannot detect anything in real photos. Real runs set detect.model to a TF Hub detector.\n"
    )
    return out
