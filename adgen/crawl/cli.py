"""`adgen crawl [--site NAME ...] [--max-images N]`: crawl the stock sites into data/raw."""

from __future__ import annotations

import typer

from adgen.clikit import CliGroups, params


def register(groups: CliGroups) -> None:
    groups.root.command("crawl")(crawl_command)


def crawl_command(
    ctx: typer.Context,
    site: list[str] = typer.Option(
        None, "--site", help="site key from crawl.sites (repeatable); default: all enabled"
    ),
    max_images: int = typer.Option(None, "--max-images", min=1, help="new images per site for this run"),
    node: str = typer.Option(
        None, "--node", help="run one node of the distributed crawl (crawl.frontier) under this name"
    ),
    merge_nodes: bool = typer.Option(
        False, "--merge-nodes", help="fold every finished node's photos and journals into paths.raw"
    ),
) -> None:
    """Crawl stock sites with Scrapy (one process per site) into paths.raw; a re-run is a refresh."""
    from adgen.crawl.stage import CrawlInterrupted, crawl
    from adgen.progress import bar, console

    p = params(ctx)
    if node is not None or merge_nodes:
        _cluster(p, node, merge_nodes, site, max_images)
        return
    with bar() as progress:
        show = _progress_view(progress)
        try:
            summary, stopped = crawl(p, sites=site or None, max_images=max_images, on_progress=show), None
        except CrawlInterrupted as exc:
            summary, stopped = exc.summary, exc
    console.print(
        f"crawl: {summary.new_images} new images ({summary.near_duplicates} near-duplicates), "
        f"{summary.new_rejects} new rejects, manifest {summary.manifest_rows} rows, {summary.elapsed_s:.1f} s"
    )
    for name, s in summary.sites.items():
        console.print(
            f"  {name}: {s['requests']} requests, {s['images_stored']} stored, {s['rejected']} rejected"
            f" ({s['finish_reason']})"
        )
        if s["images_stored"] == 0 and s["rejected"]:
            console.print(
                f"  [yellow]{name}: nothing stored; the reasons are in {p.paths.raw}/rejects.parquet"
            )
    if stopped is not None:
        console.print(
            f"[yellow]{stopped}: what was stored is merged; run `adgen crawl` again to resume",
            soft_wrap=True,  # one line, also in logs
        )
        raise typer.Exit(130)


def _progress_view(progress):
    """A progress bar per site, fed the stage's SiteProgress list."""
    tasks: dict[str, int] = {}

    def show(items) -> None:
        for item in items:
            if item.site not in tasks:
                tasks[item.site] = progress.add_task(item.site, total=item.max_images)
            progress.update(
                tasks[item.site],
                completed=item.images + item.rejects,
                description=f"{item.site}: {item.images} stored, {item.rejects} rejected"
                + (" (done)" if item.done else ""),
            )

    return show


def _cluster(p, node: str | None, merge_nodes: bool, site: list[str] | None, max_images: int | None) -> None:
    from adgen.crawl import nodes
    from adgen.errors import UserError
    from adgen.progress import console

    if node is not None and merge_nodes:
        raise UserError("--node and --merge-nodes: one at a time (merge once every node has finished)")
    if node is not None:
        from adgen.progress import bar

        with bar() as progress:
            stats = nodes.crawl_node(
                p, node, sites=site or None, max_images=max_images, on_progress=_progress_view(progress)
            )
        console.print(f"node {node}: done; its photos wait for `adgen crawl --merge-nodes`")
        for line in nodes.node_summary_lines(stats):
            console.print(line, soft_wrap=True)
        return
    summary = nodes.merge_nodes(p)
    console.print(
        f"crawl (nodes merged): {summary.new_images} new images ({summary.near_duplicates} near-duplicates), "
        f"{summary.new_rejects} new rejects, manifest {summary.manifest_rows} rows"
    )
    for line in nodes.node_summary_lines(summary.sites):
        console.print(line, soft_wrap=True)
