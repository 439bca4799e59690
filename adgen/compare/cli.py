"""`adgen evaluate compare-set` (build the evaluation set) and `adgen evaluate compare`."""

from __future__ import annotations

import typer

from adgen.clikit import CliGroups, params


def compare_set_command(ctx: typer.Context) -> None:
    """Build the fixed evaluation set (K target poses + real photos) from the GFLA held-out split."""
    from adgen.compare.evalset import build_eval_set

    p = params(ctx)
    cp = p.compare
    ev = build_eval_set(
        p.path(p.paths.datasets) / "gfla", p.path(cp.eval_set), cp.poses, cp.min_keypoints, cp.seed
    )
    origins = {o: sum(t.origin == o for t in ev.targets) for o in ("deepfashion", "curated")}
    print(
        f"{len(ev.targets)} target poses ({origins['deepfashion']} DeepFashion, {origins['curated']} curated), "
        f"{len(ev.paired)} with a held-out pair → {ev.root}"
    )


def compare_command(ctx: typer.Context) -> None:
    """Every trained generator on the same target poses and seeds: IS, FID, pose MSE, full body, images/s,
    and each pose transfer's SSIM, LPIPS, FID against the real target photos of held-out pairs."""
    from adgen.compare.generators import LABELS
    from adgen.compare.ranking import text_table
    from adgen.compare.run import run_comparison
    from adgen.generate.best import best_approach

    files = run_comparison(params(ctx))
    generators = files.values["generators"]
    table = text_table(generators, LABELS)
    if table:
        print(table)
    for name, g in generators.items():
        if g["status"] != "scored":
            print(
                f"{LABELS.get(name, name)}: {g['status']}"
                + (f" ({g['command']})" if g.get("command") else f" ({g['reason']})")
            )
    if files.values.get("pairs_skipped"):
        print(f"pair scores skipped: {files.values['pairs_skipped']}")
    best = best_approach(files.metrics)
    print(f"→ {files.metrics}, {files.grid}" + (f"; best approach: {best}" if best else ""))


def register(groups: CliGroups) -> None:
    groups.evaluate.command("compare-set")(compare_set_command)
    groups.evaluate.command("compare")(compare_command)
