"""`adgen review apply FILE` and `adgen review serve`: thin shells over adgen.review."""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params

review_app = typer.Typer(
    help="Human review of filter decisions: reviewers' keep/reject overrides (review.overrides).",
    no_args_is_help=True,
)


def register(groups: CliGroups) -> None:
    groups.root.add_typer(review_app, name="review")


@review_app.command("apply")
def apply_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="overrides file downloaded from the report (JSON or YAML)"),
) -> None:
    """Merge a reviewer's choices into the project's overrides file; the next filter run applies them."""
    from adgen.review.apply import apply_file, overrides_path

    p = params(ctx)
    result = apply_file(p, file)
    print(result.summary(overrides_path(p)))


@review_app.command("serve")
def serve_command(
    ctx: typer.Context,
    port: int | None = typer.Option(None, "--port", help="port on 127.0.0.1 (default review.serve_port)"),
    verbose: bool = typer.Option(False, "--verbose", help="log every request"),
) -> None:
    """Serve the report on 127.0.0.1; choices saved on its photo pages go into the overrides file."""
    from adgen.review.serve import review_server

    server = review_server(params(ctx), port, verbose)
    print(f"review: serving the report at {server.url} (Ctrl-C stops); choices go to review.overrides")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
