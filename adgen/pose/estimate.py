"""Load a MoveNet-signature pose model and estimate 18 OpenPose keypoints on a person image.

The model is a TF Hub handle (real runs: MoveNet thunder/lightning) or a local SavedModel dir, loaded
with `tensorflow_hub.load` like the filter's detector. Its `serving_default` signature takes int32
[1, S, S, 3] (S = 256 thunder, 192 lightning) and returns `output_0` [1, 1, 17, 3] as (y, x, score)
normalised to that square input. The image is letterboxed into the square (aspect kept, centred,
black bars) and the keypoints are mapped back to the image, so callers get [18, 3] (x, y, conf)
normalised to the image they passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from adgen.errors import UserError
from adgen.pose.openpose import coco17_to_openpose18

MOVENET_THUNDER = "https://tfhub.dev/google/movenet/singlepose/thunder/4"
_HINT = (
    f"download MoveNet ({MOVENET_THUNDER}), unpack it into a folder and set pose.model to that folder "
    "(offline demo: `adgen fixture-models pose DIR` builds the FIXTURE stand-in)"
)


def _is_remote(handle: str) -> bool:
    return handle.startswith(("http://", "https://", "gs://"))


def load_savedmodel(handle: str | Path, param: str = "pose.model") -> Any:
    """`tensorflow_hub.load(handle)`, with one-line errors for a missing or unloadable model."""
    handle_s = str(handle)
    if not _is_remote(handle_s):
        path = Path(handle_s)
        if not (path / "saved_model.pb").is_file():
            raise UserError(f"{param}: no SavedModel at {path} (saved_model.pb missing); {_HINT}")
    import tensorflow_hub as hub

    try:
        return hub.load(handle_s)
    except Exception as exc:  # network, cache, or a corrupt model: all fixable by the user
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{param}: cannot load {handle_s!r} ({first}); {_HINT}") from None


@dataclass(frozen=True)
class Letterbox:
    """Where an image sits inside the model's square input."""

    size: int
    scale: float
    off_x: int
    off_y: int
    width: int
    height: int

    @classmethod
    def fit(cls, width: int, height: int, size: int) -> Letterbox:
        scale = size / max(width, height)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        return cls(size, scale, (size - w) // 2, (size - h) // 2, width, height)

    def to_image(self, xy_square: np.ndarray) -> np.ndarray:
        """Normalised square-input (x, y) -> normalised image (x, y)."""
        px = (xy_square[:, 0] * self.size - self.off_x) / self.scale
        py = (xy_square[:, 1] * self.size - self.off_y) / self.scale
        return np.stack([px / self.width, py / self.height], axis=1)


def letterbox(image: Image.Image, size: int) -> tuple[np.ndarray, Letterbox]:
    box = Letterbox.fit(image.width, image.height, size)
    resized = image.convert("RGB").resize(
        (round(image.width * box.scale) or 1, round(image.height * box.scale) or 1), Image.BILINEAR
    )
    canvas = Image.new("RGB", (size, size), (0, 0, 0))
    canvas.paste(resized, (box.off_x, box.off_y))
    return np.asarray(canvas, dtype=np.int32), box


class PoseEstimator:
    """A loaded MoveNet-signature model; `.estimate(image)` -> [18, 3] OpenPose keypoints."""

    def __init__(self, model: Any, input_size: int = 0, min_score: float = 0.2, handle: str = ""):
        try:
            self._fn = model.signatures["serving_default"]
        except (AttributeError, KeyError):
            raise UserError(
                f"pose.model: {handle!r} has no serving_default signature; expected MoveNet's "
                "(int32 [1,S,S,3] -> output_0 [1,1,17,3])"
            ) from None
        _, kwargs = self._fn.structured_input_signature
        if len(kwargs) != 1:
            raise UserError(
                f"pose.model: {handle!r} signature takes {sorted(kwargs)}; expected one image input"
            )
        ((self._input_name, spec),) = kwargs.items()
        self._dtype = spec.dtype
        static = spec.shape[1] if spec.shape.rank == 4 else None
        self.input_size = input_size or static or (192 if "lightning" in handle else 256)
        self.min_score = min_score

    def estimate_coco(self, image: Image.Image) -> np.ndarray:
        """[17, 3] COCO keypoints (x, y, score) normalised to `image`."""
        import tensorflow as tf

        arr, box = letterbox(image, self.input_size)
        out = self._fn(**{self._input_name: tf.cast(tf.constant(arr[None]), self._dtype)})
        raw = np.asarray(out["output_0"], dtype=np.float32).reshape(-1, 17, 3)[0]
        xy = box.to_image(raw[:, [1, 0]])  # MoveNet gives (y, x)
        return np.concatenate([xy, raw[:, 2:3]], axis=1).astype(np.float32)

    def estimate(self, image: Image.Image) -> np.ndarray:
        """[18, 3] OpenPose keypoints (x, y, conf) normalised to `image`; weak points are missing."""
        kp = coco17_to_openpose18(self.estimate_coco(image), self.min_score)
        outside = (kp[:, 0] < 0) | (kp[:, 0] > 1) | (kp[:, 1] < 0) | (kp[:, 1] > 1)
        kp[outside & (kp[:, 2] > 0)] = (-1.0, -1.0, 0.0)  # on the letterbox bars: not a real point
        return kp


def load_pose_estimator(model: str | Path, input_size: int = 0, min_score: float = 0.2) -> PoseEstimator:
    """A TF Hub handle or local SavedModel dir with MoveNet's signature -> PoseEstimator."""
    return PoseEstimator(
        load_savedmodel(model), input_size=input_size, min_score=min_score, handle=str(model)
    )
