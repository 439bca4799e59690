"""`adgen filter`: thin shell over adgen.detect."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params, parse_shard


def register(groups: CliGroups) -> None:
    groups.root.command("filter")(filter_command)


def filter_command(
    ctx: typer.Context,
    shard: str | None = typer.Option(
        None, "--shard", help="i/n: detect only shard i of n (0-based); merge later with --merge"
    ),
    merge: bool = typer.Option(
        False, "--merge", help="only merge the shards' decisions into data/filtered (no detection)"
    ),
    ground_truth: Path | None = typer.Option(
        None,
        "--ground-truth",
        help="ground-truth JSON (fixture site's /ground-truth.json): adds precision/recall",
    ),
) -> None:
    """Keep photos with one full-body person and a bag (TF Hub detector, params detect.*)."""
    from adgen.detect.stage import run_filter

    p = params(ctx)
    i, n = parse_shard(shard)
    if merge and shard is not None:
        from adgen.errors import UserError

        raise UserError("--merge and --shard: pick one (detect a shard, or merge all shards)")
    result = run_filter(
        p,
        (i, n),
        detect=not merge,
        merge=merge or shard is None,
        ground_truth=ground_truth,
    )
    if result.up_to_date:
        print(f"filter: up to date ({result.total} images; inputs unchanged), nothing to do")
    elif not result.merged:
        print(
            f"filter: shard {i}/{n}: detected {result.processed} images; "
            f"{result.missing} of {result.total} still undecided (other shards), then `adgen filter --merge`"
        )
    if result.stats and (result.merged or result.up_to_date):
        print(summary(result.stats))


def summary(stats: dict) -> str:
    """Kept/rejected counts by reason, and precision/recall when ground truth was given."""
    lines = [f"filter: kept {stats['kept']} of {stats['total']}"]
    lines += [f"  {reason:<20} {n}" for reason, n in stats["reasons"].items() if n]
    gt = stats.get("ground_truth")
    if gt:
        lines.append(
            f"  vs ground truth ({gt['matched']} images): precision {gt['precision']} recall {gt['recall']}"
            + (
                f" reason agreement {gt['reason_agreement']}"
                if gt.get("reason_agreement") is not None
                else ""
            )
        )
    return "\n".join(lines)
