"""`adgen train NAME` and `adgen sample NAME` for every declared model, derived from the registry.

One train command shape for all models (`--preset`, `--run-dir`, `--dry-run`); a model adds only
what is its own: a sample command and extra commands (e.g. `adgen composite`), both declared in
its `spec.py`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from adgen.clikit import CliGroups, params
from adgen.models import registry


def train_command(spec: registry.ModelSpec):
    """The `adgen train <spec.name>` command function."""

    def command(
        ctx: typer.Context,
        preset: str | None = typer.Option(
            None, "--preset", help=f"{' | '.join(spec.presets)} (default: train.{spec.name}.preset)"
        ),
        run_dir: Path | None = typer.Option(
            None, "--run-dir", help="run dir to use or resume (default: a new numbered one)"
        ),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="print the resolved options and every network's parameter count"
        ),
        dvc_stage: bool = typer.Option(
            False,
            "--dvc-stage",
            help="--run-dir is a DVC stage's persisted output: resume a stopped attempt with the same "
            "options, else start it over (adgen/training/stagerun.py)",
        ),
    ) -> None:
        import json

        from adgen.training import jobs

        p = params(ctx)
        options = registry.resolve_options(spec, p, preset)
        if dry_run:
            shown = jobs.dry_run(spec.name, dict(spec.networks(options)), options, run_dir)
            print(json.dumps(shown, indent=2))
            return
        if hasattr(options, "device"):  # a GPU that is not here: one line before a stage output is touched
            from adgen.training.dist import resolve_device

            resolve_device(options.device, f"train.{spec.name}.device")
        if dvc_stage:
            from adgen.errors import UserError
            from adgen.training import stagerun

            if run_dir is None:
                raise UserError("--dvc-stage needs --run-dir (the stage's output)")
            if jobs.is_main_process():
                print(stagerun.prepare(run_dir, spec.name, options.model_dump(mode="json")), flush=True)
        train(spec, p, options, run_dir)
        if dvc_stage and jobs.is_main_process():
            stagerun.finish(run_dir)

    command.__doc__ = f"Train {spec.label}: {spec.summary}"
    return command


def train(spec: registry.ModelSpec, p, options, run_dir: Path | None):
    """Preflight, run dir, the model's own training: one-line errors come before any run dir exists,
    and a run that fails before its first checkpoint leaves no run dir behind."""
    from adgen.training import jobs, rundir

    models_root = p.path(p.paths.models) / spec.name
    metrics_dir = p.path(p.paths.metrics)
    if spec.preflight is not None:  # no run dir yet: `job.run_dir` is the one given, else the model's root
        spec.preflight(registry.TrainJob(p, options, Path(run_dir) if run_dir else models_root, metrics_dir))
    existed = rundir.existing(models_root, *([Path(run_dir)] if run_dir else []))
    chosen = jobs.choose_run_dir(models_root, spec.run_name(options), run_dir)
    with rundir.removed_on_failure(chosen, existed):
        result = spec.train(registry.TrainJob(p, options, chosen, metrics_dir))
    checkpoint = getattr(result, "checkpoint", None)
    if jobs.is_main_process() and checkpoint is not None:
        print(f"{spec.label}: run dir {chosen}\ncheckpoint: {checkpoint}")
    return result


def register(groups: CliGroups) -> None:
    for spec in registry.models().values():
        groups.train.command(spec.name)(train_command(spec))
        if spec.sample_command is not None:
            groups.sample.command(spec.name)(spec.sample_command)
        if spec.extra_commands is not None:
            spec.extra_commands(groups)


def train_layers(p, presets: dict[str, str] | None = None) -> dict:
    """train.<model> for every declared model as a run would use it (preset applied, paths
    resolved), each value with the layer that set it (see adgen.config.layers)."""
    from adgen.config.layers import layered

    presets = presets or {}
    tree = {}
    for name, spec in registry.models().items():
        used = registry.resolve_options(spec, p, presets.get(name))
        cli = {"preset": f"--preset {name}={presets[name]}"} if name in presets else None
        tree[name] = layered(used, getattr(p.train, name), (used.preset, spec.presets[used.preset]), cli)
    return tree
