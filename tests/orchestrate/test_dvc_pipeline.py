"""The whole DAG under DVC: reproducible, incremental, param-scoped, pushable, experimentable.

One workspace (a copy of this project with the demo preset) crawls the fixture stock site and runs
every stage in dvc.yaml; the tests then check what a second run, a changed training parameter,
a push/pull round trip and `dvc exp run -S` do. They run in file order on one worker.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from adgen.orchestrate import dag, presets
from tests.orchestrate.conftest import dvc, git, make_workspace

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.xdist_group("orchestrate-dvc")]

RAN = re.compile(r"Running stage '([^']+)'")
# A training-length param of each model that the test workspace's params.yaml sets explicitly.
# the models these tests change (the demo preset writes these keys into params.yaml)
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
    from adgen.fixtures.site.server import FixtureSite

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
    trainings = [f"train_{m}" for m in STEPS_KEY if f"train_{m}" in training_stages(ws)]  # stgan first
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
    # what reads the trained model (the comparison, SF-GAN on ST-GAN's warps, evaluations) reruns too
    stages = yaml.safe_load((ws / "dvc.yaml").read_text())["stages"]
    downstream = {name for name, st in stages.items() if f"data/models/{model}/dvc" in (st.get("deps") or [])}
    others = set(training_stages(ws)) - {stage} - downstream
    dataset = set(dag.DATASET_STAGES)
    assert not reran & (others | dataset), f"reran {sorted(reran)}"
    assert reran <= {stage, *downstream, "evaluate", "report", "generate"}, f"reran {sorted(reran)}"


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


def test_metrics_are_small_git_tracked_files_of_numbers_only(reproduced):
    ws, _ = reproduced
    shown = json.loads(dvc(ws, "metrics", "show", "--json"))
    [workspace_entry] = shown.values()  # the workspace (DVC keys it by an empty revision name)
    files = workspace_entry["data"]
    assert files and all(path.startswith("metrics/") for path in files), sorted(files)
    for path, entry in files.items():
        assert "error" not in entry, (path, entry)
        assert _only_numbers(entry["data"]), (path, entry["data"])
    ignored = subprocess.run(["git", "check-ignore", "-q", "metrics/crawl.json"], cwd=ws)
    assert ignored.returncode == 1, "metrics/ must be tracked by git"


def test_plots_show_draws_the_loss_columns_offline(reproduced):
    ws, _ = reproduced
    dvc(ws, "plots", "show", "-o", "plots-page")
    page = (ws / "plots-page" / "index.html").read_text()
    for column in ("loss_d", "loss_g"):  # ST-GAN's losses, not its last column (dp_norm)
        assert f'"field": "{column}"' in page, column
    assert '"field": "dp_norm"' not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), (
        "the page loads something from outside"
    )
    assert "window.vegaEmbed = function" in page  # the project's offline renderer is in the page


def test_a_clone_of_the_committed_pipeline_pulls_to_a_clean_status(reproduced, tmp_path: Path):
    from adgen.orchestrate import versions

    ws, _ = reproduced
    versions.commit_pipeline_state(ws, "pipeline state")
    assert not git(ws, "status", "--porcelain", "--", *versions.PIPELINE_FILES).strip()
    dvc(ws, "push")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(ws), str(clone))
    dvc(clone, "remote", "modify", "--local", "local", "url", str(ws.parent / "remote"))
    dvc(clone, "pull")
    assert dvc(clone, "status", "--json").strip() == "{}"
    # the inputs the stages read came with it (issue 26 case 2: they were git-ignored, never in DVC)
    from adgen import demo

    for name in (out for _, _, out in demo.FIXTURE_MODELS):
        assert (clone / name).exists(), f"{name} not restored by git clone + dvc pull"
        assert (clone / f"{name}.dvc").is_file()
    assert (clone / demo.GROUND_TRUTH).read_text() == (ws / demo.GROUND_TRUTH).read_text()  # git


def test_a_replaced_model_file_marks_the_stages_that_read_it_stale(reproduced):
    """Issue 26 case 2: the detector was a path string, so replacing its files reran nothing."""
    from adgen import demo

    ws, _ = reproduced
    detector = ws / dict((kind, out) for _, kind, out in demo.FIXTURE_MODELS)["detector"]
    assert "filter" not in dvc(ws, "status", "filter")
    extra = detector / "assets" / "replaced.txt"
    extra.parent.mkdir(exist_ok=True)
    extra.write_text("another model\n")
    try:
        status = dvc(ws, "status", "--json")
        assert "filter" in json.loads(status), status
        assert "inputs/detector" in status
    finally:
        extra.unlink()
    dvc(ws, "checkout", "--force", f"{detector.relative_to(ws)}.dvc")
    assert "filter" not in json.loads(dvc(ws, "status", "--json"))


def test_a_queued_experiment_on_a_data_stage_runs_in_dvcs_temp_workspace(reproduced):
    """Issue 26 case 2: in `dvc exp run --queue`'s temp workspace the fixture ground truth and
    models were missing (git-ignored, not DVC-tracked) and the filter failed."""
    import time

    from adgen.orchestrate import workspace

    ws, _ = reproduced
    workspace.commit_all(ws, "before the queued experiment")  # the queue runs from a clean HEAD
    dvc(ws, "exp", "run", "--queue", "--name", "queued-filter", "-S", "detect.max_side=256", "filter")
    try:
        dvc(ws, "queue", "start")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = dvc(ws, "queue", "status")
            if not re.search(r"\b(Queued|Running)\b", status):
                break
            time.sleep(2)
        assert re.search(r"queued-filter.*Success", status), status + dvc(
            ws, "queue", "logs", "queued-filter", check=False
        )
    finally:
        dvc(ws, "queue", "stop", "--kill", check=False)
    assert "queued-filter" in dvc(ws, "exp", "list")


def test_two_experiments_are_compared_by_exp_show_metrics_diff_and_params_diff(reproduced):
    ws, _ = reproduced
    from adgen.orchestrate import workspace

    workspace.commit_all(ws, "before the experiments")  # experiments start from a clean HEAD
    trainings = [f"train_{m}" for m in STEPS_KEY if f"train_{m}" in training_stages(ws)]  # stgan first
    if not trainings:
        pytest.skip("no training stage in dvc.yaml yet")
    model = trainings[0].removeprefix("train_")
    key = f"train.{model}.{STEPS_KEY[model]}"
    before = json.loads((ws / "metrics" / f"{model}.json").read_text())
    for value in (EXP_VALUE[model], EXP_VALUE[model] + 1):
        out = dvc(ws, "exp", "run", "-S", f"{key}={value}", trainings[0])
        assert trainings[0] in ran(out), out

    rows = json.loads(dvc(ws, "exp", "show", "--json"))
    exps = [
        exp
        for row in rows
        for exp in (row.get("experiments") or [])
        for rev in exp.get("revs") or []
        if (rev.get("data") or {}).get("metrics")
    ]
    ran_exps = [rev for exp in exps for rev in exp["revs"]]
    found = {
        rev["data"]["params"]["params.yaml"]["data"]["train"][model][STEPS_KEY[model]]: rev["data"]["metrics"]
        for rev in ran_exps
    }
    assert set(found) >= {EXP_VALUE[model], EXP_VALUE[model] + 1}, found.keys()
    for metrics in found.values():
        data = metrics[f"metrics/{model}.json"]["data"]
        assert _only_numbers(data) and data, data

    diff = json.loads(dvc(ws, "metrics", "diff", "--json"))  # the last experiment's results vs HEAD
    changed = diff[f"metrics/{model}.json"]
    after = json.loads((ws / "metrics" / f"{model}.json").read_text())
    assert changed and all(after.get(k) != before.get(k) for k in changed if k in after), changed
    params = json.loads(dvc(ws, "params", "diff", "--json"))["params.yaml"]
    assert (params[key]["old"], params[key]["new"]) == (before_value(ws, key), EXP_VALUE[model] + 1)


def before_value(ws: Path, key: str):
    head = yaml.safe_load(git(ws, "show", "HEAD:params.yaml"))
    for part in key.split("."):
        head = head[part]
    return head


def _only_numbers(data) -> bool:
    if isinstance(data, dict):
        return all(_only_numbers(v) for v in data.values())
    return isinstance(data, int | float) and not isinstance(data, bool)


def test_a_training_stage_killed_midway_resumes_from_its_checkpoint_on_the_next_repro(reproduced):
    """Issue 26 case 3: DVC kept the run dir (persist) and the metrics of the stopped attempt."""
    import os
    import signal
    import sys
    import time

    from adgen.orchestrate import commands
    from adgen.training import stagerun

    ws, _ = reproduced
    if "train_dcgan" not in dag.stages(ws):
        pytest.skip("no train_dcgan stage")
    metrics = ws / "metrics" / "dcgan.json"
    before = metrics.read_text()
    total = 600
    presets.apply_overrides(
        ws / "params.yaml",
        {
            "train": {
                "dcgan": {"total_steps": total, "checkpoint_steps": 20, "tick_steps": 20, "sample_steps": 0}
            }
        },
        source="test",
    )
    run = ws / "data" / "models" / "dcgan" / "dvc"
    log = (ws.parent / "killed-repro.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro", "train_dcgan"],
        cwd=ws,
        env=commands.tool_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            note = stagerun._read(run) or {}
            if note.get("options", {}).get("total_steps") == total and list(run.glob("checkpoint-*.pt")):
                break  # this attempt saved a checkpoint: kill it there
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
    assert not (stagerun._read(run) or {}).get("finished"), "the training finished before it was killed"
    assert metrics.read_text() == before, "the stopped stage deleted or changed the git-tracked metrics"

    out = dvc(ws, "repro", "train_dcgan")
    assert "resuming the stopped attempt" in out and "resumed from checkpoint-" in out, out[-3000:]
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == total, steps  # one clean run, continued
    assert metrics.read_text() != before
    assert dvc(ws, "status", "--json", "train_dcgan").strip() == "{}"


def _kill_training(ws: Path, model: str) -> int:
    """SIGKILL the `adgen train MODEL … --dvc-stage` process running in `ws` (one this test
    started, through the flow); return how many were killed."""
    import os
    import signal

    killed = 0
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
            here = Path(os.readlink(proc / "cwd")) == ws
        except (OSError, ValueError):
            continue
        if here and "train" in argv and model in argv and "--dvc-stage" in argv:
            os.kill(int(proc.name), signal.SIGKILL)
            killed += 1
    return killed


def test_a_training_killed_under_prefect_is_retried_and_resumes_from_its_checkpoint(
    reproduced, prefect_server
):
    """Issue 26 case 3 through Prefect: the training task retries (orchestrate.train_retries), and
    the retry continues the killed attempt from its newest checkpoint, saying so in the run's logs."""
    import sys
    import time

    from adgen.training import stagerun

    ws, _ = reproduced
    if "train_dcgan" not in dag.stages(ws):
        pytest.skip("no train_dcgan stage")
    total = 440  # other options than any earlier run here: the stage reruns from step 0
    presets.apply_overrides(
        ws / "params.yaml",
        {
            "train": {
                "dcgan": {"total_steps": total, "checkpoint_steps": 20, "tick_steps": 20, "sample_steps": 0}
            },
            "orchestrate": {"push": False, "train_retries": 1, "train_retry_delay_s": 0},
        },
        source="test",
    )
    run = ws / "data" / "models" / "dcgan" / "dvc"
    log = (ws.parent / "retried-flow.log").open("wb")
    flow = subprocess.Popen(
        [sys.executable, "-c", "from flows.train import train; train(model='dcgan')"],
        cwd=ws,
        env=prefect_server.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    killed = 0
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and flow.poll() is None and not killed:
            note = stagerun._read(run) or {}
            if note.get("options", {}).get("total_steps") == total and list(run.glob("checkpoint-*.pt")):
                killed = _kill_training(ws, "dcgan")  # after its first checkpoint
            time.sleep(0.1)
        assert killed, "the training was never seen running with a checkpoint"
        assert flow.wait(timeout=400) == 0, (ws.parent / "retried-flow.log").read_text()[-6000:]
    finally:
        if flow.poll() is None:
            flow.kill()
        log.close()
    [flow_run] = prefect_server.post("/flow_runs/filter", {"limit": 5})
    assert flow_run["state"]["type"] == "COMPLETED"
    logs = prefect_server.wait_for_log(flow_run["id"], "resumed from checkpoint-")
    assert "resuming the stopped attempt" in logs, logs[-6000:]
    assert re.search(r"resumed from checkpoint-\d+\.pt at step [1-9]\d*", logs), logs[-6000:]
    steps = [json.loads(line)["step"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == total, steps  # continued, not restarted


def test_the_demo_shows_generated_ads_and_leaves_dvc_status_clean(reproduced):
    """Issue 26 case 6: `make demo`'s steps after `dvc repro` (generated ads, the report showing
    them) write outside DVC's outputs, so the workspace's `dvc status` stays clean."""
    from adgen import demo

    ws, _ = reproduced
    before = json.loads(dvc(ws, "status", "--json"))  # `{}` after the demo's repro; earlier tests may differ
    report = demo.show_generated_ads(ws, dag.stages(ws))
    if not (ws / "data" / "generated" / "demo").is_dir():
        pytest.skip("the DAG trains no generation chain yet")
    assert report == ws / demo.DEMO_REPORT
    assert "Generated ads" in "".join(p.read_text() for p in report.glob("*.html"))
    assert json.loads(dvc(ws, "status", "--json")) == before  # no DVC output was touched
