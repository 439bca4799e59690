"""`adgen strip`: thin shell over adgen.matting.strip."""

from __future__ import annotations

import typer

from adgen.clikit import CliGroups, params


def register(groups: CliGroups) -> None:
    groups.root.command("strip")(strip_command)


def strip_command(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="re-cut every photo even if nothing changed"),
) -> None:
    """Cut kept people and their bags out of their photos (params strip.*) -> data/stripped/."""
    from adgen.matting.strip import strip

    p = params(ctx)
    r = strip(p, force=force)
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
