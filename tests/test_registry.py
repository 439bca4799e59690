"""One declaration per model (adgen/models/<name>/spec.py), and everything derived from it agrees:
every declared model has its params section, CLI commands, dry run with parameter counts, report
panel, `train_<name>` DVC stage and `train-<name>/gpu` Prefect deployment; nothing undeclared has one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from adgen import config
from adgen.models import registry
from tests.conftest import REPO_ROOT

DECLARED = sorted(registry.models())


def _yaml(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / name).read_text()) or {}


def _train_deployments() -> dict[str, dict]:
    """prefect.yaml deployments whose entrypoint is a per-model training flow, by model."""
    prefix = "flows/train.py:train_"
    return {
        d["entrypoint"].removeprefix(prefix): d
        for d in _yaml("prefect.yaml").get("deployments") or []
        if str(d.get("entrypoint", "")).startswith(prefix)
    }


def _smallest_preset(spec: registry.ModelSpec) -> str:
    return "demo" if "demo" in spec.presets else next(iter(spec.presets))


def test_the_three_generators_are_declared() -> None:
    assert {"stgan", "stylegan2", "gfla"} <= set(DECLARED)


@pytest.mark.parametrize("name", DECLARED)
def test_a_declaration_is_complete_and_named_after_its_folder(name: str) -> None:
    spec = registry.get(name)
    assert spec.name == name and spec.summary and spec.loss_columns
    assert "preset" in spec.params_section.model_fields
    assert spec.params_section().preset in spec.presets
    for preset in spec.presets:  # every preset is valid for its section
        spec.params_section.model_validate({**spec.presets[preset], "preset": preset})
    for key in spec.path_options:
        assert key in spec.params_section.model_fields, f"{name}: path option {key!r} is no param"


def test_params_have_one_train_section_per_declared_model_and_no_other() -> None:
    params = config.from_dict({})
    assert sorted(type(params.train).model_fields) == DECLARED
    for name in DECLARED:
        assert isinstance(getattr(params.train, name), registry.get(name).params_section)
    written = _yaml("params.yaml").get("train") or {}
    assert sorted(written) == DECLARED, "params.yaml: one train.<model> section per declared model"


def test_an_undeclared_model_in_params_is_one_line_naming_it() -> None:
    from adgen.errors import UserError

    with pytest.raises(UserError, match=r"train\.nosuchgan: unknown key"):
        config.from_dict({"train": {"nosuchgan": {}}})
    with pytest.raises(UserError, match=r"orchestrate\.retrain_models: unknown model 'nosuchgan'"):
        config.from_dict({"orchestrate": {"retrain_models": ["nosuchgan"]}})


def test_a_refresh_retrains_by_default_every_declared_model_that_trains_on_the_curated_set() -> None:
    flagged = [name for name, spec in registry.models().items() if spec.retrain_on_refresh]
    assert flagged, "no declared model trains on the curated dataset"
    assert config.from_dict({}).orchestrate.retrain_models == flagged
    # a key written in params.yaml still wins
    assert config.from_dict({"orchestrate": {"retrain_models": ["dcgan"]}}).orchestrate.retrain_models == [
        "dcgan"
    ]


def test_dvc_has_a_train_stage_per_declared_model_and_no_other() -> None:
    stages = _yaml("dvc.yaml").get("stages") or {}
    trained = sorted(s.removeprefix("train_") for s in stages if s.startswith("train_"))
    assert trained == DECLARED
    for name in DECLARED:
        stage = stages[f"train_{name}"]
        assert stage["cmd"].startswith(f"adgen train {name}"), stage["cmd"]
        assert f"train.{name}" in stage.get("params", []), f"train_{name}: params should list train.{name}"


def _plotted_columns(plot: object) -> list[str] | None:
    """The `y` columns a dvc.yaml plots entry declares for a CSV (None when it declares none)."""
    if not isinstance(plot, dict):
        return None
    opts = next(iter(plot.values())) if len(plot) == 1 else plot
    y = opts.get("y") if isinstance(opts, dict) else None
    if y is None:
        return None
    return [y] if isinstance(y, str) else list(y)


@pytest.mark.parametrize("name", DECLARED)
def test_dvc_plots_draw_the_declared_loss_columns(name: str) -> None:
    """Where dvc.yaml names the y columns of `<name>_loss.csv`, they are the declared loss columns
    (the report's curves and `dvc plots show` draw the same thing)."""
    stage = (_yaml("dvc.yaml").get("stages") or {})[f"train_{name}"]
    for plot in stage.get("plots") or []:
        path = next(iter(plot)) if isinstance(plot, dict) else plot
        if str(path).endswith(f"{name}_loss.csv"):
            columns = _plotted_columns(plot)
            if columns is not None:
                assert sorted(columns) == sorted(registry.get(name).loss_columns)


def test_prefect_has_a_gpu_deployment_per_declared_model_and_no_other() -> None:
    deployments = _train_deployments()
    assert sorted(deployments) == DECLARED
    for name, d in deployments.items():
        assert d["name"] == "gpu" and d["work_pool"]["name"] == "gpu"
        assert (d.get("parameters") or {}).get("model") == name


def test_the_training_flows_are_made_from_the_declarations() -> None:
    import flows.train as train_flows

    made = sorted(k.removeprefix("train_") for k in vars(train_flows) if k.startswith("train_"))
    assert made == DECLARED
    for name in DECLARED:
        assert getattr(train_flows, f"train_{name}").name == f"train-{name}"


def test_the_dag_and_the_report_list_the_declared_models() -> None:
    from adgen.orchestrate import dag
    from adgen.report import sections

    assert sorted(dag.MODELS) == DECLARED
    assert sorted(s.name for s in sections.models()) == DECLARED


@pytest.mark.parametrize("name", DECLARED)
def test_each_model_gets_a_report_panel_from_its_loss_columns(name: str, tmp_path: Path) -> None:
    from adgen.report.sections import Context, training

    spec = registry.get(name)
    params = config.from_dict({}, root=tmp_path)
    metrics = params.path(params.paths.metrics)
    metrics.mkdir(parents=True)
    pd.DataFrame({"step": [0, 1, 2], **{c: [1.0, 0.5, 0.25] for c in spec.loss_columns}}).to_csv(
        metrics / f"{name}_loss.csv", index=False
    )
    (tmp_path / "report/assets").mkdir(parents=True)
    section = training(Context(params, tmp_path / "report", tmp_path / "report/assets"))
    assert section is not None and f"{spec.label}: loss curves" in section.body()


@pytest.mark.parametrize("name", DECLARED)
def test_each_model_dry_run_counts_the_parameters_of_every_network(name: str) -> None:
    from adgen.training import jobs

    spec = registry.get(name)
    options = registry.resolve_options(spec, config.from_dict({}), _smallest_preset(spec))
    shown = jobs.dry_run(name, dict(spec.networks(options)), options, None)
    assert shown["model"] == name and shown["options"]["preset"] == options.preset
    assert shown["parameters"] and all(isinstance(n, int) and n > 0 for n in shown["parameters"].values())


def test_the_cli_has_a_train_command_per_declared_model_with_a_dry_run(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("{}\n")
    run = [sys.executable, "-m", "adgen.cli", "--params", str(tmp_path / "params.yaml")]
    listed = subprocess.run([*run, "train", "--help"], capture_output=True, text=True, check=True).stdout
    for name in DECLARED:
        assert f" {name} " in listed
    name = "stgan"
    out = subprocess.run(
        [*run, "train", name, "--preset", "demo", "--dry-run"], capture_output=True, text=True, check=True
    ).stdout
    shown = json.loads(out)
    assert shown["model"] == name and set(shown["parameters"]) == {"G", "G_per_warp", "D"}
    assert not (tmp_path / "data").exists()  # a dry run creates nothing


def test_loaded_params_survive_pickling_into_a_fresh_process(repo_root: Path) -> None:
    """Params go to worker processes (Prefect results, Dask, multiprocessing) as they did before the
    train section was assembled from the declarations."""
    import pickle

    params = config.load(repo_root / "params.yaml")
    code = "import pickle, sys; p = pickle.loads(sys.stdin.buffer.read()); print(p.train.gfla.preset, p.root)"
    out = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps(params), capture_output=True, check=True
    ).stdout.decode()
    assert out.split() == [params.train.gfla.preset, str(params.root)]
