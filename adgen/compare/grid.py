"""The comparison grid: one row per target pose, one column per generator, the same seeds in each."""

from __future__ import annotations

from PIL import Image, ImageDraw

from adgen.datasets.framing import fit_into
from adgen.pose.contract import draw_pose

HEADER = 16
GAP = 2


def comparison_grid(
    targets: list,  # adgen.compare.evalset.Target
    frame: tuple[int, int],  # (height, width) of the evaluation set
    columns: list[tuple[str, list[Image.Image]]],  # (heading, one image per target row)
    cell_height: int = 128,
) -> Image.Image:
    """Target pose (skeleton), real photo, then each generator's image for that row, with headings."""
    h, w = frame
    ch = cell_height
    cw = max(8, round(ch * w / h))
    heads = ["target pose", "real photo", *[c[0] for c in columns]]
    n_cols, n_rows = len(heads), len(targets)
    grid = Image.new("RGB", (n_cols * (cw + GAP) + GAP, HEADER + n_rows * (ch + GAP) + GAP), "white")
    draw = ImageDraw.Draw(grid)
    for c, head in enumerate(heads):
        draw.text((GAP + c * (cw + GAP) + 2, 2), head[: max(4, cw // 6)], fill=(0, 0, 0))
    for r, target in enumerate(targets):
        cells = [draw_pose(target.keypoints, (w, h)), target.image, *[images[r] for _, images in columns]]
        for c, img in enumerate(cells):
            framed, _ = fit_into(img.convert("RGB"), cw, ch)
            grid.paste(framed, (GAP + c * (cw + GAP), HEADER + GAP + r * (ch + GAP)))
    return grid
