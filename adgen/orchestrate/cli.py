"""`adgen preset …`: apply a params preset (demo: tiny CPU runs; gpu: the product's real settings)."""

from __future__ import annotations

import typer

from adgen.clikit import CliGroups, state


def register(groups: CliGroups) -> None:
    preset_app = typer.Typer(
        help="Params presets (presets/*.yaml) merged into params.yaml.", no_args_is_help=True
    )
    groups.root.add_typer(preset_app, name="preset")

    @preset_app.command("list")
    def preset_list(ctx: typer.Context) -> None:
        """List the presets found under presets/ next to the params file."""
        from adgen.orchestrate import presets

        root = state(ctx).params_path.resolve().parent
        for name in presets.available(root):
            print(name)

    @preset_app.command("apply")
    def preset_apply(
        ctx: typer.Context,
        name: str = typer.Argument(..., help="preset name (presets/NAME.yaml) or a path to a .yaml file"),
    ) -> None:
        """Merge a preset into the params file (comments kept); the result is re-read and validated before it replaces the file."""
        from adgen.orchestrate import presets

        path = state(ctx).params_path
        presets.apply_preset(path, name)
        print(f"applied preset {name!r} to {path}")

    versions_app = typer.Typer(
        help="Commits of the pipeline state (dataset versions, trainings).", no_args_is_help=True
    )
    groups.root.add_typer(versions_app, name="versions")

    @versions_app.command("verify")
    def versions_verify(
        ctx: typer.Context,
        rev: str = typer.Argument("HEAD", help="the commit (or tag, branch) to check"),
        stage: list[str] = typer.Option(
            [], "--stage", help="check only this stage and what it depends on (repeatable)"
        ),
    ) -> None:
        """Prove REV restores anywhere: a temp `git clone`, `dvc pull` from the real remote, clean `dvc status`."""
        from adgen.orchestrate import restore

        root = state(ctx).params_path.resolve().parent
        commit = restore.verify(root, rev, stages=stage)
        print(f"{commit[:10]} restores from a fresh clone: dvc pull + dvc status clean")
