"""dvc.yaml shows the real data flow: each stage's deps cover the files its code reads (issue 28).

Two checks per stage, on the repository's own dvc.yaml:
- isolation: the stage run in a workspace that holds only its declared deps (and params.yaml)
  gives the outputs it gives in a workspace holding everything (a read of an undeclared file fails
  there, or changes what it writes);
- every file the stage opens from Python in the full workspace lies in a declared dep, in its own
  outputs, or beside them (its stamp, part files).
And the DAG: pose after strip, DPIG after build_datasets, nothing reads downstream, no cycle.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from adgen import config, manifest
from tests.datasets.deepfashion_folder import build_deepfashion
from tests.detect.conftest import fixture_detector_dir  # noqa: F401
from tests.matting.scenes import draw_person, write_filtered_project

REPO = Path(__file__).resolve().parents[2]
CHECKED = ("filter", "strip", "pose", "build_datasets", "train_dpig")

_opened: list[str] | None = None


def _audit(event: str, args: tuple) -> None:
    """Files opened for reading (open() and os.open(); Arrow's native Parquet reads are not seen:
    the isolation run below catches those)."""
    if _opened is None or event != "open" or not isinstance(args[0], str | bytes | os.PathLike):
        return
    path, mode, flags = args
    reads = (
        ("r" in mode and "+" not in mode) if isinstance(mode, str) else (flags & os.O_ACCMODE) == os.O_RDONLY
    )
    if reads:
        _opened.append(os.fsdecode(path))


sys.addaudithook(_audit)  # one per process; records only inside `opened_files`


@contextmanager
def opened_files() -> Iterator[list[str]]:
    global _opened
    _opened = found = []
    try:
        yield found
    finally:
        _opened = None


def stages() -> dict[str, dict]:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def _paths(entries: list) -> list[str]:
    return [next(iter(e)) if isinstance(e, dict) else str(e) for e in entries or []]


def deps(stage: str) -> list[str]:
    return _paths(stages()[stage].get("deps"))


def outs(stage: str) -> list[str]:
    s = stages()[stage]
    return _paths(s.get("outs")) + _paths(s.get("metrics")) + _paths(s.get("plots"))


def test_the_dag_runs_strip_then_pose_then_datasets_then_dpig_with_no_loop() -> None:
    made = {o: name for name in stages() for o in outs(name)}

    def upstream(stage: str) -> set[str]:
        return {made[o] for d in deps(stage) for o in made if d == o or d.startswith(o + "/")}

    assert "strip" in upstream("pose") and "filter" not in upstream("pose")
    assert {"strip", "pose"} <= upstream("build_datasets")
    assert upstream("train_dpig") == {"build_datasets"}
    assert not any(d.startswith(("data/pose", "data/stripped", "data/datasets")) for d in deps("filter"))
    assert "strip.include_no_bag" not in stages()["pose"]["params"]
    seen: set[str] = set()

    def walk(stage: str, path: tuple[str, ...]) -> None:
        assert stage not in path, f"cycle: {' -> '.join((*path, stage))}"
        if stage not in seen:
            seen.add(stage)
            for up in upstream(stage):
                walk(up, (*path, stage))

    for name in stages():
        walk(name, ())


# Inputs named by a param rather than a path in dvc.yaml (DVC tracks the param): allowed where the
# stage declares that param. Here the DeepFashion folder, put at `inputs/deepfashion`.
PARAM_INPUTS = {"inputs/deepfashion": ("datasets", "datasets.deepfashion")}


def param_inputs(stage: str) -> list[str]:
    declared = set(stages()[stage].get("params") or [])
    return [path for path, names in PARAM_INPUTS.items() if declared & set(names)]


def _covered(rel: str, stage: str) -> bool:
    allowed = [*deps(stage), *outs(stage), *param_inputs(stage), "params.yaml"]
    allowed += [str(Path(o).parent) for o in outs(stage) if str(Path(o).parent) not in (".", "metrics")]
    return any(rel == a or rel.startswith(a.rstrip("/") + "/") for a in allowed)


def _undeclared(found: list[str], root: Path, stage: str) -> set[str]:
    out = set()
    for f in found:
        p = Path(f).absolute()
        if p.is_relative_to(root):
            rel = p.relative_to(root).as_posix()
            if not _covered(rel, stage):
                out.add(rel)
    return out


def _isolated(full: Path, stage: str, dest: Path) -> Path:
    """A workspace holding only `stage`'s declared deps (code comes from the installed package)."""
    dest.mkdir(parents=True)
    shutil.copy2(full / "params.yaml", dest / "params.yaml")
    for d in [*deps(stage), *param_inputs(stage)]:
        src = full / d
        if d.startswith("adgen/") or not src.exists():
            continue
        (dest / d).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / d)
    return dest


def _frame(path: Path, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    df = pd.read_parquet(path)
    df = df.drop(columns=[c for c in drop if c in df.columns])
    return df.sort_values(list(df.columns[:2])).reset_index(drop=True).astype(str)


def _run_filter(p: config.Params) -> None:
    from adgen.detect.stage import run_filter

    run_filter(p)


def _run_strip(p: config.Params) -> None:
    from adgen.matting.strip import strip

    strip(p)


def _run_pose(p: config.Params) -> None:
    from adgen.pose.stage import estimate_poses

    estimate_poses(p)


def _run_datasets(p: config.Params) -> None:
    from adgen.datasets.build import build_datasets

    build_datasets(p)


def _dpig_people(p: config.Params) -> list[tuple]:
    """What the DPIG trainer reads: its people (and each image's bytes) through its own loader."""
    from adgen.models.dpig.data import DpigPeople, collect_people

    people = collect_people(p, ["people", "deepfashion"], 1)
    items = DpigPeople(people, 32, 16)
    return [(x.source, x.keypoints.tolist(), items[i]["image"].sum().item()) for i, x in enumerate(people)]


def _outputs(stage: str, root: Path):
    if stage == "filter":
        if root.name == "full":
            root = root.parent / "filter"  # where the filter ran beside everything else
        return _frame(root / "data/filtered/manifest.parquet")[["image_id", "keep", "reason"]]
    if stage == "strip":
        return _frame(root / "data/stripped/manifest.parquet")
    if stage == "pose":
        return _frame(root / "data/pose/keypoints.parquet", drop=("estimator",))
    if stage == "build_datasets":
        d = root / "data/datasets"
        cards = {p.relative_to(d).as_posix(): p.read_text() for p in sorted(d.glob("*/card.json"))}
        return cards, _frame(d / "stgan/index.parquet"), _frame(d / "dpig/people.parquet")
    return _dpig_people(config.load(root / "params.yaml"))


RUN: dict[str, Callable[[config.Params], object]] = {
    "filter": _run_filter,
    "strip": _run_strip,
    "pose": _run_pose,
    "build_datasets": _run_datasets,
    "train_dpig": _dpig_people,
}


@pytest.fixture(scope="module")
def workspace(
    tmp_path_factory: pytest.TempPathFactory,
    fixture_detector_dir: Path,  # noqa: F811
    fixture_pose_dir: Path,
) -> tuple[Path, dict[str, set[str]]]:
    """Everything the prepare stages make, each run in turn with its Python file opens recorded."""
    root = tmp_path_factory.mktemp("dvc-deps") / "full"
    build_deepfashion(root / "inputs/deepfashion")
    scenes = [draw_person(seed=i, w=180, h=300) for i in range(2)] + [
        draw_person(seed=9, w=180, h=300, bag=None)
    ]
    df = write_filtered_project(root, scenes)
    raw = df.assign(query="bag", page_url="http://fixture/", title="fixture", format="jpg", bytes=0,
                    crawled_at=datetime(2026, 1, 1, tzinfo=UTC))  # fmt: skip
    manifest.write(
        manifest.coerce(raw[list(manifest.RAW_COLUMNS)], manifest.RAW_COLUMNS),
        root / "data/raw/manifest.parquet",
    )
    (root / "params.yaml").write_text(
        yaml.safe_dump(
            {
                "detect": {"model": str(fixture_detector_dir), "max_side": 512},
                "strip": {"refine_detector_masks": False},
                "pose": {"model": str(fixture_pose_dir)},
                "datasets": {
                    "deepfashion": "inputs/deepfashion",
                    "stylegan2_resolution": 32,
                    "stgan_sizes": [32],
                },
            }
        )
    )
    p = config.load(root / "params.yaml")
    undeclared: dict[str, set[str]] = {}
    for stage in ("strip", "pose", "build_datasets", "train_dpig"):
        with opened_files() as found:
            RUN[stage](p)
        undeclared[stage] = _undeclared(found, root, stage)
    # the filter again, in a copy with every later stage's output beside it (what it must not read)
    again = shutil.copytree(root, root.parent / "filter")
    shutil.rmtree(again / "data/filtered")
    with opened_files() as found:
        _run_filter(config.load(again / "params.yaml"))
    undeclared["filter"] = _undeclared(found, again, "filter")
    return root, undeclared


@pytest.mark.slow
@pytest.mark.parametrize("stage", CHECKED)
def test_each_stage_reads_only_what_dvc_yaml_declares(
    workspace: tuple[Path, dict[str, set[str]]], tmp_path: Path, stage: str
) -> None:
    full, undeclared = workspace
    assert not undeclared[stage], (
        f"{stage} opens files dvc.yaml does not declare: {sorted(undeclared[stage])}"
    )
    alone = _isolated(full, stage, tmp_path / stage)
    RUN[stage](config.load(alone / "params.yaml"))
    got, want = _outputs(stage, alone), _outputs(stage, full)
    if stage == "build_datasets":
        assert got[0] == want[0]
        pd.testing.assert_frame_equal(got[1], want[1])
        pd.testing.assert_frame_equal(got[2], want[2])
        assert len(want[2]) > 0
    elif stage == "train_dpig":
        assert got == want and {s for s, *_ in want} == {"people", "deepfashion"}
    else:
        pd.testing.assert_frame_equal(got, want)
        assert len(want) > 0
    if stage == "strip":
        assert np.asarray(_frame(alone / "data/stripped/manifest.parquet")["keep"] == "True").any()
