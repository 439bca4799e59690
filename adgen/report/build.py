"""Build report/index.html (and a page per photo shown) from whatever the pipeline has produced so far."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from adgen import atomic
from adgen.config import Params
from adgen.pages.render import render
from adgen.report.items import Photos
from adgen.report.sections import SECTIONS, Context, Section, _read
from adgen.store.integrity import StoreError


@dataclass(frozen=True)
class Report:
    index: Path
    sections: list[str]  # anchors of the sections written, in order
    items: int = 0  # photo pages written under items/


def _photos(params: Params, out: Path) -> Photos:
    p = params.paths
    dirs = tuple(params.path(d) for d in (p.raw, p.filtered, p.stripped))
    from adgen.report.items import CUTOUTS
    from adgen.store.locations import cutouts_store, raw_store
    from adgen.store.photos import Photos as StorePhotos

    masks = StorePhotos(params.path(p.filtered) / "store", "report")
    stores = {"member": StorePhotos(raw_store(params), "report"), "person_mask": masks, "bag_mask": masks}
    stores.update(dict.fromkeys((c for c, _ in CUTOUTS), StorePhotos(cutouts_store(params), "report")))
    photos = Photos(root=params.root, out=out, allowed=dirs, stores=stores)
    photos.add(_read(params.path(p.raw) / "manifest.parquet"))
    photos.add(_read(params.path(p.filtered) / "manifest.parquet"), "filter_")
    photos.add(_read(params.path(p.stripped) / "manifest.parquet"), "strip_")
    return photos


def unshown_error(index: Path, unshown: dict[str, str]) -> StoreError:
    """One line: the report is written, but a damaged store kept these photos out of it."""
    names = sorted(unshown)
    ids = ", ".join(m.partition(".")[0][:12] for m in names[:3]) + (
        f" +{len(names) - 3} more" if len(names) > 3 else ""
    )
    return StoreError(
        f"report: wrote {index} without {len(names)} photo(s) a damaged store could not give ({ids}); "
        f"first: {unshown[names[0]]}"
    )


def build_report(params: Params, out_dir: Path | None = None) -> Report:
    """Write `<paths.report>/index.html`, its assets/ and items/, and return what it holds."""
    out = params.path(out_dir or params.paths.report)
    for generated in (out / "assets", out / "items"):
        if generated.exists():
            shutil.rmtree(generated)
    assets = out / "assets"
    assets.mkdir(parents=True)
    photos = _photos(params, out)
    ctx = Context(params=params, out=out, assets=assets, photos=photos)
    sections = [s for s in (fn(ctx) for fn in SECTIONS) if s is not None]
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"Built {when} from {params.root}"
    if not sections:
        sections = [Section("empty", "Nothing yet", "empty.html")]
    look = {"title": params.report.title, "subtitle": subtitle, "thumb_px": params.report.thumb_px}
    shown = [{"anchor": s.anchor, "title": s.title, "body": s.body()} for s in sections]
    index = out / "index.html"
    atomic.write_text(index, str(render("index.html", sections=shown, **look)))
    items = photos.write_pages(**look)
    if photos.unshown:
        raise unshown_error(index, photos.unshown)
    return Report(index=index, sections=[s.anchor for s in sections], items=items)
