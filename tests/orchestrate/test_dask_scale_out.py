"""Scale-out: the filter's shards mapped over a 2-worker local Dask cluster by a Prefect flow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from adgen import demo
from tests.orchestrate.conftest import dvc, make_workspace
from tests.orchestrate.harness import PrefectServer

pytestmark = [pytest.mark.slow, pytest.mark.integration]

RUN = "import json, sys; from flows.filter_shards import run_filter_shards; print('PIDS=' + json.dumps(run_filter_shards(2, sys.argv[1])))"


def test_filter_shards_run_on_two_dask_workers_and_merge_into_the_full_decision_set(
    tmp_path: Path, fixture_site, models_cache: Path, prefect_server: PrefectServer
):
    ws = make_workspace(tmp_path, fixture_site.base_url, models_cache)
    dvc(ws, "repro", "crawl")
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(ws)],
        cwd=ws,
        env=prefect_server.env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    pids = json.loads(proc.stdout.split("PIDS=")[1].splitlines()[0])
    assert len(pids) == 2 and len(set(pids)) == 2, "both shards ran in the same process"

    shard_runs = prefect_server.post("/task_runs/filter", {"task_runs": {"name": {"like_": "filter-shard-"}}})
    assert sorted(r["name"] for r in shard_runs) == ["filter-shard-0-of-2", "filter-shard-1-of-2"]
    assert {r["state"]["type"] for r in shard_runs} == {"COMPLETED"}

    raw = pd.read_parquet(ws / "data/raw/manifest.parquet")
    filtered = pd.read_parquet(ws / "data/filtered/manifest.parquet")
    assert sorted(filtered["image_id"]) == sorted(raw["image_id"])  # every image decided exactly once
    truth = json.loads((ws / demo.GROUND_TRUTH).read_text())["images"]
    known = filtered[filtered["image_id"].isin(truth)]
    assert len(known) > 0
    assert all(
        bool(k) == truth[i]["expected_keep"] for i, k in zip(known["image_id"], known["keep"], strict=True)
    )

    # Recorded in dvc.lock, the sharded result is the filter stage's output: dvc repro skips it.
    dvc(ws, "commit", "--force", "filter")
    out = dvc(ws, "repro", "filter")
    assert "Running stage 'filter'" not in out, out
