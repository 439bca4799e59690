"""Build report/index.html from whatever the pipeline has produced so far."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from adgen import atomic
from adgen.config import Params
from adgen.report import html
from adgen.report.sections import SECTIONS, Context


@dataclass(frozen=True)
class Report:
    index: Path
    sections: list[str]  # anchors of the sections written, in order


def build_report(params: Params, out_dir: Path | None = None) -> Report:
    """Write `<paths.report>/index.html` (and its assets/) and return what it holds."""
    out = params.path(out_dir or params.paths.report)
    assets = out / "assets"
    if assets.exists():
        shutil.rmtree(assets)
    assets.mkdir(parents=True)
    ctx = Context(params=params, out=out, assets=assets)
    sections = [s for s in (fn(ctx) for fn in SECTIONS) if s is not None]
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = f"Built {when} from {params.root}"
    if not sections:
        sections = [html.Section("empty", "Nothing yet").add(html.para("No stage has produced output yet."))]
    index = out / "index.html"
    atomic.write_text(index, html.page(params.report.title, subtitle, sections))
    return Report(index=index, sections=[s.anchor for s in sections])
