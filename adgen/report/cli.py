"""`adgen report`: write report/index.html from the pipeline's outputs."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params


def register(groups: CliGroups) -> None:
    groups.root.command("report")(report_command)


def report_command(
    ctx: typer.Context,
    out: Path | None = typer.Option(None, "--out", help="report directory (default: paths.report)"),
) -> None:
    """Counts per stage, filter scores, contact sheets, loss curves, warp GIF, generated samples."""
    from adgen.report.build import build_report

    report = build_report(params(ctx), out)
    print(f"report: {report.index} ({', '.join(report.sections)})")
