"""The whole DAG under DVC: reproducible, incremental, param-scoped, pushable, experimentable.

One workspace (a copy of this project with the demo preset) crawls the fixture stock site and runs
every stage in dvc.yaml; the tests then check what a second run, a changed training parameter,
a push/pull round trip and `dvc exp run -S` do. They run in file order on one worker.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
import yaml

from adgen.orchestrate import dag, presets
from tests.orchestrate.conftest import dvc, make_workspace

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("orchestrate-dvc")]

RAN = re.compile(r"Running stage '([^']+)'")
# A training-length param of each model that the test workspace's params.yaml sets explicitly.
STEPS_KEY = {"stgan": "iters_per_warp", "stylegan2": "total_kimg", "gfla": "steps"}
EXP_VALUE = {"stgan": 5, "stylegan2": 0.012, "gfla": 3}  # still a few steps


def ran(output: str) -> set[str]:
    return set(RAN.findall(output))


def training_stages(ws: Path) -> list[str]:
    present = dag.stages(ws)
    return [f"train_{m}" for m in dag.MODELS if f"train_{m}" in present]


# Session scope: xdist may interleave other modules' tests on this worker, and a module-scoped
# fixture would then be torn down and rebuilt (a second full repro) when this module resumes.
@pytest.fixture(scope="session")
def reproduced(tmp_path_factory: pytest.TempPathFactory, models_cache: Path):
    """A workspace after its first `dvc repro` (the fixture site is only needed for that crawl)."""
    from adgen.fixture_site.server import FixtureSite

    root = tmp_path_factory.mktemp("dvc-pipeline")
    with FixtureSite(images=28, seed=3, per_page=10, slow_seconds=4) as site:
        ws = make_workspace(root, site.base_url, models_cache)
        out = dvc(ws, "repro")
    return ws, out


def test_first_repro_runs_every_stage_of_the_dag(reproduced):
    ws, out = reproduced
    assert ran(out) == set(dag.stages(ws))
    assert (ws / "report" / "index.html").exists()
    assert dvc(ws, "status", "--json").strip() == "{}"


def test_second_repro_is_a_no_op(reproduced):
    ws, _ = reproduced
    out = dvc(ws, "repro")
    assert ran(out) == set(), out
    assert dvc(ws, "status", "--json").strip() == "{}"


def test_changing_one_training_param_reruns_only_that_training_and_what_depends_on_it(reproduced):
    ws, _ = reproduced
    trainings = training_stages(ws)
    if not trainings:
        pytest.skip("no training stage in dvc.yaml yet")
    stage = trainings[0]
    model = stage.removeprefix("train_")
    key = STEPS_KEY[model]
    params = yaml.safe_load((ws / "params.yaml").read_text())
    value = params["train"][model][key]
    presets.apply_overrides(ws / "params.yaml", {"train": {model: {key: value * 2}}}, source="test")
    out = dvc(ws, "repro")
    reran = ran(out)
    assert stage in reran
    others = set(trainings) - {stage}
    dataset = set(dag.DATASET_STAGES)
    assert not reran & (others | dataset), f"reran {sorted(reran)}"
    assert reran <= {stage, "evaluate", "report", "generate"}, f"reran {sorted(reran)}"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_push_then_pull_restores_the_data_from_the_local_remote(reproduced):
    ws, _ = reproduced
    manifest = ws / "data/raw/manifest.parquet"
    before = _md5(manifest)
    dvc(ws, "push")
    remote = ws.parent / "remote"
    assert any(p.is_file() for p in remote.rglob("*")), "nothing pushed to the local remote"
    shutil.rmtree(ws / ".dvc" / "cache")
    manifest.unlink()
    shards = {p.name: _md5(p) for p in (ws / "data/raw/store/shards").iterdir()}
    assert shards, "the crawl stored no shard"
    shutil.rmtree(ws / "data/raw/store")
    dvc(ws, "pull")
    assert _md5(manifest) == before
    assert {p.name: _md5(p) for p in (ws / "data/raw/store/shards").iterdir()} == shards
    assert (ws / "data/raw/store/index.parquet").is_file()
    assert dvc(ws, "status", "--json").strip() == "{}"


def test_exp_run_with_a_set_param_records_an_experiment(reproduced):
    ws, _ = reproduced
    from adgen.orchestrate import workspace

    workspace.commit_all(ws, "before the experiment")  # experiments start from a clean HEAD
    trainings = training_stages(ws)
    if trainings:
        model = trainings[0].removeprefix("train_")
        target, key, value = trainings[0], f"train.{model}.{STEPS_KEY[model]}", EXP_VALUE[model]
    else:
        target, key, value = "report", "report.thumb_px", 64
    out = dvc(ws, "exp", "run", "-S", f"{key}={value}", target)
    assert target in ran(out), out
    shown = dvc(ws, "exp", "show", "--json")
    leaf = key.rsplit(".", 1)[1]
    assert f'"{leaf}": {value}' in shown, shown[-3000:]
