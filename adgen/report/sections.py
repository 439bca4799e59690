"""The report's sections, one function each: read a stage's outputs, return a Section or None.

A section function never fails because a stage has not run: missing inputs mean no section.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from adgen.config import Params
from adgen.report import html
from adgen.report.html import Section
from adgen.report.plots import loss_curves
from adgen.report.scores import score_filter
from adgen.report.sheets import contact_sheet

MODELS = ("stgan", "stylegan2", "gfla")


@dataclass
class Context:
    """What every section needs: the params and where the report's files go."""

    params: Params
    out: Path  # the report directory (index.html lives here)
    assets: Path  # out/assets

    def path(self, p: str | Path) -> Path:
        return self.params.path(p)

    def rel(self, p: Path) -> str:
        return p.relative_to(self.out).as_posix()

    def sheet(self, name: str, files: list[Path] | list[bytes], caption: str) -> str | None:
        """A contact sheet of up to `report.thumbnails` files as a figure, or None if none read."""
        rp = self.params.report
        files = files[: rp.thumbnails]
        out = self.assets / f"{name}.png"
        n = contact_sheet(files, out, px=rp.thumb_px)
        return html.figure(self.rel(out), f"{caption} ({n} shown)") if n else None


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None


def _json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text()) if path.exists() else None
    except json.JSONDecodeError:
        return None


def _counts(series: pd.Series) -> list[tuple[str, int]]:
    return [(str(k), int(v)) for k, v in series.fillna("(none)").value_counts().items()]


def _files(ctx: Context, df: pd.DataFrame, column: str) -> list[Path]:
    if column not in df.columns:
        return []
    return [ctx.path(p) for p in df[column].dropna().astype(str) if p]


def _photos(ctx: Context, df: pd.DataFrame) -> list[bytes]:
    """Up to `report.thumbnails` of a manifest's photos, read through the raw image store."""
    from adgen.errors import UserError
    from adgen.store.locations import raw_store
    from adgen.store.photos import Photos

    if "member" not in df.columns:
        return []
    photos = Photos(raw_store(ctx.params), "report")
    out: list[bytes] = []
    for member in df["member"].dropna().astype(str):
        if len(out) >= ctx.params.report.thumbnails:
            break
        try:
            out.append(photos.read({"member": member}))
        except (UserError, OSError):  # not in the store (not pulled yet): no tile, the report goes on
            continue
    return out


def _cards(ctx: Context) -> list[tuple[str, Path]]:
    """Dataset cards: `datasets/cards/<name>.json` (or `datasets/<name>/card.json`)."""
    root = ctx.path(ctx.params.paths.datasets)
    found = {p.parent.name: p for p in sorted(root.glob("*/card.json"))}
    found.update({p.stem: p for p in sorted(root.glob("cards/*.json"))})
    return sorted(found.items())


# -- counts per stage --------------------------------------------------------------------------------
def stage_counts(ctx: Context) -> Section | None:
    p = ctx.params.paths
    rows: list[tuple[str, object, str]] = []
    raw = _read(ctx.path(p.raw) / "manifest.parquet")
    if raw is not None:
        sites = ", ".join(f"{k}: {v}" for k, v in _counts(raw["site"])) if "site" in raw else ""
        rows.append(("crawl: images stored", len(raw), sites))
        if "duplicate_of" in raw.columns:
            rows.append(("crawl: near-duplicates recorded", int(raw["duplicate_of"].notna().sum()), ""))
    rejects = _read(ctx.path(p.raw) / "rejects.parquet")
    if rejects is not None and "reason" in rejects.columns:
        detail = ", ".join(f"{k}: {v}" for k, v in _counts(rejects["reason"]))
        rows.append(("crawl: downloads rejected", len(rejects), detail))
    for label, path in (
        ("filter", ctx.path(p.filtered) / "manifest.parquet"),
        ("strip", ctx.path(p.stripped) / "manifest.parquet"),
    ):
        df = _read(path)
        if df is None or "keep" not in df.columns:
            continue
        kept = int(df["keep"].fillna(False).astype(bool).sum())
        reasons = ", ".join(f"{k}: {v}" for k, v in _counts(df["reason"])) if "reason" in df else ""
        rows.append((f"{label}: kept / seen", f"{kept} / {len(df)}", reasons))
    pose = _read(ctx.path(p.pose) / "keypoints.parquet")
    if pose is not None:
        detail = ", ".join(f"{k}: {v}" for k, v in _counts(pose["source"])) if "source" in pose else ""
        rows.append(("pose: people with keypoints", len(pose), detail))
    for name, card_path in _cards(ctx):
        card = _json(card_path) or {}
        counts = card.get("counts") if isinstance(card.get("counts"), dict) else {}
        shown = ", ".join(f"{k}: {v}" for k, v in counts.items())
        if isinstance(card.get("sources"), dict):
            shown += "; sources " + ", ".join(f"{k}: {v}" for k, v in card["sources"].items())
        total = sum(v for v in counts.values() if isinstance(v, int))
        rows.append((f"dataset {name}", total, shown))
    if not rows:
        return None
    return Section("counts", "Counts per stage").add(html.table(rows, ["stage", "count", "detail"]))


# -- filter vs ground truth ----------------------------------------------------------------------------
def filter_scores(ctx: Context) -> Section | None:
    gt_path = ctx.params.report.ground_truth
    filtered = _read(ctx.path(ctx.params.paths.filtered) / "manifest.parquet")
    if gt_path is None or filtered is None or not {"keep", "reason", "image_id"} <= set(filtered.columns):
        return None
    truth = _json(ctx.path(gt_path))
    if not truth:
        return None
    score = score_filter(filtered, truth)
    if score is None:
        return None
    s = Section("filter-truth", "Filter vs the fixture site's ground truth")
    s.add(
        html.table(
            [
                ("images scored", score.matched),
                ("precision (kept that should be kept)", round(score.precision, 4)),
                ("recall (should be kept that were kept)", round(score.recall, 4)),
                ("reason agreement", round(score.reason_agreement, 4)),
                ("true / false positives", f"{score.true_pos} / {score.false_pos}"),
                ("false / true negatives", f"{score.false_neg} / {score.true_neg}"),
            ],
            ["measure", "value"],
        )
    )
    conf = score.confusion
    s.add(html.para("Expected reason (rows) against the filter's reason (columns):", "note"))
    s.add(
        html.table(
            [[idx, *[int(v) for v in conf.loc[idx]]] for idx in conf.index],
            ["expected \\ filter", *[str(c) for c in conf.columns]],
        )
    )
    return s


# -- contact sheets ------------------------------------------------------------------------------------
def contact_sheets(ctx: Context) -> Section | None:
    p = ctx.params.paths
    s = Section("sheets", "Contact sheets")
    raw = _read(ctx.path(p.raw) / "manifest.parquet")
    if raw is not None and "member" in raw.columns:
        if fig := ctx.sheet("raw", _photos(ctx, raw), "crawled photos"):
            s.add(fig)
    filtered = _read(ctx.path(p.filtered) / "manifest.parquet")
    if filtered is not None and {"keep", "member"} <= set(filtered.columns):
        keep = filtered["keep"].fillna(False).astype(bool)
        if fig := ctx.sheet("filter-kept", _photos(ctx, filtered[keep]), "filter: kept"):
            s.add(fig)
        if "reason" in filtered.columns:
            for reason, group in filtered[~keep].groupby("reason"):
                if fig := ctx.sheet(
                    f"filter-rejected-{reason}", _photos(ctx, group), f"filter: rejected, {reason}"
                ):
                    s.add(fig)
    stripped = _read(ctx.path(p.stripped) / "manifest.parquet")
    if stripped is not None:
        kept = stripped[stripped["keep"].fillna(False).astype(bool)] if "keep" in stripped else stripped
        for column, name, caption in (
            ("person_white_path", "strip-people", "strip: people on white"),
            ("person_rgba_path", "strip-people-rgba", "strip: people cut out (alpha over a checkerboard)"),
            ("bag_rgba_path", "strip-bags", "strip: bag cut-outs (alpha over a checkerboard)"),
        ):
            if fig := ctx.sheet(name, _files(ctx, kept, column), caption):
                s.add(fig)
    return s if s.parts else None


# -- training --------------------------------------------------------------------------------------------
def _newest(files: list[Path]) -> Path | None:
    return max(files, key=lambda f: f.stat().st_mtime) if files else None


def training(ctx: Context) -> Section | None:
    p = ctx.params.paths
    metrics_dir = ctx.path(p.metrics)
    s = Section("training", "Training")
    for model in MODELS:
        csv = metrics_dir / f"{model}_loss.csv"
        final = _json(metrics_dir / f"{model}.json")
        if csv.exists():
            out = ctx.assets / f"{model}-loss.png"
            if loss_curves(csv, out, f"{model} losses"):
                s.add(html.figure(ctx.rel(out), f"{model}: loss curves"))
        if final:
            flat = [(k, v) for k, v in final.items() if isinstance(v, int | float | str | bool)]
            s.add(f"<h3>{html.esc(model)}: final metrics</h3>" + html.table(flat, ["metric", "value"]))
    gif = _newest(sorted(ctx.path(p.models).glob("stgan/*/**/*.gif")))
    if gif is not None:
        dest = ctx.assets / "stgan-warps.gif"
        shutil.copyfile(gif, dest)
        s.add(html.figure(ctx.rel(dest), f"ST-GAN: a bag moving through the warps ({gif.parent.name})"))
    for model in MODELS:
        grids = sorted(ctx.path(p.models).glob(f"{model}/*/**/*.png"))
        newest = _newest(grids)
        if newest is not None:
            dest = ctx.assets / f"{model}-samples.png"
            shutil.copyfile(newest, dest)
            s.add(
                html.figure(
                    ctx.rel(dest), f"{model}: latest samples ({newest.parent.name}/{newest.name})", 480
                )
            )
    return s if s.parts else None


# -- generated ads ----------------------------------------------------------------------------------------
GENERATED = Path("data/generated")  # `adgen generate -o` folders of the generate stage / generate-ads flow


def generated(ctx: Context) -> Section | None:
    """The newest generated ads (`<folder>/<seed>/ad.png`), with each chain's intermediate steps."""
    ads = sorted(ctx.path(GENERATED).glob("**/ad.png"), key=lambda f: f.stat().st_mtime, reverse=True)
    if not ads:
        return None
    s = Section("generated", "Generated ads")
    if fig := ctx.sheet("generated-ads", ads, "generated ads (StyleGAN2 person, GFLA pose, ST-GAN bag)"):
        s.add(fig)
    steps = [p for p in (ads[0].parent / n for n in ("person.png", "reposed.png", "ad.png")) if p.exists()]
    if fig := ctx.sheet("generated-chain", steps, f"one chain, step by step ({ads[0].parent.name})"):
        s.add(fig)
    return s


# -- metrics files ---------------------------------------------------------------------------------------
def metrics_files(ctx: Context) -> Section | None:
    """Every other JSON metric the stages wrote (crawl stats, filter stats, evaluation)."""
    p = ctx.params.paths
    found = [
        ctx.path(p.raw) / "crawl_stats.json",
        ctx.path(p.filtered) / "filter_stats.json",
        *sorted(ctx.path(p.metrics).glob("*.json")),
    ]
    s = Section("metrics", "Metrics files")
    for path in found:
        data = _json(path)
        if not data:
            continue
        flat = [(k, v) for k, v in data.items() if isinstance(v, int | float | str | bool)]
        if flat:
            s.add(
                f"<h3>{html.esc(path.relative_to(ctx.params.root))}</h3>" + html.table(flat, ["key", "value"])
            )
    return s if s.parts else None


SECTIONS = (stage_counts, filter_scores, contact_sheets, training, generated, metrics_files)
