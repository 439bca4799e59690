"""The requested pose: read from a keypoint JSON file or estimated on an image, and drawn for humans.

Keypoints follow the contract: 18 OpenPose-order points as (x, y, conf), x and y normalised to the
person's frame, conf 0 (and x = y = -1) for a missing point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from adgen import safe_files
from adgen.errors import UserError
from adgen.pose.keypoints import OPENPOSE_LIMBS

N_POINTS = 18
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}
# One colour per OpenPose limb (adgen.pose.keypoints.OPENPOSE_LIMBS), as OpenPose draws them
LIMBS = OPENPOSE_LIMBS
COLOURS = [
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
]


def normalise_keypoints(data: object, where: str) -> np.ndarray:
    """A list of 18 [x, y] or [x, y, conf] (or {"keypoints": …}) → (18, 3) float32."""
    if isinstance(data, dict):
        data = data.get("keypoints")
    try:
        arr = np.asarray(data, dtype=np.float32)
    except (TypeError, ValueError, OverflowError):
        arr = np.zeros(0)
    if arr.ndim != 2 or arr.shape[0] != N_POINTS or arr.shape[1] not in (2, 3):
        raise UserError(
            f"{where}: expected 18 OpenPose keypoints as [x, y] or [x, y, conf] (normalised to [0, 1])"
        )
    # NaN passes every comparison below (and then fails a cast far away): refuse it here. A float
    # over float32's range (1e39) becomes inf here too.
    if not np.isfinite(arr).all():
        raise UserError(f"{where}: keypoints must be finite numbers (found NaN or infinity)")
    if arr.shape[1] == 2:
        conf = ((arr[:, 0] >= 0) & (arr[:, 1] >= 0)).astype(np.float32)
        arr = np.concatenate([arr, conf[:, None]], axis=1)
    arr = arr.copy()
    missing = arr[:, 2] <= 0
    arr[missing] = (-1.0, -1.0, 0.0)
    present = arr[~missing, :2]
    if present.size and (present.min() < 0 or present.max() > 1):
        raise UserError(f"{where}: keypoints must be normalised to [0, 1] (missing points: conf 0)")
    if missing.all():
        raise UserError(f"{where}: no keypoint is present")
    return arr


def fit_into_frame(kp: np.ndarray, src_size: tuple[int, int], frame: tuple[int, int]) -> np.ndarray:
    """Keypoints normalised to an image of src_size (w, h) → normalised to a frame (w, h) it is fitted into
    (aspect kept, centred), so a pose taken from a photo of any shape lands where it would in the frame."""
    (sw, sh), (fw, fh) = src_size, frame
    scale = min(fw / sw, fh / sh)
    ox, oy = (fw - sw * scale) / 2, (fh - sh * scale) / 2
    out = np.asarray(kp, dtype=np.float32).copy()
    ok = out[:, 2] > 0
    out[ok, 0] = (out[ok, 0] * sw * scale + ox) / fw
    out[ok, 1] = (out[ok, 1] * sh * scale + oy) / fh
    return out


def read_pose(path: Path, frame: tuple[int, int], estimator=None) -> np.ndarray:
    """--pose: a keypoint JSON file, or an image whose pose the estimator finds (fitted into `frame`)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--pose {path}: file not found")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        if estimator is None:
            raise UserError(
                f"--pose {path}: an image needs a pose model (set generate.pose_model or pose.model)"
            )
        from adgen.safety import open_image

        with open_image(path, f"--pose {path}") as img:  # the pixel limit: one line, not a bomb trace
            img = img.convert("RGB")
            kp = estimator.estimate(img)
            size = img.size
        if not (np.asarray(kp)[:, 2] > 0).any():
            raise UserError(f"--pose {path}: the pose model found no keypoints in this image")
        return fit_into_frame(kp, size, frame)
    where = f"--pose {path}"
    size = path.stat().st_size
    if size > safe_files.MAX_BYTES:  # before reading it into memory
        raise UserError(f"{where}: {size} bytes, over the {safe_files.MAX_BYTES}-byte limit for a pose file")
    try:  # the user-file limits: size, nesting depth, no NaN/Infinity
        data = safe_files.read_json(path.read_bytes(), where)
    except safe_files.FileFormatError as exc:
        problem = str(exc).removeprefix(f"{where}: ")
        raise UserError(f"{where}: neither an image nor a keypoint JSON file ({problem})") from None
    return normalise_keypoints(data, where)


def draw_pose(kp: np.ndarray, size: tuple[int, int], background: Image.Image | None = None) -> Image.Image:
    """The skeleton of `kp` on white (or over `background`), OpenPose colours."""
    w, h = size
    img = (
        background.convert("RGB").resize((w, h))
        if background is not None
        else Image.new("RGB", (w, h), "white")
    )
    d = ImageDraw.Draw(img)
    width = max(1, round(min(w, h) / 40))
    for n, (a, b) in enumerate(LIMBS):
        if kp[a, 2] > 0 and kp[b, 2] > 0:
            d.line([(kp[a, 0] * w, kp[a, 1] * h), (kp[b, 0] * w, kp[b, 1] * h)], fill=COLOURS[n], width=width)
    r = width + 1
    for i in range(N_POINTS):
        if kp[i, 2] > 0:
            x, y = kp[i, 0] * w, kp[i, 1] * h
            d.ellipse([x - r, y - r, x + r, y + r], fill=COLOURS[i])
    return img
