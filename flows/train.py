"""train-<model>: reproduce one model's training stage, push its outputs, publish its metrics.

One flow function, deployed once per declared model (`train-<model>/gpu` on the `gpu` work pool,
entrypoint `flows/train.py:train_<model>`; the flow objects are made below from the registry, so a
new model needs no edit here). The training itself is the `train_<model>` stage of
dvc.yaml, so a training run by Prefect and one by `dvc repro` are the same thing; `--pull` fetches
the dataset version from the DVC remote when this checkout (e.g. on the GPU machine) lacks it, and
`--wait-for-lock` queues trainings that share one checkout. A crashed or killed training is
retried (orchestrate.train_retries) and resumes from its newest checkpoint (docs/orchestration.md,
"Resuming a training").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

from adgen import config
from adgen.orchestrate import commands, dag, presets, versions
from flows.common import StoppableTaskRunner, dvc_push, retry_transient, run_logged, stop_on_signals

# DVC's own exit status is the same whatever its stage command did: its last line tells a trainer
# that refused its input (`adgen` exits 2 on a UserError: bad params, no dataset) from one that
# crashed or was killed.
_REFUSED = re.compile(r"failed to reproduce .*exited with 2\b", re.DOTALL)


@task(name="train-stage", retry_condition_fn=retry_transient)
def run_training_stage(stage: str) -> str:
    """`dvc repro --pull` the training stage. A crashed or killed attempt is retried (params.yaml
    orchestrate.train_retries) in the same run dir, which DVC keeps (`persist`), so the trainer
    resumes from its newest valid checkpoint and says "resumed from checkpoint-… at step N"; a
    refused one is not retried."""
    try:
        return run_logged(commands.dvc("--wait-for-lock", "repro", "--pull", stage))
    except commands.CommandFailed as exc:
        if _REFUSED.search(str(exc)):
            raise commands.CommandFailed(str(exc), returncode=commands.USER_ERROR_EXIT) from None
        raise


@task(name="apply-preset")
def apply_preset(name: str) -> None:
    presets.apply_preset(Path.cwd() / "params.yaml", name)


@task(name="publish-metrics")
def publish_metrics(model: str) -> dict:
    """The model's final metrics (`<paths.metrics>/<model>.json`, numbers; `<model>.info.json`,
    run dir and checkpoint) as a Prefect table artifact."""
    params = config.load(Path.cwd() / "params.yaml")
    path = params.path(params.paths.metrics) / f"{model}.json"
    if not path.exists():
        get_run_logger().warning("%s: no final metrics written by the training stage", path)
        return {}
    metrics = json.loads(path.read_text())
    info = path.with_name(f"{model}.info.json")
    if info.exists():
        metrics.update(json.loads(info.read_text()))
    flat = {k: v for k, v in metrics.items() if isinstance(v, int | float | str | bool)}
    create_table_artifact(
        key=f"{model}-metrics",
        table=[{"metric": k, "value": v} for k, v in flat.items()],
        description=f"Final metrics of the {model} training run",
    )
    return metrics


@task(name="commit-training")
def commit_training(model: str, pushed: bool, base: str | None = None) -> bool:
    """Commit the training stage's dvc.lock entry and metrics with the params.yaml and dvc.yaml it
    ran with, and nothing else of the checkout (another run's entries, a stopped run's deletions);
    when pushed, only once the remote has its outputs, then proven to restore from a fresh clone.
    False when unchanged."""
    from adgen.orchestrate import restore

    stage = dag.training_stage(model)
    made = versions.commit_pipeline_state(
        Path.cwd(), f"Train {model}", [stage], require_remote=pushed, base=base
    )
    if made and pushed:
        commit = restore.verify(Path.cwd(), "HEAD", stages=[stage])
        get_run_logger().info(
            "commit %s restores from a fresh clone (dvc pull + dvc status clean)", commit[:10]
        )
    return made


PROJECT = Path(__file__).resolve().parents[1]
# The choices the Prefect UI offers: the declared models and the shipped presets (presets/*.yaml).
ModelName = Literal[tuple(dag.models())]  # type: ignore[valid-type]
PresetName = Literal[tuple(presets.available(PROJECT))]  # type: ignore[valid-type]


@flow(name="train", log_prints=True, task_runner=StoppableTaskRunner())
def train(model: ModelName = "stgan", preset: PresetName | None = None) -> dict:
    """Train a declared model (adgen/models/<name>/spec.py) through its DVC stage.

    Args:
        model: the model to train: its `train_<model>` stage of dvc.yaml
        preset: a params preset (presets/NAME.yaml) applied before training; none keeps params.yaml
    """
    with stop_on_signals():  # SIGTERM/SIGINT end `dvc repro` (and the training under it) at once
        return _train(model, preset)


def _train(model: str, preset: str | None) -> dict:
    stage = dag.training_stage(model)
    root = Path.cwd()
    base = versions.head(root)  # a run clone publishes its commit from here (adgen/orchestrate/runclone.py)
    if stage not in dag.stages(root):
        raise RuntimeError(f"{root}/dvc.yaml has no {stage} stage yet")
    if preset:
        apply_preset(preset)
    params = config.load(root / "params.yaml")
    opts = params.orchestrate
    run_training_stage.with_options(retries=opts.train_retries, retry_delay_seconds=opts.train_retry_delay_s)(
        stage
    )
    if params.orchestrate.push:
        dvc_push([stage])
    metrics = publish_metrics(model)
    commit_training(model, params.orchestrate.push, base)
    return metrics


def _model_flows() -> dict[str, object]:
    """`train_<model>`: the same flow under the name `train-<model>`, one per declared model."""
    return {f"train_{model}": train.with_options(name=f"train-{model}") for model in dag.models()}


# The per-model deployments' entrypoints (`flows/train.py:train_<model>` in prefect.yaml).
globals().update(_model_flows())
