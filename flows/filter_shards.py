"""filter-shards: the filter stage split into shards mapped over a Dask cluster (scale-out).

`adgen filter --shard i/n` decides the photos of every n-th shard of the raw image store (each in
its own process, so each Dask worker loads the detector once and streams whole store shards); `adgen filter --merge` then joins the shards into
data/filtered. The refresh flow uses it when `orchestrate.filter_shards` > 1, on the Dask scheduler
at `orchestrate.dask_address` or a local cluster with one worker per shard, then records the result
in dvc.lock (`dvc commit filter`) so `dvc repro` sees the filter stage as done.
"""

from __future__ import annotations

import os
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect_dask import DaskTaskRunner

from adgen.orchestrate import commands


@task(name="filter-shard", task_run_name="filter-shard-{index}-of-{shards}")
def filter_shard(index: int, shards: int, root: str) -> int:
    """Decide shard `index` of `shards` in the project at `root`; return the worker's process id."""
    commands.run(commands.adgen("filter", "--shard", f"{index}/{shards}"), cwd=root, on_line=print)
    return os.getpid()


@flow(name="filter-shards", log_prints=True)
def filter_in_shards(shards: int, root: str) -> list[int]:
    """Every shard as a task on the flow's task runner, then one merge; returns the workers' pids."""
    futures = [filter_shard.submit(i, shards, root) for i in range(shards)]
    pids = [f.result() for f in futures]
    get_run_logger().info("%d shards decided by %d worker processes", shards, len(set(pids)))
    commands.run(commands.adgen("filter", "--merge"), cwd=root, on_line=print)
    return pids


def on_dask(shards: int, address: str | None = None):
    """`filter_in_shards` on the Dask scheduler at `address`, or a local cluster of `shards` workers."""
    if address:
        runner = DaskTaskRunner(address=address)
    else:
        runner = DaskTaskRunner(
            cluster_kwargs={"n_workers": shards, "threads_per_worker": 1, "processes": True}
        )
    return filter_in_shards.with_options(task_runner=runner)


def run_filter_shards(shards: int, root: Path, address: str | None = None) -> list[int]:
    return on_dask(shards, address)(shards, str(root))
