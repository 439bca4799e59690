"""What a detector found in one image, in the project's conventions.

TF Hub detectors speak `[ymin, xmin, ymax, xmax]`, pad their outputs to a fixed N with
`num_detections` saying how many are real, and may return boxes slightly outside [0, 1]. This is the
one place that converts: boxes become `[x0, y0, x1, y1]` clipped to [0, 1], padding is dropped,
degenerate boxes are dropped, and the box-relative instance masks stay attached to their box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Detections:
    """Detections of one image; boxes `[x0, y0, x1, y1]` normalised to the EXIF-corrected image."""

    boxes: np.ndarray  # float32 [N, 4]
    classes: np.ndarray  # int32 [N]
    scores: np.ndarray  # float32 [N]
    masks: np.ndarray | None = None  # float32 [N, mh, mw] relative to mask_boxes; None if the model has none
    mask_boxes: np.ndarray | None = None  # float32 [N, 4] the unclipped boxes the masks are relative to

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.int32), np.zeros((0,), np.float32))

    def select(self, keep: np.ndarray) -> Detections:
        return Detections(
            self.boxes[keep],
            self.classes[keep],
            self.scores[keep],
            None if self.masks is None else self.masks[keep],
            None if self.mask_boxes is None else self.mask_boxes[keep],
        )


def from_tf_hub_outputs(outputs: dict[str, Any], index: int = 0) -> Detections:
    """Convert one image (`index` in the batch) of a TF Hub OD model's output dict."""
    boxes = np.asarray(outputs["detection_boxes"])[index].astype(np.float32).reshape(-1, 4)
    classes = np.asarray(outputs["detection_classes"])[index].reshape(-1)
    scores = np.asarray(outputs["detection_scores"])[index].astype(np.float32).reshape(-1)
    n = len(scores)
    if "num_detections" in outputs:
        n = min(n, int(np.asarray(outputs["num_detections"]).reshape(-1)[index]))
    masks = None
    if "detection_masks" in outputs:
        m = np.asarray(outputs["detection_masks"])[index]
        if m.ndim == 3 and m.shape[0] >= n:
            masks = m[:n].astype(np.float32)
    raw = np.nan_to_num(boxes[:n][:, [1, 0, 3, 2]]).astype(np.float32)
    xyxy = np.clip(raw, 0.0, 1.0)
    dets = Detections(
        xyxy,
        np.rint(classes[:n]).astype(np.int32),
        np.nan_to_num(scores[:n]).astype(np.float32),
        masks,
        raw if masks is not None else None,
    )
    # A box that is empty after clipping (entirely outside the image, or inverted) is no detection.
    return dets.select((xyxy[:, 2] > xyxy[:, 0]) & (xyxy[:, 3] > xyxy[:, 1]))


def box_area(box: np.ndarray) -> float:
    return float(max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]))
