"""A page per photo: what a reviewer needs to trace a kept or rejected image to its source.

The photo at full size, its source URL and site (a link only for http/https), title and licence
(shown as text, whatever they hold), the detections with their boxes drawn, the filter's decision
and reason, the masks and the cut-outs. Pages live in `report/items/<image_id>.html`; every file a
page shows is copied under `report/assets/items/`, named by the validated image id only.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageOps

from adgen import atomic, safety
from adgen.errors import UserError
from adgen.pages.render import render
from adgen.report.sheets import thumbnail
from adgen.store.integrity import StoreError

MASKS = (("person_mask", "person mask"), ("bag_mask", "bag mask"))  # members of the filter's store
CUTOUTS = (  # members of strip's store
    ("person_rgba", "person cut out"),
    ("person_white", "person on white"),
    ("person_nobag_white", "person without the bag"),
    ("bag_rgba", "bag cut out"),
)
BOX_COLOURS = {"person_box": (220, 40, 40), "bag_box": (30, 120, 230)}


def valid_id(value: object) -> str | None:
    try:
        return safety.image_id(value, "report")
    except UserError:
        return None


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return str(value)


def _suffix(member: object) -> str:
    """`.jpg` of a store member `<sha256>.jpg` (validated by the store's layout), else ``."""
    from adgen.store import layout

    parts = layout.split_member(member) if isinstance(member, str) else None
    return f".{parts[1]}" if parts else ""


def _box(value: object) -> list[float] | None:
    try:
        box = [float(v) for v in value]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return box if len(box) == 4 and all(np.isfinite(box)) else None


@dataclass
class Photos:
    """The photos the report knows, by image id: raw, filter and strip rows joined."""

    root: Path  # project root: every file path in a manifest must stay inside it
    out: Path  # the report directory
    allowed: tuple[Path, ...] = ()  # data dirs the params name (they may lie outside the project)
    # columns naming a member of an image store (adgen.store.photos.Photos), e.g. the raw photo's
    # `member` and the filter's masks; every other *_path column is a file under the project
    stores: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    wanted: set[str] = field(default_factory=set)  # ids shown as a thumbnail: they get a page
    # members a damaged store could not give (the first error of each): the report is written
    # without them, then `adgen report` stops with one line naming them (see docs/report.md)
    unshown: dict[str, str] = field(default_factory=dict)

    def add(self, df: pd.DataFrame | None, prefix: str = "") -> None:
        if df is None or "image_id" not in df.columns:
            return
        for rec in df.to_dict("records"):
            image_id = valid_id(rec.get("image_id"))
            if image_id is None:
                continue
            row = self.rows.setdefault(image_id, {})
            for k, v in rec.items():
                row[prefix + k if k in ("keep", "reason") else k] = v

    def file(self, value: object) -> Path | None:
        """The manifest's path `value` under the project root, or None (missing, outside, not a file)."""
        if not isinstance(value, str) or not value:
            return None
        try:
            p = safety.inside(self.root, value, "report", self.allowed)
        except UserError:
            return None
        return p if p.is_file() else None

    def source(self, column: str, value: object) -> Path | bytes | None:
        """What a row's `column` shows: a store member's bytes, or a file under the project; None if
        it is missing, invalid or not there (not pulled yet: the report goes on without it)."""
        store = self.stores.get(column)
        if store is None:
            return self.file(value)
        if not isinstance(value, str) or not value:
            return None
        try:
            return store.read({"member": value})
        except StoreError as exc:  # the store is damaged: not the photo's fault, and not quietly left out
            self.unshown.setdefault(value, str(exc))
            return None
        except UserError:  # not pulled yet, or not a member name
            return None

    def tile(
        self, image_id: object, column: str, value: object, px: int, label: str
    ) -> dict[str, str] | None:
        """A thumbnail of `value` (the photo's `column`: a file or a store member) linking to the
        photo's page; None if the id is not an image id or the image can't be read."""
        return self.tile_of(image_id, self.source(column, value), column, px, label)

    def tile_of(
        self, image_id: object, src: Path | bytes | None, name: str, px: int, label: str
    ) -> dict[str, str] | None:
        """A thumbnail of `src` (a file or image bytes, e.g. a photo with its keypoints drawn) saved as
        `thumbs/<id>-<name>.png`, linking to the photo's page; None if it can't be read."""
        image_id = valid_id(image_id)
        if image_id is None or src is None:
            return None
        dest = self.out / "assets" / "thumbs" / f"{image_id}-{name}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        im = thumbnail(src, px)
        if im is None:
            return None
        with atomic.atomic_path(dest) as tmp:
            im.save(tmp, format="PNG")
        self.wanted.add(image_id)
        return {
            "src": dest.relative_to(self.out).as_posix(),
            "href": f"items/{image_id}.html",
            "label": label,
        }

    def write_pages(self, title: str, subtitle: str, thumb_px: int) -> int:
        """Write `items/<id>.html` for every photo shown as a thumbnail; return how many."""
        if self.wanted:  # the pages' keep/reject control (adgen/report/static/review.js)
            script = resources.files("adgen.report").joinpath("static", "review.js").read_text()
            atomic.write_text(self.out / "assets" / "review.js", script)
        for image_id in sorted(self.wanted):
            page = render("item.html", title=title, subtitle=subtitle, thumb_px=thumb_px,
                          item=self._item(image_id))  # fmt: skip
            atomic.write_text(self.out / "items" / f"{image_id}.html", str(page))
        return len(self.wanted)

    def _copy(self, image_id: str, src: Path | bytes, tag: str, suffix: str = "") -> str:
        """Copy a file (or write stored bytes, whose `suffix` comes from the validated member name)."""
        ext = src.suffix.lower() if isinstance(src, Path) else suffix
        dest = self.out / "assets" / "items" / f"{image_id}-{tag}{ext}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, Path):
            shutil.copyfile(src, dest)
        else:
            atomic.write_bytes(dest, src)
        return "../" + dest.relative_to(self.out).as_posix()

    def _boxes(self, image_id: str, src: Path | bytes, row: dict[str, Any]) -> str | None:
        boxes = {k: b for k in BOX_COLOURS if (b := _box(row.get(k))) is not None}
        if not boxes:
            return None
        try:
            with Image.open(io.BytesIO(src) if isinstance(src, bytes) else src) as im:
                im = ImageOps.exif_transpose(im).convert("RGB")
        except (OSError, ValueError):
            return None
        draw = ImageDraw.Draw(im)
        w, h = im.size
        for k, (x0, y0, x1, y1) in boxes.items():
            draw.rectangle([x0 * w, y0 * h, x1 * w, y1 * h], outline=BOX_COLOURS[k], width=max(2, w // 200))
        dest = self.out / "assets" / "items" / f"{image_id}-boxes.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic.atomic_path(dest) as tmp:
            im.save(tmp, format="PNG")
        return "../" + dest.relative_to(self.out).as_posix()

    def _item(self, image_id: str) -> dict[str, Any]:
        row = self.rows.get(image_id, {})
        figures = []
        full = (
            self.source("member", row.get("member"))
            if "member" in self.stores
            else self.file(row.get("path"))
        )
        if full is not None:
            figures.append(
                {
                    "src": self._copy(image_id, full, "full", _suffix(row.get("member"))),
                    "caption": "the photo at full size",
                }
            )
            if boxes := self._boxes(image_id, full, row):
                figures.append({"src": boxes, "caption": "detections: person (red), bag (blue)"})
        for column, caption in (*MASKS, *CUTOUTS):
            if (f := self.source(column, row.get(column))) is not None:
                src = self._copy(image_id, f, column.removesuffix("_path"), _suffix(row.get(column)))
                figures.append({"src": src, "caption": caption})
        keep = row.get("filter_keep")
        decision = "—" if keep is None else ("kept" if bool(keep) else "rejected")
        review = reviewer_control(image_id, row)
        if review and review["reviewed"]:
            decision += f" by a reviewer (the rule: {review['rule_said']})"
        if row.get("strip_reason") is not None:
            decision += (
                f"; strip: {'kept' if bool(row.get('strip_keep')) else 'dropped'} ({row['strip_reason']})"
            )
        detections = [
            (k.replace("_", " "), _text(row.get(k)))
            for k in (
                "n_people",
                "person_score",
                "person_box",
                "bag_class",
                "bag_score",
                "bag_box",
                "full_body",
            )
            if k in row
        ]
        return {
            "image_id": image_id,
            "decision": decision,
            "reason": _text(row.get("filter_reason")),
            "site": _text(row.get("site")),
            "source_url": _text(row.get("source_url")),
            "source_href": safety.link_url(row.get("source_url")),
            "page_url": _text(row.get("page_url")),
            "page_href": safety.link_url(row.get("page_url")),
            "title": _text(row.get("title")),
            "license": _text(row.get("license")),
            "detections": detections,
            "figures": figures,
            "review": review,
        }


def reviewer_control(image_id: str, row: dict[str, Any]) -> dict[str, Any] | None:
    """What the page's keep/reject control needs (None: the filter has not decided this photo)."""
    keep = row.get("filter_keep")
    if keep is None or (isinstance(keep, float) and np.isnan(keep)):
        return None
    reviewed = row.get("filter_reason") == "reviewer"
    rule_keep = row.get("rule_keep")
    rule_keep = bool(keep) if rule_keep is None or not reviewed else bool(rule_keep)
    rule_reason = _text(row.get("rule_reason")) if reviewed else _text(row.get("filter_reason"))
    return {
        "image_id": image_id,
        "decision": "keep" if bool(keep) else "reject",
        "rule": "keep" if rule_keep else "reject",
        "rule_said": f"{'kept' if rule_keep else 'rejected'}, {rule_reason}",
        "reviewed": reviewed,
        "note": _text(row.get("review_note")) if reviewed and row.get("review_note") else None,
        "by": _text(row.get("review_by")) if reviewed and row.get("review_by") else None,
    }
