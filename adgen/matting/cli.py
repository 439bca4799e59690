"""`adgen strip`: thin shell over adgen.matting.strip."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params, state


def register(groups: CliGroups) -> None:
    groups.root.command("strip")(strip_command)


def strip_command(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="re-cut every photo even if nothing changed"),
    ground_truth: Path | None = typer.Option(
        None,
        "--ground-truth",
        help="fixture site's ground-truth.json: print mask IoU against its exact masks (or strip.ground_truth)",
    ),
) -> None:
    """Cut kept people and their bags out of their photos (params strip.*) -> data/stripped/."""
    from adgen.matting.strip import strip

    p = params(ctx)
    r = strip(p, force=force)
    ground_truth = ground_truth or (p.path(p.strip.ground_truth) if p.strip.ground_truth else None)
    if ground_truth is not None:
        out = r.manifest_path.parent / "fixture_scores.json"
        report_fixture_iou(p, ground_truth, out, state(ctx).fixture_masks)
    if r.skipped:
        print(f"strip: up to date ({r.n_input} photos; inputs unchanged), nothing to do")
        return
    print(
        f"strip: {r.n_kept} of {r.n_input} photos cut out ({r.n_dropped} dropped, {r.n_reused} unchanged) "
        f"with backend {p.strip.backend} -> {r.manifest_path}"
    )
    import pandas as pd

    reasons = pd.read_parquet(r.manifest_path, columns=["reason"])["reason"].value_counts()
    for reason, n in reasons.items():
        print(f"  {reason:<24} {n}")


def report_fixture_iou(p, ground_truth: Path, out: Path, render_masks) -> None:
    """Mask IoU against the fixture site's truth; `render_masks(entry, seed)` is the site's renderer,
    handed in by the root CLI (adgen/cli.py), so strip never imports the stand-ins."""
    from adgen import atomic, manifest
    from adgen.matting.evaluate import load_ground_truth, score_against_fixture

    if render_masks is None:
        raise RuntimeError("--ground-truth: no fixture mask renderer; adgen.cli hands it in (CliState)")
    truth, seed = load_ground_truth(ground_truth)
    s = score_against_fixture(p, truth, lambda t: render_masks(t, seed))
    manifest.write(s.per_image, out.with_suffix(".parquet"))  # per cut-out: the report's worst first
    atomic.write_json(
        out, {"n": s.n, "person_iou": s.person_iou, "bag_iou": s.bag_iou, "backend": p.strip.backend}
    )
    print(
        f"strip vs fixture truth ({s.n} people): mask IoU person+bag {s.person_iou:.3f}, bag {s.bag_iou:.3f}"
    )
