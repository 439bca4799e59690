"""generate-ads: a batch of ads, one `adgen generate` per (pose, bag) pair, on demand.

Each pair runs as its own task (a subprocess: the models load in a fresh process and a failure in one
pair doesn't lose the others); results land under `<out>/<pose>--<bag>/` with the chain's HTML page,
and a Markdown artifact lists them with their pose error.
"""

from __future__ import annotations

import json
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from adgen.orchestrate import commands
from flows.common import StoppableTaskRunner, run_logged, stop_on_signals


def pair_dir(out: Path, pose: str, bag: str) -> Path:
    return out / f"{Path(pose).stem}--{Path(bag).stem}"


@task(name="generate", task_run_name="generate-{pose}-{bag}")
def generate_pair(pose: str, bag: str, n: int, seed: int, out: str) -> dict:
    folder = pair_dir(Path(out), pose, bag)
    argv = ["generate", "--pose", pose, "--bag", bag, "--n", str(n), "--seed", str(seed), "-o", str(folder)]
    run_logged(commands.adgen(*argv))
    metrics_path = folder / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return {"pose": pose, "bag": bag, "folder": str(folder), "metrics": metrics}


@flow(name="generate-ads", log_prints=True, task_runner=StoppableTaskRunner())
def generate_ads(
    poses: list[str], bags: list[str], n: int = 4, seed: int = 0, out: str = "data/generated"
) -> list[dict]:
    """Every requested pose with every bag: `n` ads each (seeds seed … seed+n-1).

    Args:
        poses: images (paths on the worker) whose person's pose the ads copy
        bags: bag images (paths on the worker, RGBA cut-outs) composited onto the generated people
        n: ads per (pose, bag) pair
        seed: the first seed; pair ads use seed … seed+n-1
        out: folder for the results (one `<pose>--<bag>/` folder per pair with its index.html)
    """
    with stop_on_signals():  # SIGTERM/SIGINT end the running `adgen generate` processes at once
        futures = [generate_pair.submit(pose, bag, n, seed, out) for pose in poses for bag in bags]
        results = [f.result() for f in futures]
    lines = ["| pose | bag | ads | pose MSE |", "|---|---|---|---|"]
    for r in results:
        mse = r["metrics"].get("pose_mse_reposed")
        lines.append(f"| {r['pose']} | {r['bag']} | {r['folder']}/index.html | {mse} |")
    create_markdown_artifact(key="generated-ads", markdown="\n".join(lines), description="Ads generated")
    return results
