"""An HTML contact sheet of the filter's decisions: samples per reason, boxes drawn, for a human.

Numbers say how many images each reason took; only looking says whether the reasons are right.
Each section shows up to `detect.contact_sheet_per_reason` images (a stable sample: the lowest
image ids) with the chosen person box (green if kept, red if not) and bag box (blue) and scores.
"""

from __future__ import annotations

import html
import io
import shutil
from pathlib import Path
from typing import IO

import pandas as pd
from PIL import Image, ImageDraw, ImageOps

from adgen import atomic, safety
from adgen.config import Params
from adgen.detect.images import to_rgb8
from adgen.detect.reviewed import REVIEWER
from adgen.detect.rule import REASONS
from adgen.safety import link_href, link_url
from adgen.store.integrity import StoreError
from adgen.store.locations import raw_store
from adgen.store.photos import Photos

THUMB = 240
SHOWN = (*REASONS, REVIEWER)  # the rule's reasons, then the photos reviewers decided


def write_contact_sheet(params: Params, filtered: pd.DataFrame, out_dir: Path) -> Path:
    """Write `out_dir/contact_sheet.html` and its thumbnails under `out_dir/contact_sheet/`."""
    per_reason = params.detect.contact_sheet_per_reason
    thumbs = out_dir / "contact_sheet"
    shutil.rmtree(thumbs, ignore_errors=True)
    photos = Photos(raw_store(params), "filtered manifest")
    sections = []
    for reason in SHOWN:
        rows = filtered[filtered["reason"] == reason]
        if rows.empty:
            continue
        sample = rows.sort_values("image_id").head(per_reason)
        cards = "\n".join(_card(photos, row, thumbs) for row in sample.itertuples(index=False))
        sections.append(
            f'<section id="{reason}"><h2>{reason} <small>({len(rows)} images, '
            f"{len(sample)} shown)</small></h2>\n<div class=grid>\n{cards}\n</div></section>"
        )
    kept = int(filtered["keep"].sum())
    index = " · ".join(
        f'<a href="#{r}">{r}: {int((filtered["reason"] == r).sum())}</a>'
        for r in SHOWN
        if (filtered["reason"] == r).any()
    )
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>AdGen filter: contact sheet</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 10px; }}
figure {{ margin: 0; width: {THUMB}px; font-size: 12px; }}
figure img {{ display: block; max-width: {THUMB}px; max-height: {THUMB}px; }}
.missing {{ width: {THUMB}px; height: 120px; background: #eee; display: flex; align-items: center;
  justify-content: center; color: #900; }}
</style></head><body>
<h1>Filter decisions: {kept} kept of {len(filtered)}</h1>
<p>Green box: the person (kept), red: the person (rejected), blue: the bag. Detector:
<code>{html.escape(params.detect.model)}</code></p>
<p>{index}</p>
{chr(10).join(sections)}
</body></html>
"""
    path = out_dir / "contact_sheet.html"
    atomic.write_text(path, page)
    return path


def _card(photos: Photos, row: object, thumbs: Path) -> str:
    image_id = str(row.image_id)
    caption = [f"<b>{html.escape(str(row.reason))}</b>"]
    if row.person_score is not None and pd.notna(row.person_score):
        caption.append(f"person {row.person_score:.2f} (n={int(row.n_people)})")
    if row.bag_score is not None and pd.notna(row.bag_score):
        caption.append(f"{html.escape(str(row.bag_class))} {row.bag_score:.2f}")
    source = getattr(row, "source_url", None)
    link = f" {link_href(source, 'source')}" if link_url(source) else ""  # http/https only, never javascript:
    text = " · ".join(caption) + link + f"<br><code>{image_id[:12]}</code>"
    dst = thumbs / f"{safety.image_id(image_id, 'filter contact sheet')}.jpg"
    try:
        rgb = _thumbnail(io.BytesIO(photos.read({"member": row.member})), row)
    except StoreError:  # a damaged store is not the photo's fault: it stops the stage
        raise
    except Exception:  # unreadable images (the reason says why) get a placeholder, not a crash
        return f'<figure><div class="missing">cannot show</div><figcaption>{text}</figcaption></figure>'
    with atomic.atomic_path(dst) as tmp:  # a disk error here stops the stage (OutputError)
        rgb.save(tmp, format="JPEG", quality=85)
    picture = f'<img src="contact_sheet/{dst.name}" alt="{image_id}" loading="lazy">'
    return f"<figure>{picture}<figcaption>{text}</figcaption></figure>"


def _thumbnail(src: IO[bytes], row: object) -> Image.Image:
    """The photo, small, with the chosen boxes drawn (reading only: any failure is the photo's)."""
    with safety.open_image(src) as img:
        img.draft("RGB", (THUMB * 2, THUMB * 2))
        rgb = to_rgb8(ImageOps.exif_transpose(img))
    rgb.thumbnail((THUMB, THUMB))
    draw = ImageDraw.Draw(rgb)
    w, h = rgb.size
    for box, colour in (
        (row.person_box, (0, 200, 0) if row.keep else (220, 0, 0)),
        (row.bag_box, (0, 90, 255)),
    ):
        if box is not None and len(box) == 4:
            draw.rectangle([box[0] * w, box[1] * h, box[2] * w - 1, box[3] * h - 1], outline=colour, width=2)
    return rgb
