"""Issue 27, cases 12 and 13: no half-made outputs.

Before the fix `adgen build-datasets` into a read-only data/datasets/ ended in a traceback
(`Stamp.clear()` unlinked outside the guarded write path), a training that failed at its start
left a run dir holding only `training_options.json`, and the rerun of a moved workspace
re-decided every photo / could not resume SF-GAN (absolute paths in the decision key and in
SF-GAN's `training_options.json`).
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.detect.conftest import Project, fixture_detector_dir, kept_photo  # noqa: F401
from tests.generate.test_generate import project  # noqa: F401 - one tiny trained run of each model
from tests.matting.scenes import draw_person, write_filtered_project

from .conftest import adgen, broken_dir, error_line

STRIP = {"strip": {"refine_detector_masks": False}}


@pytest.mark.slow
def test_build_datasets_into_a_read_only_datasets_dir_is_one_line_then_builds(tmp_path: Path) -> None:
    write_filtered_project(
        tmp_path, [draw_person(seed=s, w=180, h=300) for s in range(3)], image_format="PNG"
    )
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**STRIP, "datasets": {"stylegan2_resolution": 32}}))
    assert adgen("strip", cwd=tmp_path).returncode == 0
    out = tmp_path / "data/datasets"
    with broken_dir(out, tmp_path / "hook") as env:  # no stamp yet
        line = error_line(adgen("build-datasets", cwd=tmp_path, env=env))
    assert "data/datasets" in line
    assert adgen("build-datasets", cwd=tmp_path).returncode == 0
    assert (out / ".stamp").is_file()

    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**STRIP, "datasets": {"stylegan2_resolution": 64}}))
    with broken_dir(out, tmp_path / "hook") as env:  # a stamp to clear on a read-only disk
        line = error_line(adgen("build-datasets", cwd=tmp_path, env=env))
    assert "data/datasets" in line
    proc = adgen("build-datasets", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def _bad_datasets(root: Path) -> list[Path]:
    (root / "garbage.zip").write_bytes(b"not a zip at all")
    with zipfile.ZipFile(root / "empty.zip", "w") as z:
        z.writestr("dataset.json", '{"labels": null}')
    return [root / "garbage.zip", root / "empty.zip"]


@pytest.mark.parametrize("dataset", ["garbage.zip", "empty.zip"])
def test_a_training_that_fails_at_its_start_leaves_no_run_dir(tmp_path: Path, dataset: str) -> None:
    _bad_datasets(tmp_path)
    sg = {"preset": "demo", "dataset": dataset, "device": "cpu"}
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump({"paths": {"models": "models"}, "train": {"stylegan2": sg}})
    )
    error_line(adgen("train", "stylegan2", cwd=tmp_path))
    assert not (tmp_path / "models").exists()

    earlier = tmp_path / "models/stylegan2/00003-earlier"  # runs already there are left alone
    earlier.mkdir(parents=True)
    error_line(adgen("train", "stylegan2", cwd=tmp_path))
    assert [p.name for p in (tmp_path / "models/stylegan2").iterdir()] == ["00003-earlier"]

    error_line(adgen("train", "stylegan2", "--run-dir", "models/mine", cwd=tmp_path))
    assert not (tmp_path / "models/mine").exists()


@pytest.mark.slow
def test_a_copied_workspace_resumes_its_sfgan_run(tmp_path: Path) -> None:
    from adgen.models.sfgan.train import run
    from adgen.training.rundir import read_options
    from tests.models.sfgan.helpers import tiny_params

    first = tmp_path / "first"
    first.mkdir()
    half = run(tiny_params(first), first / "run", None, data_root=first, echo=False, until=2)
    assert half.steps == 2
    assert not str(read_options(first / "run")["params"]["index"]).startswith("/")

    moved = tmp_path / "moved"
    shutil.copytree(first, moved)
    shutil.rmtree(first)  # nothing may still point at the old place
    resumed = run(tiny_params(moved), moved / "run", None, data_root=moved, echo=False)
    assert resumed.steps == 6


@pytest.mark.slow
def test_a_copied_workspace_re_decides_no_photo(
    tmp_path: Path,
    fixture_detector_dir: Path,  # noqa: F811
) -> None:
    from adgen import config
    from adgen.detect.stage import run_filter

    first = Project(tmp_path / "first", fixture_detector_dir)
    first.add_image(kept_photo())
    first.add_image(kept_photo((170, 250)))
    first.write()
    assert adgen("filter", cwd=tmp_path / "first").returncode == 0

    moved = tmp_path / "moved"
    shutil.copytree(tmp_path / "first", moved, symlinks=True)
    shutil.rmtree(tmp_path / "first")
    params = config.load(moved / "params.yaml")
    assert run_filter(params).up_to_date  # the same stage stamp
    (moved / "data/filtered/.filter-stamp").unlink()  # the merge again: the decisions are still valid
    result = run_filter(params)
    assert result.merged and result.processed == 0 and result.stats["kept"] == 2


@pytest.mark.slow
def test_a_generate_that_fills_the_disk_leaves_no_output_dir(project: Path) -> None:  # noqa: F811
    outs = project / "outs"
    with broken_dir(outs, project / "hook", "ENOSPC", after=3) as env:  # full after a few images
        line = error_line(
            adgen(
                "--params",
                str(project / "params.yaml"),
                "generate",
                "--pose",
                "pose.json",
                "--bag",
                "bag.png",
                "-o",
                "outs/ads",
                cwd=project,
                env=env,
            )  # fmt: skip
        )
    assert "No space left on device" in line
    assert not (outs / "ads").exists()  # not a dir holding bag.png and a few images
    assert outs.is_dir()  # what was there before stays
