"""`adgen bags import`: only real cut-outs join the bag set; --cutout makes one with GrabCut."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from adgen import config
from adgen.bags.importer import import_bags, user_bags
from adgen.errors import UserError


def _bag_png(path: Path, alpha: str = "mask") -> None:
    rgb = np.full((60, 50, 3), (120, 130, 125), np.uint8)
    rgb[10:50, 10:40] = (200, 40, 40)
    a = np.zeros((60, 50), np.uint8)
    a[10:50, 10:40] = 255
    if alpha == "mask":
        Image.fromarray(np.dstack([rgb, a]), "RGBA").save(path)
    elif alpha == "opaque":
        Image.fromarray(np.dstack([rgb, np.full_like(a, 255)]), "RGBA").save(path)
    elif alpha == "transparent":
        Image.fromarray(np.dstack([rgb, np.zeros_like(a)]), "RGBA").save(path)
    else:
        Image.fromarray(rgb, "RGB").save(path)


def _stored(p: config.Params, row: pd.Series) -> Image.Image:
    _, bags = user_bags(p)
    return Image.open(io.BytesIO(bags.get(row["member"])))


def _shards(root: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in (root / "data/user_bags/store/shards").glob("*.tar")}


def test_valid_cutouts_are_added_tight_and_reimport_adds_nothing(tmp_path: Path) -> None:
    src = tmp_path / "mine"
    src.mkdir()
    _bag_png(src / "a.png")
    p = config.from_dict({}, root=tmp_path)
    r = import_bags(p, src)
    assert (r.added, r.total) == (1, 1)
    row = pd.read_parquet(r.table).iloc[0]
    im = _stored(p, row)
    assert im.mode == "RGBA" and im.size == (30, 40)  # cropped to its alpha
    assert (np.asarray(im)[..., 3] == 255).all()
    assert row["member"] == f"{row['image_id']}.png" and "path" not in row
    assert import_bags(p, src).added == 0


def test_bags_import_stores_the_same_bag_once_and_a_reimport_adds_no_shard(tmp_path: Path) -> None:
    src = tmp_path / "mine"
    src.mkdir()
    _bag_png(src / "a.png")
    _bag_png(src / "copy-of-a.png")  # the same cut-out under another name
    p = config.from_dict({}, root=tmp_path)
    r = import_bags(p, src)
    assert (r.added, r.already_present, r.total) == (1, 1, 1)
    first = _shards(tmp_path)
    assert len(first) == 1
    r = import_bags(p, src)
    assert (r.added, r.total) == (0, 1) and _shards(tmp_path) == first  # nothing new: no shard
    from adgen.store import StoreReader

    assert len(StoreReader(tmp_path / "data/user_bags/store")) == 1
    _bag_png(src / "b.png", "mask")
    Image.open(src / "b.png").rotate(90, expand=True).save(src / "b.png")  # another bag
    r = import_bags(p, src)
    assert (r.added, r.total) == (1, 2)
    now = _shards(tmp_path)
    assert len(now) == 2 and {k: now[k] for k in first} == first


@pytest.mark.parametrize(
    ("kind", "problem"),
    [("opaque", "fully opaque"), ("transparent", "fully transparent"), ("rgb", "no alpha")],
)
def test_png_without_a_meaningful_alpha_is_refused_in_one_line(
    tmp_path: Path, kind: str, problem: str
) -> None:
    src = tmp_path / "mine"
    src.mkdir()
    _bag_png(src / "good.png")
    _bag_png(src / "bad.png", kind)
    with pytest.raises(UserError) as exc:
        import_bags(config.from_dict({}, root=tmp_path), src)
    assert "bad.png" in str(exc.value) and problem in str(exc.value) and "\n" not in str(exc.value)
    assert not (tmp_path / "data/user_bags/bags.parquet").exists()  # nothing half-imported


def test_cutout_option_cuts_an_opaque_photo_with_grabcut(tmp_path: Path) -> None:
    src = tmp_path / "mine"
    src.mkdir()
    _bag_png(src / "photo.png", "rgb")
    r = import_bags(config.from_dict({}, root=tmp_path), src, cutout=True)
    row = pd.read_parquet(r.table).iloc[0]
    assert row["cutout"]
    a = np.asarray(_stored(config.from_dict({}, root=tmp_path), row))[..., 3] > 0
    assert abs(a.shape[0] - 40) <= 2 and abs(a.shape[1] - 30) <= 2 and a.mean() > 0.9


def test_imported_bags_join_the_stgan_foregrounds(tmp_path: Path) -> None:
    from adgen.datasets.build import build_datasets
    from tests.matting.scenes import draw_person, write_filtered_project

    write_filtered_project(tmp_path, [draw_person(seed=1)])
    p = config.from_dict({"strip": {"refine_detector_masks": False}}, root=tmp_path)
    from adgen.matting.strip import strip

    strip(p)
    src = tmp_path / "mine"
    src.mkdir()
    _bag_png(src / "a.png")
    import_bags(p, src)
    build_datasets(p)
    idx = pd.read_parquet(tmp_path / "data/datasets/stgan/index.parquet")
    fg = idx[idx["role"] == "foreground"]
    assert sorted(fg["source"].unique()) == ["kept", "user"]


def test_cli_bags_import_reports_and_errors_in_one_line(tmp_path: Path) -> None:
    src = tmp_path / "mine"
    src.mkdir()
    _bag_png(src / "a.png", "opaque")
    (tmp_path / "params.yaml").write_text("{}\n")
    code = "from adgen.cli import main; main()"
    run = [sys.executable, "-c", code, "--params", str(tmp_path / "params.yaml"), "bags", "import", str(src)]
    out = subprocess.run(run, capture_output=True, text=True)
    assert out.returncode == 2 and "pass --cutout" in out.stderr and out.stderr.count("\n") == 1
    out = subprocess.run([*run, "--cutout"], capture_output=True, text=True)
    assert out.returncode == 0 and "1 added" in out.stdout, out.stderr
