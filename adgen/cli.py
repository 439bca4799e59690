"""`adgen`: the one command line every layer calls (users, dvc.yaml, Prefect flows).

Areas register their own commands (see `adgen.clikit`); this file only assembles them and turns a
`UserError` into one line on stderr with exit status 2.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from adgen.clikit import CliGroups, CliState
from adgen.errors import UserError

# Each module has `register(groups: CliGroups) -> None`.
AREA_CLI_MODULES = [
    "adgen.fixtures.cli",
    "adgen.store.cli",
    "adgen.crawl.cli",
    "adgen.detect.cli",
    "adgen.matting.cli",
    "adgen.pose.cli",
    "adgen.datasets.cli",
    "adgen.models.cli",  # every declared model: train/sample commands and its own (adgen/models/*/spec.py)
    "adgen.generate.cli",
    "adgen.compare.cli",
    "adgen.metrics.cli",
    "adgen.report.cli",
    "adgen.review.cli",
    "adgen.orchestrate.cli",
]

app = typer.Typer(
    name="adgen",
    help="AdGen pipeline: crawl, filter, strip, build datasets, train GANs, generate ads.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# `adgen train/sample/evaluate …`: made here once, each area adds its commands through `register`
groups = CliGroups.under(app)
config_app = typer.Typer(help="Inspect params.yaml.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"adgen {version('adgen')}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    params: Path = typer.Option(Path("params.yaml"), "--params", help="params file (default ./params.yaml)"),
    _version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    ctx.obj = CliState(params, fixture_masks=_fixture_masks)


def _fixture_masks(truth: dict, seed: int | None = None) -> dict:
    """The fixture site's exact masks of one /ground-truth.json entry (imported when a scorer asks)."""
    from adgen.fixtures.site.synth import truth_masks

    return truth_masks(truth, seed)


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    preset: list[str] = typer.Option(
        [], "--preset", help="MODEL=PRESET: show train.MODEL as `adgen train MODEL --preset PRESET` runs it"
    ),
) -> None:
    """Print the values each stage will actually use (presets applied), each with its layer:
    default, preset <name>, params.yaml or CLI."""
    from adgen.clikit import params
    from adgen.config.layers import layered, render
    from adgen.models.cli import train_layers
    from adgen.models.registry import models

    chosen: dict[str, str] = {}
    for item in preset:
        model, sep, name = item.partition("=")
        if not sep or not name:
            raise UserError(f"--preset {item!r}: expected MODEL=PRESET, e.g. stgan=demo")
        if model not in models():
            raise UserError(
                f"--preset {item!r}: unknown model {model!r}; choose one of: {', '.join(models())}"
            )
        chosen[model] = name
    p = params(ctx)
    tree = {key: layered(getattr(p, key)) for key in type(p).model_fields if key != "train"}
    tree["train"] = train_layers(p, chosen)
    print("\n".join(render(tree)))


def _register_areas() -> None:
    for name in AREA_CLI_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):  # area not built yet
                continue
            raise
        module.register(groups)


_register_areas()


def _is_click_exception(exc: BaseException) -> bool:
    """True for click's own exceptions and for any copy of click a typer release vendors.

    typer 0.29 ships click as `typer._click`, whose exceptions are not `click.ClickException`:
    matching by class name (plus the two attributes we use) covers both and any later vendoring.
    """
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__) and hasattr(exc, "show")


def main() -> None:
    try:
        rv = app(standalone_mode=False)
    except UserError as exc:
        print(f"adgen: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except typer.Abort:
        print("adgen: aborted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        if not _is_click_exception(exc):
            raise
        exc.show()  # click's usual short usage message (or, for a bare `adgen`, the help)
        sys.exit(getattr(exc, "exit_code", 2))
    if isinstance(rv, int):
        sys.exit(rv)


if __name__ == "__main__":
    main()
