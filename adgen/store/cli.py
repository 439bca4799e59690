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
    repair: bool = typer.Option(
        False,
        "--repair",
        help="restore damaged shards from the DVC cache/remote or a crawl spool; list what must be re-crawled",
    ),
) -> None:
    """Check every member's bytes against the index and, for image stores, against its id."""
    from adgen.progress import console
    from adgen.store import locations
    from adgen.store.verify import verify

    p = params(ctx)
    roots = store or locations.all_stores(p)
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
        if repair and r.problems:
            r = _repair(p, root, r)
        bad += len(r.problems)
    if bad:
        raise typer.Exit(1)


def _repair(p, root: Path, r):
    """Repair one store and verify it again; returns the new verdict."""
    from adgen.progress import console
    from adgen.store import locations, repair
    from adgen.store.verify import verify

    if r.index_unreadable:
        repair.rebuild_index(root)
        console.print(f"store repair: {root}: index rebuilt from the shards", soft_wrap=True)
        r = verify(root)
    sources: dict[str, str] = {}
    if root.resolve() == locations.raw_store(p).resolve():
        sources = _source_urls(p)
    dvc = repair.DvcCopies(p.root)
    done = repair.repair(root, r.damaged, dvc, sources)
    for line in done.restored:
        console.print(f"store repair: {root}: restored {line}", soft_wrap=True)
    for note in dvc.notes:
        console.print(f"store repair: {note}", soft_wrap=True)
    for line in done.lost:
        print(f"{root}: lost: {line}")
    if done.lost:
        what = (
            "they must be crawled again"
            if sources
            else f"remove {root} and re-run the stage that writes it with --force"
        )
        console.print(
            f"store repair: {root}: {len(done.lost)} member(s) have no good copy; {what}", soft_wrap=True
        )
    r = verify(root)
    console.print(f"store verify: {root}: after repair {len(r.problems)} bad")
    for line in r.problems:
        print(f"{root}: {line}")
    return r


def _source_urls(p) -> dict[str, str]:
    """image id → source URL, from the raw manifest (empty if it cannot be read)."""
    from adgen import manifest

    path = p.path(p.paths.raw) / "manifest.parquet"
    try:
        df = manifest.read(path)
    except Exception:  # noqa: BLE001 - the list of URLs is a courtesy; the lost members are named anyway
        return {}
    return {
        str(k): str(u) for k, u in zip(df["image_id"], df["source_url"], strict=False) if isinstance(k, str)
    }
