"""`adgen store migrate` and `adgen store verify`."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params

store_app = typer.Typer(
    help="The image store: WebDataset tar shards + a Parquet index.", no_args_is_help=True
)


def register(groups: CliGroups) -> None:
    groups.root.add_typer(store_app, name="store")


@store_app.command("migrate")
def migrate_command(
    ctx: typer.Context,
    keep_files: bool = typer.Option(False, "--keep-files", help="leave the per-file images in place"),
) -> None:
    """Pack the per-file raw images (paths.raw/images) and user bags (datasets.user_bags/images)
    into shards and point their tables at them."""
    from adgen.store.migrate import migrate_raw, migrate_user_bags

    p = params(ctx)
    _report("store migrate", migrate_raw(p, keep_files=keep_files))
    bags = migrate_user_bags(p, keep_files=keep_files)
    if bags.files or bags.new_shards:
        _report("store migrate (user bags)", bags)


def _report(what: str, r) -> None:
    from adgen.progress import console

    console.print(
        f"{what}: {r.files} files, {r.packed} packed into {len(r.new_shards)} new shards, "
        f"{r.already} already in the store, table {r.manifest_rows} rows, {r.removed} files removed"
    )
    if r.missing:
        console.print(
            f"[yellow]{len(r.missing)} manifest rows name a file that was not there (e.g. {r.missing[0]}); "
            "their shard/member are empty",
            soft_wrap=True,
        )


@store_app.command("verify")
def verify_command(
    ctx: typer.Context,
    store: list[Path] = typer.Option(
        None, "--store", help="a store dir (repeatable); default: every stage's"
    ),
) -> None:
    """Check every member's bytes against the index and, for image stores, against its id."""
    from adgen.progress import console
    from adgen.store import locations
    from adgen.store.verify import verify

    roots = store or locations.all_stores(params(ctx))
    if not roots:
        console.print("store verify: no store found under the params' data dirs")
        return
    bad = 0
    for root in roots:
        r = verify(root)
        for line in r.problems:
            print(f"{root}: {line}")
        for name in r.unindexed:
            console.print(f"{root}: note: shard {name} is not in the index yet (the next write adds it)")
        console.print(f"store verify: {root}: {r.shards} shards, {r.members} members, {len(r.problems)} bad")
        bad += len(r.problems)
    if bad:
        raise typer.Exit(1)
