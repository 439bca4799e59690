"""Run the detector over many images with tf.data: decoding never waits on the model, nor the reverse.

The reference decoded a photo, called the model, and only then opened the next file. Here a tf.data
pipeline decodes and shrinks the next images in parallel threads (Pillow, so EXIF rotation, CMYK and
16-bit PNGs work) and prefetches them while the model runs on the current one. TF Hub detectors fix
the batch dimension to 1, so they get one image per call; a model whose signature leaves the batch
free gets `batch_size` images per call, each padded to `max_side` square (boxes are mapped back).
Memory stays flat: only the prefetch buffer holds pixels, whatever the number of images.

With `calls_in_flight` > 1 that many model calls run at once (threads; TensorFlow releases the
GIL), for CPUs where one call leaves cores idle. Results are still yielded in input order.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from adgen.detect.detections import Detections, from_tf_hub_outputs
from adgen.detect.images import load_for_detection
from adgen.detect.model import Detector

PREFETCH = 4


@dataclass(frozen=True)
class DetectedImage:
    position: int  # index into the `photos` given to `detect_images`
    detections: Detections | None  # None: the file could not be decoded ("unreadable")
    width: int  # EXIF-corrected size of the original image
    height: int


def _decode(data: bytes, max_side: int) -> tuple[np.ndarray, np.ndarray, bool]:
    try:
        img = load_for_detection(io.BytesIO(data), max_side)
    except Exception:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... for bad files
        return np.zeros((1, 1, 3), np.uint8), np.zeros((2,), np.int32), False
    return img.pixels, np.array([img.width, img.height], np.int32), True


def detect_images(
    detector: Detector,
    photos: Iterable[bytes],
    max_side: int = 1024,
    batch_size: int = 1,
    decode_parallelism: int = 0,
    calls_in_flight: int = 1,
) -> Iterator[DetectedImage]:
    """Yield one `DetectedImage` per photo (encoded bytes, e.g. streamed from the image store), in order.

    The photos are pulled one at a time as the decode threads need them, so a stream over millions
    of stored photos holds only the prefetch buffer in memory.
    """
    import tensorflow as tf

    source = _Source(photos)
    batch = batch_size if detector.batch_free and batch_size > 1 and max_side > 0 else 1
    parallel = decode_parallelism or tf.data.AUTOTUNE

    def load(data: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        pixels, size, ok = tf.numpy_function(
            lambda d: _decode(d, max_side), [data], [tf.uint8, tf.int32, tf.bool], stateful=False
        )
        pixels.set_shape([None, None, 3])
        size.set_shape([2])
        ok.set_shape([])
        return pixels, size, ok

    ds = tf.data.Dataset.from_generator(
        lambda: source, output_signature=tf.TensorSpec(shape=(), dtype=tf.string)
    ).map(load, num_parallel_calls=parallel, deterministic=True)
    if batch > 1:
        ds = ds.map(
            lambda px, size, ok: (
                tf.image.pad_to_bounding_box(px, 0, 0, max_side, max_side),
                tf.shape(px)[:2],
                size,
                ok,
            ),
            num_parallel_calls=parallel,
        ).batch(batch)
    else:
        ds = ds.map(lambda px, size, ok: (px[None], tf.shape(px)[None, :2], size[None], ok[None]))
    ds = ds.prefetch(PREFETCH)

    def call(pixels, shown, sizes, oks) -> tuple:
        ok = oks.numpy()
        return ok, detector(pixels) if ok.any() else None, shown.numpy(), sizes.numpy()

    position = 0
    for ok, outputs, shown_np, sizes_np in _in_order(call, ds, calls_in_flight):
        for b in range(len(ok)):
            w, h = int(sizes_np[b][0]), int(sizes_np[b][1])
            if not ok[b] or outputs is None:
                yield DetectedImage(position, None, w, h)
            else:
                dets = from_tf_hub_outputs(outputs, b)
                if batch > 1:
                    dets = _unpad(dets, shown_np[b], max_side)
                yield DetectedImage(position, dets, w, h)
            position += 1
    if source.error is not None:  # the photos before it were yielded; the stage stops here
        raise source.error


class _Source:
    """The photos as tf.data pulls them. An error reading one (a damaged store) ends the stream and
    is raised by `detect_images` itself, in the caller's thread: inside tf.data's generator it became
    a traceback from TensorFlow, and a photo it cut short looked like a bad one."""

    def __init__(self, photos: Iterable[bytes]):
        self._photos = iter(photos)
        self.error: Exception | None = None

    def __iter__(self) -> _Source:
        return self

    def __next__(self) -> bytes:
        if self.error is not None:
            raise StopIteration
        try:
            return next(self._photos)
        except StopIteration:
            raise
        except Exception as exc:
            self.error = exc
            raise StopIteration from None


def _in_order(fn, items, in_flight: int) -> Iterator:
    """fn(*item) for each item, up to `in_flight` at once in threads, results in input order."""
    if in_flight <= 1:
        for item in items:
            yield fn(*item)
        return
    with ThreadPoolExecutor(in_flight, thread_name_prefix="detect") as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, *item))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _unpad(dets: Detections, shown_hw: np.ndarray, side: int) -> Detections:
    """Map boxes normalised to the padded `side`² canvas back to the image's own frame."""
    sy, sx = side / float(shown_hw[0]), side / float(shown_hw[1])
    scale = np.array([sx, sy, sx, sy], np.float32)
    raw = None if dets.mask_boxes is None else dets.mask_boxes * scale
    boxes = np.clip(dets.boxes * scale, 0.0, 1.0)
    return Detections(boxes, dets.classes, dets.scores, dets.masks, raw).select(
        (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    )
