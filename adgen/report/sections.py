"""The report's sections, one function each: read a stage's outputs, return a Section or None.

A section function never fails because a stage has not run: missing inputs mean no section. It
returns data only; its template (templates/sections/<name>.html) turns that into HTML, escaped.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup
from PIL import Image

from adgen.config import Params
from adgen.pages.fragments import read_json_object
from adgen.pages.render import render
from adgen.report.items import Photos
from adgen.report.plots import loss_curves, run_phases
from adgen.report.scores import score_filter
from adgen.report.sheets import contact_sheet


@dataclass
class Section:
    """One titled part of the report; `anchor` is its id for the table of contents."""

    anchor: str
    title: str
    template: str  # under templates/sections/
    data: dict[str, Any] = field(default_factory=dict)

    def body(self) -> Markup:
        return render(f"sections/{self.template}", **self.data)


@dataclass
class Context:
    """What every section needs: the params, where the report's files go, the photos it links to."""

    params: Params
    out: Path  # the report directory (index.html lives here)
    assets: Path  # out/assets
    photos: Photos | None = None  # the photos thumbnails link to (none: an empty set)

    def __post_init__(self) -> None:
        if self.photos is None:
            self.photos = Photos(root=self.params.root, out=self.out)

    def path(self, p: str | Path) -> Path:
        return self.params.path(p)

    def rel(self, p: Path) -> str:
        return p.relative_to(self.out).as_posix()

    def sheet(self, name: str, files: list[Path] | list[bytes], caption: str) -> dict[str, str] | None:
        """A contact sheet (one PNG) of up to `report.thumbnails` files or stored images as a figure,
        or None if none read."""
        rp = self.params.report
        files = files[: rp.thumbnails]
        out = self.assets / f"{name}.png"
        n = contact_sheet(files, out, px=rp.thumb_px)
        return {"src": self.rel(out), "caption": f"{caption} ({n} shown)"} if n else None

    def grid(self, df: pd.DataFrame, column: str, caption: str) -> dict[str, Any] | None:
        """Up to `report.thumbnails` thumbnails of `df[column]`, each linking to its photo's page."""
        if column not in df.columns or "image_id" not in df.columns:
            return None
        rp = self.params.report
        tiles = []
        photos = self.photos
        assert photos is not None
        for image_id, value in zip(df["image_id"], df[column], strict=True):
            if len(tiles) >= rp.thumbnails:
                break
            label = f"{caption}: {str(image_id)[:12]}"
            if (tile := photos.tile(image_id, column, value, rp.thumb_px, label)) is not None:
                tiles.append(tile)
        return {"caption": caption, "tiles": tiles, "total": len(df)} if tiles else None


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None


def _counts(series: pd.Series) -> list[tuple[str, int]]:
    return [(str(k), int(v)) for k, v in series.fillna("(none)").value_counts().items()]


def _joined(pairs: list[tuple[str, int]]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in pairs)


def _kept(df: pd.DataFrame) -> pd.Series:
    return df["keep"].fillna(False).astype(bool)


def _cards(ctx: Context) -> list[tuple[str, Path]]:
    """Dataset cards: `datasets/cards/<name>.json` (or `datasets/<name>/card.json`)."""
    root = ctx.path(ctx.params.paths.datasets)
    found = {p.parent.name: p for p in sorted(root.glob("*/card.json"))}
    found.update({p.stem: p for p in sorted(root.glob("cards/*.json"))})
    return sorted(found.items())


# -- the funnel: counts per stage with what each stage dropped and why ------------------------------------
def stage_counts(ctx: Context) -> Section | None:
    p = ctx.params.paths
    rows: list[dict[str, Any]] = []

    def add(stage: str, count: int | str, detail: str = "", n: int | None = None) -> None:
        rows.append({"stage": stage, "count": count, "detail": detail, "n": n})

    raw = _read(ctx.path(p.raw) / "manifest.parquet")
    rejects = _read(ctx.path(p.raw) / "rejects.parquet")
    if raw is not None:
        n_rejects = len(rejects) if rejects is not None else 0
        add("crawl: downloads tried", len(raw) + n_rejects, "", len(raw) + n_rejects)
        if rejects is not None and "reason" in rejects.columns:
            add("crawl: downloads rejected", n_rejects, _joined(_counts(rejects["reason"])))
        sites = _joined(_counts(raw["site"])) if "site" in raw else ""
        add("crawl: images stored", len(raw), sites, len(raw))
        if "duplicate_of" in raw.columns:
            add("crawl: near-duplicates recorded", int(raw["duplicate_of"].notna().sum()))
    for label, path in (
        ("filter", ctx.path(p.filtered) / "manifest.parquet"),
        ("strip", ctx.path(p.stripped) / "manifest.parquet"),
    ):
        df = _read(path)
        if df is None or "keep" not in df.columns:
            continue
        kept = _kept(df)
        add(f"{label}: seen", len(df), "", len(df))
        if "reason" in df.columns:
            add(f"{label}: rejected by reason", int((~kept).sum()), _joined(_counts(df.loc[~kept, "reason"])))
        add(f"{label}: kept", int(kept.sum()), f"kept / seen: {int(kept.sum())} / {len(df)}", int(kept.sum()))
    pose = _read(ctx.path(p.pose) / "keypoints.parquet")
    if pose is not None:
        detail = _joined(_counts(pose["source"])) if "source" in pose else ""
        add("pose: people with keypoints", len(pose), detail, len(pose))
    for name, card_path in _cards(ctx):
        card = read_json_object(card_path) or {}
        counts = card.get("counts") if isinstance(card.get("counts"), dict) else {}
        shown = ", ".join(f"{k}: {v}" for k, v in counts.items())
        if isinstance(card.get("sources"), dict):
            shown += "; sources " + ", ".join(f"{k}: {v}" for k, v in card["sources"].items())
        total = sum(v for v in counts.values() if isinstance(v, int))
        add(f"dataset {name}", total, shown, total)
    if not rows:
        return None
    top = max((r["n"] for r in rows if r["n"]), default=0)
    for r in rows:
        r["share"] = (r["n"] / top) if r["n"] is not None and top else None
    return Section("counts", "Counts per stage", "counts.html", {"rows": rows})


# -- the dataset version: tag, date, counts, what changed since the previous one ----------------------------
def dataset_version(ctx: Context) -> Section | None:
    """Which dataset version the workspace is; no section before the crawl (no dataset yet)."""
    from adgen.report.versions import version_panel

    if not (ctx.path(ctx.params.paths.raw) / "manifest.parquet").is_file():
        return None
    return Section("version", "Dataset version", "version.html", version_panel(ctx.params))


# -- filter vs ground truth ----------------------------------------------------------------------------
def filter_scores(ctx: Context) -> Section | None:
    gt_path = ctx.params.report.ground_truth
    filtered = _read(ctx.path(ctx.params.paths.filtered) / "manifest.parquet")
    if gt_path is None or filtered is None or not {"keep", "reason", "image_id"} <= set(filtered.columns):
        return None
    truth = read_json_object(ctx.path(gt_path))
    if not truth:
        return None
    # The detector + rule is what the truth measures (as filter_stats.json does): reviewers'
    # overrides (reason `reviewer`) are scored as the rule decided them, and counted apart.
    from adgen.detect.reviewed import REVIEWER, rule_decisions

    reviewed = int((filtered["reason"] == REVIEWER).sum())
    score = score_filter(rule_decisions(filtered), truth)
    if score is None:
        return None
    conf = score.confusion
    data = {
        "reviewed": reviewed,
        "measures": [
            ("images scored", score.matched),
            ("precision (kept that should be kept)", round(score.precision, 4)),
            ("recall (should be kept that were kept)", round(score.recall, 4)),
            ("reason agreement", round(score.reason_agreement, 4)),
            ("true / false positives", f"{score.true_pos} / {score.false_pos}"),
            ("false / true negatives", f"{score.false_neg} / {score.true_neg}"),
        ],
        "confusion": [[idx, *[int(v) for v in conf.loc[idx]]] for idx in conf.index],
        "confusion_header": ["expected \\ filter", *[str(c) for c in conf.columns]],
    }
    return Section("filter-truth", "Filter vs the fixture site's ground truth", "filter_truth.html", data)


# -- strip and pose quality, worst cases first ---------------------------------------------------------------
def quality(ctx: Context) -> Section | None:
    from adgen.report.quality import pose_quality, strip_quality

    rp, photos = ctx.params.report, ctx.photos
    assert photos is not None
    parts = [
        {"title": title, **part}
        for title, part in (
            ("Strip: the cut-outs", strip_quality(ctx.params, photos, rp.thumbnails, rp.thumb_px)),
            (
                "Pose: the keypoints of kept people",
                pose_quality(ctx.params, photos, rp.thumbnails, rp.thumb_px),
            ),
        )
        if part is not None
    ]
    return Section("quality", "Strip and pose quality", "quality.html", {"parts": parts}) if parts else None


# -- human review: the decisions reviewers changed ------------------------------------------------------
def reviewed(ctx: Context) -> Section | None:
    """How many filter decisions reviewers changed (adgen.review), each linking to its photo's page."""
    filtered = _read(ctx.path(ctx.params.paths.filtered) / "manifest.parquet")
    if filtered is None or not {"reason", "rule_keep", "image_id"} <= set(filtered.columns):
        return None
    mine = filtered[filtered["reason"] == "reviewer"]
    if mine.empty:
        return None
    changed = mine[_kept(mine) != mine["rule_keep"].fillna(False).astype(bool)]
    rows = []
    for rec in changed.sort_values("image_id").to_dict("records"):
        rule = f"{'kept' if bool(rec['rule_keep']) else 'rejected'} ({rec.get('rule_reason')})"
        rows.append({"image_id": rec["image_id"], "rule": rule, "now": "kept" if bool(rec["keep"]) else "rejected",
                     "note": rec.get("review_note") or "", "by": rec.get("review_by") or ""})  # fmt: skip
    grids = [ctx.grid(changed[_kept(changed)], "member", "kept by a reviewer"),
             ctx.grid(changed[~_kept(changed)], "member", "rejected by a reviewer")]  # fmt: skip
    pages = ctx.photos.wanted if ctx.photos is not None else set()
    for r in rows:  # a link only where the photo has a page (ids are checked when it is made)
        r["page"] = r["image_id"] in pages
    data = {"applied": len(mine), "changed": len(changed), "rows": rows, "grids": [g for g in grids if g]}
    return Section("review", "Decisions reviewers changed", "review.html", data)


# -- contact sheets: thumbnails that open each photo's page --------------------------------------------
def contact_sheets(ctx: Context) -> Section | None:
    p = ctx.params.paths
    grids = []
    raw = _read(ctx.path(p.raw) / "manifest.parquet")
    if raw is not None:
        grids.append(ctx.grid(raw, "member", "crawled photos"))
    filtered = _read(ctx.path(p.filtered) / "manifest.parquet")
    if filtered is not None and {"keep", "member"} <= set(filtered.columns):
        keep = _kept(filtered)
        grids.append(ctx.grid(filtered[keep], "member", "filter: kept"))
        if "reason" in filtered.columns:
            for reason, group in filtered[~keep].groupby("reason"):
                grids.append(ctx.grid(group, "member", f"filter: rejected, {reason}"))
    stripped = _read(ctx.path(p.stripped) / "manifest.parquet")
    if stripped is not None:
        kept = stripped[_kept(stripped)] if "keep" in stripped else stripped
        for column, caption in (
            ("person_white", "strip: people on white"),
            ("person_rgba", "strip: people cut out (alpha over a checkerboard)"),
            ("bag_rgba", "strip: bag cut-outs (alpha over a checkerboard)"),
        ):
            grids.append(ctx.grid(kept, column, caption))
    grids = [g for g in grids if g]
    return Section("sheets", "Contact sheets", "sheets.html", {"grids": grids}) if grids else None


# -- training --------------------------------------------------------------------------------------------
def _newest(files: list[Path]) -> Path | None:
    return max(files, key=lambda f: f.stat().st_mtime) if files else None


def models() -> list:
    """The report's model panels, one per declared model (adgen/models/<name>/spec.py)."""
    from adgen.models.registry import models as declared

    return list(declared().values())


def _phases(ctx: Context, spec: Any, csv: Path) -> list:
    """Phase starts of the newest run of `spec` (its stats.jsonl), keyed like the loss CSV's steps."""
    if not spec.phase_column:
        return []
    try:
        step_key = csv.open().readline().strip().split(",")[0] or "step"
    except OSError:
        return []
    stats = _newest(sorted(ctx.path(ctx.params.paths.models).glob(f"{spec.name}/*/stats.jsonl")))
    return run_phases(stats, step_key, spec.phase_column) if stats else []


_STEP = re.compile(r"^(?:fakes|step)-0*(\d+)$")  # fakes-<step>.png (StyleGAN2, DCGAN), step-<step>.png


def step_label(grid: Path) -> str:
    """`step 1200` for a grid named by its training step, else the file's name (`samples-warp2`)."""
    m = _STEP.match(grid.stem)
    return f"step {int(m.group(1))}" if m else grid.stem


def by_step(grids: list[Path]) -> list[Path]:
    """Sample grids oldest first: by the step in their names, the others by when they were written."""

    def key(g: Path) -> tuple:
        m = _STEP.match(g.stem)
        return (0, int(m.group(1)), "") if m else (1, g.stat().st_mtime, g.name)

    return sorted(grids, key=key)


def evenly_spaced(items: list[Path], k: int) -> list[Path]:
    """`k` items spread evenly over `items`, the first and the last always among them."""
    if len(items) <= k:
        return items
    if k == 1:
        return items[-1:]
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)]


def shown_width(image: Path, min_height: int = 192, max_width: int = 1200) -> int | None:
    """A width (px) that shows a small image (a 32 px GIF strip) scaled by a whole factor to at least
    `min_height` tall, never wider than the page; None if it can't be read."""
    try:
        with Image.open(image) as im:
            w, h = im.size
    except (OSError, ValueError):
        return None
    scale = max(1, min(max_width // max(w, 1), -(-min_height // max(h, 1))))
    return w * scale


def _step_curve(ctx: Context, metrics_dir: Path, model: str, label: str) -> dict[str, Any] | None:
    """A sampler's quality against its step count (`adgen evaluate pidm`: <model>_steps.json and its
    grid) as a figure whose caption gives each count's numbers; None before that command has run."""
    grid = metrics_dir / f"{model}_steps_grid.png"
    curve = read_json_object(metrics_dir / f"{model}_steps.json") or {}
    if not grid.is_file() or not isinstance(curve.get("steps"), dict):
        return None
    dest = ctx.assets / grid.name
    shutil.copyfile(grid, dest)
    ref = curve.get("reference_steps")
    rows = [
        f"{n} steps: SSIM {v.get('ssim', float('nan')):.3f}, |Δ| to {ref} {v.get('mad_to_reference', 0):.2f}, "
        f"{v.get('images_per_s', 0):.3g} img/s"
        for n, v in sorted(curve["steps"].items(), key=lambda kv: -int(kv[0]) if kv[0].isdigit() else 0)
        if isinstance(v, dict)
    ]
    caption = (
        f"{label} against the DDIM step count ({curve.get('pairs')} held-out pairs; " + "; ".join(rows) + ")"
    )
    return {"src": ctx.rel(dest), "caption": caption, "width": shown_width(dest)}


def _model_panel(ctx: Context, spec: Any) -> dict[str, Any] | None:
    p = ctx.params.paths
    metrics_dir = ctx.path(p.metrics)
    model = spec.name
    panel: dict[str, Any] = {"name": model, "label": spec.label, "loss": None, "metrics": [],
                             "animations": [], "samples": None}  # fmt: skip
    csv = metrics_dir / f"{model}_loss.csv"
    if csv.exists():
        out = ctx.assets / f"{model}-loss.png"
        plot = loss_curves(
            csv, out, f"{spec.label} losses", spec.loss_columns, _phases(ctx, spec, csv), spec.phase_column
        )
        if plot is not None:
            panel["loss"] = ctx.rel(out)
            notes = ["smoothed (EMA), raw faint"] + (["log scale"] if plot.log_scale else [])
            notes += [f"{len(plot.phases)} phase marker(s)"] if plot.phases else []
            panel["loss_note"] = ", ".join(notes)
    # numbers in <model>.json (the DVC metric), run dir / checkpoint / notes in <model>.info.json
    final = {
        **(read_json_object(metrics_dir / f"{model}.json") or {}),
        **(read_json_object(metrics_dir / f"{model}.info.json") or {}),
    }
    panel["metrics"] = [(k, v) for k, v in final.items() if isinstance(v, int | float | str | bool)]
    # an animation a model leaves in its runs (ST-GAN: the bag moving through the warps)
    gif = _newest(sorted(ctx.path(p.models).glob(f"{model}/*/**/*.gif")))
    if gif is not None:
        dest = ctx.assets / f"{model}-{gif.stem}.gif"
        shutil.copyfile(gif, dest)
        panel["animations"].append(
            {
                "src": ctx.rel(dest),
                "caption": f"{spec.label}: {gif.stem} ({gif.parent.name})",
                "width": shown_width(dest),
            }  # fmt: skip
        )
    curve = _step_curve(ctx, metrics_dir, model, spec.label)
    if curve is not None:
        panel["animations"].append(curve)
    grids = [g for pattern in spec.sample_globs for g in ctx.path(p.models).glob(f"{model}/*/{pattern}")]
    newest = _newest(sorted(set(grids)))
    if newest is not None:
        run = next(parent for parent in newest.parents if parent.parent.parent == ctx.path(p.models))
        over_steps = evenly_spaced(
            by_step([g for g in set(grids) if run in g.parents]), ctx.params.report.sample_grids
        )
        panel["samples"] = {"run": run.name, "grids": []}
        for i, grid in enumerate(over_steps):
            dest = ctx.assets / f"{model}-samples-{i}{grid.suffix}"
            shutil.copyfile(grid, dest)
            panel["samples"]["grids"].append({"src": ctx.rel(dest), "caption": step_label(grid)})
    has = panel["loss"] or panel["metrics"] or panel["animations"] or panel["samples"]
    return panel if has else None


def training(ctx: Context) -> Section | None:
    panels = [panel for spec in models() if (panel := _model_panel(ctx, spec))]
    return Section("training", "Training", "training.html", {"models": panels}) if panels else None


# -- generated ads ----------------------------------------------------------------------------------------
GENERATED = Path("data/generated")  # `adgen generate -o` folders of the generate stage / generate-ads flow


def chains(compositor: str) -> dict[str, str]:
    """The chains of `adgen generate --approach best` (seed-<s>/approach-<a>/ad.png) by approach id,
    from the model declarations: "StyleGAN2 person → GFLA pose → ST-GAN bag"."""
    from adgen.models.registry import chains as every_chain
    from adgen.models.registry import models

    out = {}
    for a, approach in every_chain().items():  # the declared approaches, then combined chains (dcgan-gfla)
        first, *rest = approach.chain
        steps = [f"{first.label} person" + (" in the pose" if approach.pose_controlled else "")]
        steps += [f"{spec.label} pose" for spec in rest]
        if compositor in models():
            steps.append(f"{models()[compositor].label} bag")
        out[a] = " → ".join(steps)
    return out


def generated(ctx: Context) -> Section | None:
    """The newest generated ads (`<folder>/<seed>/ad.png`), with each chain's intermediate steps."""
    ads = sorted(ctx.path(GENERATED).glob("**/ad.png"), key=lambda f: f.stat().st_mtime, reverse=True)
    if not ads:
        return None
    figures = []
    compositor = ctx.params.generate.compositor
    labels = chains(compositor)
    by_approach = {a: [f for f in ads if f.parent.name == f"approach-{a}"] for a in labels}
    if any(by_approach.values()):  # `--approach best`: each chain's ads side by side
        for a, label in labels.items():
            figures.append(ctx.sheet(f"generated-approach-{a}", by_approach[a], f"approach {a}: {label}"))
    else:
        bag = next((f"{s.label} bag" for s in models() if s.name == compositor), "bag")
        figures.append(ctx.sheet("generated-ads", ads, f"generated ads (new person in the pose, {bag})"))
    steps = [p for p in (ads[0].parent / n for n in ("person.png", "reposed.png", "ad.png")) if p.exists()]
    figures.append(ctx.sheet("generated-chain", steps, f"one chain, step by step ({ads[0].parent.name})"))
    return Section("generated", "Generated ads", "generated.html", {"figures": [f for f in figures if f]})


# -- generators compared ----------------------------------------------------------------------------------
def compared(ctx: Context) -> Section | None:
    """`adgen evaluate compare`: every generator on the same poses and seeds, table and grid."""
    from adgen.report.compare import section_html

    fragment = section_html(ctx.path(ctx.params.paths.metrics), ctx.out, ctx.assets)
    if fragment is None:
        return None
    # the fragment is made of adgen.pages.fragments' escaped macros only
    return Section("compare", "Generators compared", "compare.html", {"fragment": Markup(fragment)})


def composites(ctx: Context) -> Section | None:
    """`adgen evaluate composites`: the compositors (ST-GAN, SF-GAN) on the same people, bags and seeds."""
    from adgen.models.registry import with_role
    from adgen.models.roles import Compositor
    from adgen.report.composites import section_html

    fragment = section_html(ctx.path(ctx.params.paths.metrics), ctx.out, ctx.assets)
    if fragment is None:
        return None
    # the fragment is made of adgen.pages.fragments' escaped macros only
    return Section(
        "composites",
        "Bags composited: " + " vs ".join(spec.label for spec in with_role(Compositor).values()),
        "compare.html",
        {"fragment": Markup(fragment)},
    )


# -- metrics files ---------------------------------------------------------------------------------------
def metrics_files(ctx: Context) -> Section | None:
    """Every other JSON metric the stages wrote (crawl stats, filter stats, evaluation).

    The metrics dir holds numbers-only copies of the crawl and filter stats (`crawl.json`,
    `filter.json`) and the models' panels above; those are not shown twice, and each `<name>.json`
    is shown with its `<name>.info.json` strings.
    """
    p = ctx.params.paths
    metrics_dir = ctx.path(p.metrics)
    shown_elsewhere = {
        *(spec.name for spec in models()),
        "crawl",
        "filter",
        "datasets",
        "compare",
        "composites",
        "generate",
    }
    found = [
        ctx.path(p.raw) / "crawl_stats.json",
        ctx.path(p.filtered) / "filter_stats.json",
        *(
            f
            for f in sorted(metrics_dir.glob("*.json"))
            if not f.name.endswith(".info.json") and f.stem not in shown_elsewhere
        ),
    ]
    files = []
    for path in found:
        data = read_json_object(path)
        if path.parent == metrics_dir:
            data = {**(data or {}), **(read_json_object(path.with_suffix(".info.json")) or {})}
        flat = [(k, v) for k, v in (data or {}).items() if isinstance(v, int | float | str | bool)]
        if flat:
            name = (
                path.relative_to(ctx.params.root).as_posix()
                if path.is_relative_to(ctx.params.root)
                else str(path)
            )
            files.append({"name": name, "rows": flat})
    return Section("metrics", "Metrics files", "metrics.html", {"files": files}) if files else None


SECTIONS = (
    dataset_version,
    stage_counts,
    filter_scores,
    quality,
    reviewed,
    contact_sheets,
    training,
    compared,
    composites,
    generated,
    metrics_files,
)
