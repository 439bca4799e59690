"""`adgen build-datasets` and `adgen bags import`: thin shells over adgen.datasets and adgen.bags."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params

bags_app = typer.Typer(help="User bag cut-outs for the ST-GAN bag set.", no_args_is_help=True)


def register(groups: CliGroups) -> None:
    groups.root.command("build-datasets")(build_datasets_command)
    bags_app.command("import")(bags_import_command)
    groups.root.add_typer(bags_app, name="bags")


def build_datasets_command(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="rebuild even if nothing changed"),
) -> None:
    """Build the ST-GAN, StyleGAN2 (NVlabs zip) and GFLA datasets (params datasets.*) -> data/datasets/."""
    from adgen.datasets.build import build_datasets

    r = build_datasets(params(ctx), force=force)
    print(f"build-datasets: {'up to date, nothing to do' if r.skipped else 'built'} -> {r.out_dir}")
    for name, counts in r.counts.items():
        print(f"  {name:<10} " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def bags_import_command(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="folder of bag PNGs whose alpha channel is the bag's mask"),
    cutout: bool = typer.Option(False, "--cutout", help="cut out PNGs without a usable alpha with GrabCut"),
) -> None:
    """Add your own bag cut-outs (PNG with alpha) to the bag set used by the ST-GAN dataset."""
    from adgen.bags.importer import import_bags

    r = import_bags(params(ctx), folder, cutout=cutout)
    print(
        f"bags import: {r.added} added, {r.already_present} already present, {r.total} user bags -> {r.table}"
    )
