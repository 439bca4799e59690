"""Load the object detector named by `detect.model`: a TF Hub handle or a local SavedModel dir.

Both go through `tensorflow_hub.load`, so a real Hub detector, a downloaded copy and the FIXTURE
detector take the same path. Hub downloads are cached in TFHUB_CACHE_DIR (tensorflow_hub's own
variable). With no network and nothing cached, the user gets one line saying what to download,
where to unpack it and which param to point at it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adgen.errors import UserError

OUTPUT_KEYS = ("detection_boxes", "detection_classes", "detection_scores")


@dataclass
class Detector:
    """A loaded detector: call it on uint8 [B, H, W, 3]; B > 1 only when `batch_free`."""

    handle: str
    fn: Any  # callable: tf.Tensor uint8 [B,H,W,3] -> dict of tensors
    batch_free: bool  # False for every TF Hub OD model: their signature fixes the batch dim to 1
    has_masks: bool | None = None  # learnt from the first call

    def __call__(self, images: Any) -> dict[str, Any]:
        out = self.fn(images)
        if not isinstance(out, dict) or any(k not in out for k in OUTPUT_KEYS):
            got = sorted(out) if isinstance(out, dict) else type(out).__name__
            raise UserError(
                f"detect.model {self.handle}: not a TF Hub object-detection model (outputs {got}; "
                f"expected {', '.join(OUTPUT_KEYS)}); pick a detector handle"
            )
        self.has_masks = "detection_masks" in out
        return out


def is_local(handle: str) -> bool:
    return "://" not in handle or handle.startswith("file://")


def download_hint(handle: str) -> str:
    """How to get a Hub model onto an offline machine, in one clause."""
    return (
        f"download {handle.rstrip('/')}?tf-hub-format=compressed (tfhub.dev redirects to Kaggle "
        f"Models) where there is network, unpack the .tar.gz into a directory and set detect.model "
        f"to that directory"
    )


def load_detector(handle: str | Path, root: Path | None = None) -> Detector:
    """Load `handle` (Hub URL or SavedModel dir, relative paths against `root`)."""
    handle = str(handle)
    if is_local(handle):
        path = Path(handle.removeprefix("file://"))
        if root is not None and not path.is_absolute():
            path = root / path
        if not (path / "saved_model.pb").is_file():
            raise UserError(
                f"detect.model {handle}: no SavedModel there (saved_model.pb missing); point "
                f"detect.model at an unpacked TF Hub detector or a Hub handle"
            )
        target = str(path)
    else:
        target = handle

    import tensorflow_hub as hub

    try:
        obj = hub.load(target)
    except Exception as exc:  # network errors, HTTP errors, half-written caches: all look alike here
        if is_local(handle):
            raise UserError(
                f"detect.model {handle}: cannot load the SavedModel ({exc.__class__.__name__})"
            ) from None
        raise UserError(
            f"detect.model {handle}: not in the TF Hub cache (TFHUB_CACHE_DIR="
            f"{os.environ.get('TFHUB_CACHE_DIR', '<unset>')}) and cannot download it "
            f"({exc.__class__.__name__}); {download_hint(handle)}"
        ) from None
    return Detector(handle, *_serving_fn(obj, handle))


def _serving_fn(obj: Any, handle: str) -> tuple[Any, bool]:
    """The callable and whether its batch dim is free: the object itself or serving_default."""
    sigs = getattr(obj, "signatures", {}) or {}
    if "serving_default" in sigs:
        sig = sigs["serving_default"]
        specs = [s for s in sig.structured_input_signature[1].values()]
        if len(specs) == 1:
            name = next(iter(sig.structured_input_signature[1]))
            batch = specs[0].shape[0] if specs[0].shape.rank else 1
            fn = obj if callable(obj) else (lambda x, _s=sig, _n=name: _s(**{_n: x}))
            return fn, batch != 1
    if callable(obj):
        return obj, False
    raise UserError(f"detect.model {handle}: the SavedModel has no serving signature; not a detector")
