"""`make demo`: the whole pipeline, offline, on the fixture stock site, ending with report/index.html.

Steps: copy the project into a demo workspace (its own git + DVC repo, so the checkout's params,
data and history stay untouched), write its params.yaml = the project's params + `presets/demo.yaml`
+ the fixture site's address, start the fixture stock site on 127.0.0.1, build the FIXTURE stand-in
models the DAG needs, run `dvc repro` (every stage in dvc.yaml, tiny on CPU), and copy the report
into the checkout's report/. A second run reuses the workspace: DVC reruns only what changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from adgen import atomic
from adgen.errors import UserError
from adgen.orchestrate import commands, dag, presets, versions, workspace

REPO = Path(__file__).resolve().parents[1]
# What the stages read from outside the pipeline (models, the fixture's ground truth, the FIXTURE
# DeepFashion folder) lives in inputs/, each file or folder DVC-tracked by its own committed
# `inputs/<name>.dvc` (`dvc add`; inputs/.gitignore ignores the data, never the folder, or
# repo-wide `dvc push`/`pull` would skip the .dvc files): a clone + `dvc pull` and a queued
# experiment's temp workspace have them, and dvc.yaml lists the models as deps, so replacing one
# reruns what read it. params.yaml and the demo preset point there.
INPUTS = "inputs"
# The fixture site's ground truth is small and a dep of the stages that score against it, so it is
# git-tracked instead: the project holds an empty one (a dep must exist; a real crawl has no truth).
GROUND_TRUTH = "inputs/ground-truth.json"
# FIXTURE stand-in models: (stage that needs it, `adgen fixture-models` kind, where params expect it)
FIXTURE_MODELS = (("filter", "detector", "inputs/detector"), ("pose", "pose", "inputs/pose"))
# GFLA's perceptual losses need ImageNet VGG19 weights, which can't be downloaded here: the demo writes a
# FIXTURE file with torchvision's key names and random weights (the losses run; they mean nothing)
# where the real weights go (train.gfla.vgg19_weights, a dep of train_gfla).
FIXTURE_VGG19 = "inputs/vgg19.pth"
# GFLA pairs need one person in several poses: a FIXTURE DeepFashion In-shop folder of the fixture
# site's people (adgen.fixtures.deepfashion).
FIXTURE_DEEPFASHION = "inputs/deepfashion"
# The demo's report with the generated ads: outside DVC's outputs (report/ is the `report` stage's).
DEMO_REPORT = "data/demo-report"


def default_workspace(repo: Path = REPO) -> Path:
    key = hashlib.sha1(str(repo).encode()).hexdigest()[:8]
    return Path(tempfile.gettempdir()) / f"adgen-demo-{key}"


def say(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


def write_params(ws: Path, repo: Path, preset: str, overrides: dict | None = None) -> None:
    """params.yaml of the workspace: the project's, the preset, then the demo's runtime values."""
    shutil.copyfile(repo / "params.yaml", ws / "params.yaml")
    presets.apply_preset(ws / "params.yaml", preset)
    if overrides:
        presets.apply_overrides(ws / "params.yaml", overrides, source="demo settings")


def fixture_site(ws: Path, images: int | None, seed: int | None):
    """The fixture stock site as the workspace's `fixture_site` params describe it.

    It listens on the port of the previous demo run when that port is free, so the crawl
    params (which hold the site's address) stay the same and DVC can skip unchanged stages.
    """
    from adgen import config
    from adgen.fixtures.site.server import FixtureSite

    fp = config.load(ws / "params.yaml").fixture_site
    last = ws / ".dvc" / "tmp" / "demo-port"
    last.parent.mkdir(parents=True, exist_ok=True)
    port = int(last.read_text()) if last.exists() else fp.port
    kwargs = dict(
        images=fp.images if images is None else images,
        seed=fp.seed if seed is None else seed,
        latency_ms=fp.latency_ms,
        queries=fp.queries,
        per_page=fp.per_page,
        slow_seconds=fp.slow_seconds,
        huge_bytes=fp.huge_bytes,
        hostile=fp.hostile,
    )
    site = FixtureSite(port=port, **kwargs)
    try:
        site.start()
    except OSError:  # port taken: any free one
        site = FixtureSite(port=0, **kwargs).start()
    last.write_text(str(site.port))
    return site


def fetch_ground_truth(base_url: str, dest: Path) -> int:
    with urllib.request.urlopen(f"{base_url}/ground-truth.json", timeout=60) as resp:
        truth = json.load(resp)
    atomic.write_json(dest, truth)
    return len(truth.get("images", {}))


def build_fixture_models(ws: Path, stages: list[str], cache: Path | None = None) -> None:
    """Build the FIXTURE models the DAG's stages need (copied from `cache` when built there before)."""
    for stage, kind, out in FIXTURE_MODELS:
        if stage not in stages:
            continue
        if (ws / out / "saved_model.pb").exists():
            say(f"FIXTURE {kind} model: {out} (already built)")
            continue
        cached = cache / kind if cache is not None else None
        if cached is not None and (cached / "saved_model.pb").exists():
            shutil.copytree(cached, ws / out, dirs_exist_ok=True)
            continue
        say(f"building the FIXTURE {kind} model into {out}")
        commands.run(commands.adgen("fixture-models", kind, out), cwd=ws, on_line=print)
        if cached is not None:
            shutil.copytree(ws / out, cached, dirs_exist_ok=True)
    if "build_datasets" in stages and not (ws / FIXTURE_DEEPFASHION / "img").exists():
        from adgen.fixtures.deepfashion import build_fixture_deepfashion

        n = build_fixture_deepfashion(ws / FIXTURE_DEEPFASHION)
        say(f"FIXTURE DeepFashion folder: {n} people in {FIXTURE_DEEPFASHION} (GFLA pairs)")
    if "train_gfla" in stages and not (ws / FIXTURE_VGG19).exists():
        cached = cache / "vgg19.pth" if cache is not None else None
        if cached is None or not cached.exists():
            say(f"writing the FIXTURE VGG19 weights (random, torchvision key names) to {FIXTURE_VGG19}")
            write_fixture_vgg19(cached or ws / FIXTURE_VGG19)
        if cached is not None:
            (ws / FIXTURE_VGG19).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, ws / FIXTURE_VGG19)


def track_inputs(ws: Path) -> list[str]:
    """`dvc add` every model and folder input the workspace holds (unchanged ones cost a stat);
    return their .dvc files."""
    present = [
        name
        for name in (*(out for _, _, out in FIXTURE_MODELS), FIXTURE_VGG19, FIXTURE_DEEPFASHION)
        if (ws / name).exists()
    ]
    if present:
        commands.run(commands.dvc("add", "-q", *present), cwd=ws)
    return [f"{name}.dvc" for name in present]


def write_fixture_vgg19(path: Path, seed: int = 0) -> None:
    import torch

    from adgen.models.gfla.vgg import VGG19

    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(path) as tmp:
        torch.save(VGG19().state_dict(), tmp)


def prepare_workspace(
    ws: Path,
    base_url: str,
    *,
    preset: str = "demo",
    overrides: dict | None = None,
    repo: Path = REPO,
    models_cache: Path | None = None,
) -> list[str]:
    """Make `ws` ready for `dvc repro` against the fixture site at `base_url`; return the DAG's stages.

    The workspace's params are the project's + the preset + the site address (+ `overrides`); the
    site's ground truth is saved for the report and the FIXTURE models are built, all under DVC in
    inputs/. Everything is committed, so the workspace starts clean.
    """
    workspace.sync_workspace(repo, ws)
    stages = dag.stages(ws)
    merged = presets.merge({"crawl": {"base_url_override": base_url}}, overrides or {})
    write_params(ws, repo, preset, merged)
    fetch_ground_truth(base_url, ws / GROUND_TRUTH)
    build_fixture_models(ws, stages, models_cache)
    track_inputs(ws)
    workspace.commit_all(ws, "Demo params and inputs")
    return stages


def generate_samples(ws: Path, stages: list[str], n: int = 4) -> Path | None:
    """Ads from the trained chain for the report: a FIXTURE DeepFashion person's pose, a crawled bag.

    Generation is on demand in the product (`adgen generate`, the generate-ads deployment), not a
    DAG stage; the demo runs it once after `dvc repro` so the report can show the chain.
    """
    import pandas as pd

    if not {"train_stgan", "train_stylegan2", "train_gfla"} <= set(stages):
        return None
    poses = sorted((ws / FIXTURE_DEEPFASHION).glob("img/**/*.jpg"))
    stripped = ws / "data/stripped/manifest.parquet"
    if not poses or not stripped.exists():
        return None
    from adgen import config
    from adgen.matting.strip import cutouts

    bags = pd.read_parquet(stripped).get("bag_rgba", pd.Series(dtype=str)).dropna()
    if not len(bags):
        return None
    out = ws / "data/generated/demo"
    bag = ws / "data/generated/demo-bag.png"  # `generate --bag` takes a file: copied out of the store
    atomic.write_bytes(bag, cutouts(config.load(ws / "params.yaml")).get(bags.iloc[0]))
    say(f"generating {n} ads: pose of {poses[-1].relative_to(ws)}, bag {bags.iloc[0]}")
    argv = ["generate", "--pose", str(poses[-1]), "--bag", str(bag), "--n", str(n), "-o", str(out)]
    commands.run(commands.adgen(*argv), cwd=ws, on_line=print)
    return out


def show_generated_ads(ws: Path, stages: list[str]) -> Path:
    """The report the demo shows: DVC's `report` stage output plus the generated ads; its folder.

    DVC's own report/ is never rewritten outside `dvc repro` (that left `dvc status` showing
    `report` modified, and the next repro swapped the cached one back): with generated ads the demo
    renders the report again into DEMO_REPORT, outside every DVC output, and shows that one.
    """
    generated = generate_samples(ws, stages)
    if generated is not None:
        written = [p.relative_to(ws).as_posix() for p in sorted((ws / "metrics").glob("generate*"))]
        if written:  # `adgen generate`'s own metrics: git-tracked, no stage's output
            workspace.git("add", "--", *written, cwd=ws)
            if workspace.git("diff", "--cached", "--name-only", "--", *written, cwd=ws).strip():
                workspace.git("commit", "-q", "-m", "Demo: generated ads", "--", *written, cwd=ws)
    if "report" in stages and generated is None:
        return ws / "report"
    out = ws / DEMO_REPORT if "report" in stages else ws / "report"
    commands.run(commands.adgen("report", "--out", str(out)), cwd=ws, on_line=print)
    return out


def run_demo(
    ws: Path, *, images: int | None = None, seed: int | None = None, preset: str = "demo", repo: Path = REPO
) -> Path:
    """Run the demo in workspace `ws`; return the report's index.html in the checkout."""
    started = time.monotonic()
    if not (repo / "dvc.yaml").exists():
        raise UserError(f"{repo}/dvc.yaml not found: the demo runs the project's DVC pipeline")
    say(f"workspace {ws}")
    workspace.sync_workspace(repo, ws)
    write_params(ws, repo, preset)
    site = fixture_site(ws, images, seed)
    try:
        say(f"fixture stock site at {site.base_url} ({site.layout.images} photos, seed {site.seed})")
        stages = prepare_workspace(ws, site.base_url, preset=preset, repo=repo)
        say(f"DAG stages: {', '.join(stages)}; the fixture ground truth is in {GROUND_TRUTH}")
        say("dvc repro (every stage in dvc.yaml)")
        commands.run(commands.dvc("repro"), cwd=ws, on_line=print)
        # params.yaml, dvc.yaml, dvc.lock and metrics/ in one commit: a clone + `dvc pull` of it
        # has a clean `dvc status` (after `dvc push` to a remote both can reach)
        if versions.commit_pipeline_state(ws, "Demo: dvc repro"):
            say("committed params.yaml, dvc.yaml, dvc.lock and metrics/ together")
    finally:
        site.stop()
    report = show_generated_ads(ws, stages)
    out = repo / "report"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(report, out)
    say(f"done in {time.monotonic() - started:.0f} s")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m adgen.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, default=None, help="demo workspace (default: a temp dir)")
    ap.add_argument("--fresh", action="store_true", help="start from an empty workspace")
    ap.add_argument("--images", type=int, default=None, help="photos on the fixture site (default: params)")
    ap.add_argument("--seed", type=int, default=None, help="fixture site seed (default: params)")
    args = ap.parse_args(argv)
    ws = (args.workspace or default_workspace()).resolve()
    if args.fresh and ws.exists():
        shutil.rmtree(ws)
    try:
        index = run_demo(ws, images=args.images, seed=args.seed)
    except UserError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2
    print(f"Report: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
