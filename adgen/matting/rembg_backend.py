"""rembg person masks from a LOCAL u2net_human_seg.onnx (optional extra `adgen[matting]`).

rembg downloads its model on first use; this project must never do that behind the user's back, so
the model file is checked first and checksum verification is switched off (a present file is used
as it is, never replaced). The human-segmentation model is named explicitly: rembg's default model
is a generic salient-object one.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from adgen.errors import UserError

MODEL_NAME = "u2net_human_seg"
MODEL_URL = "https://github.com/danielgatis/rembg/releases/download/v0.0.0/u2net_human_seg.onnx"


def model_path() -> Path:
    home = os.environ.get("U2NET_HOME") or os.path.join(
        os.environ.get("XDG_DATA_HOME", os.path.expanduser("~")), ".u2net"
    )
    return Path(home) / f"{MODEL_NAME}.onnx"


def require_model() -> Path:
    path = model_path()
    if not path.is_file():
        raise UserError(
            f"strip.backend rembg: model file {path} not found; download {MODEL_URL} "
            "and put it there (or point U2NET_HOME at the folder holding it)"
        )
    return path


@lru_cache(maxsize=1)
def _session():  # pragma: no cover - needs the optional extra and the model file
    require_model()
    os.environ["MODEL_CHECKSUM_DISABLED"] = "1"  # an existing file is used as is: no download
    try:
        import rembg
    except ImportError:
        raise UserError("strip.backend rembg: rembg is not installed; pip install 'adgen[matting]'") from None
    return rembg, rembg.new_session(MODEL_NAME)


def rembg_person_mask(rgb: np.ndarray, box_px: tuple[int, int, int, int]) -> np.ndarray:
    """Soft 0..1 HxW person mask from u2net_human_seg, run on the person's crop."""
    from PIL import Image

    from adgen.matting.photo import expand_box

    require_model()
    rembg, session = _session()  # pragma: no cover
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = expand_box(box_px, 0.1, w, h)
    crop = Image.fromarray(rgb[y0:y1, x0:x1])
    m = rembg.remove(crop, session=session, only_mask=True)
    out = np.zeros((h, w), dtype=np.float32)
    out[y0:y1, x0:x1] = np.asarray(m.convert("L"), dtype=np.float32) / 255.0
    return out
