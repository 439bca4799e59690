"""Issue 27, cases 1-6: a damaged store is an error, never a bad photo.

A flipped byte, a truncated or missing shard, an extra shard repeating a key, an index of another
schema and a damaged crawl spool, each in a copy of one small workspace (3 people with bags:
raw store, filter masks, strip's cut-outs and poses, built once per module). The real commands stop
with one line naming the shard, the member and `adgen store verify`, and record nothing as
`unreadable`. Before the fix the filter recorded the photo as unreadable (or ended in a traceback
from tf.data), strip and pose dropped it, build-datasets ended in a traceback and the report left
thumbnails out with exit 0.
"""

from __future__ import annotations

import io
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image

from adgen import config, manifest
from adgen.store import StoreReader, StoreWriter, layout, shards
from adgen.store.verify import verify
from tests.detect.conftest import fixture_detector_dir  # noqa: F401
from tests.matting.scenes import draw_person, write_filtered_project
from tests.pose.conftest import fixture_pose_dir  # noqa: F401

from .conftest import adgen, error_line

pytestmark = pytest.mark.slow

RAW = "data/raw/store"
CUTOUTS = "data/stripped/store"


@pytest.fixture(scope="module")
def workspace(
    tmp_path_factory: pytest.TempPathFactory,
    fixture_detector_dir: Path,  # noqa: F811
    fixture_pose_dir: Path,  # noqa: F811
) -> Path:
    """Raw photos + manifest, filter masks and manifest, strip's cut-outs and the pose table."""
    from adgen.matting.strip import strip
    from adgen.pose.stage import estimate_poses

    root = tmp_path_factory.mktemp("store-damage") / "project"
    df = write_filtered_project(root, [draw_person(seed=i, w=180, h=300) for i in range(3)])
    raw = df.assign(
        query="bag", page_url="http://fixture/", title="fixture", format="jpg", bytes=0,
        crawled_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    manifest.write(
        manifest.coerce(raw[list(manifest.RAW_COLUMNS)], manifest.RAW_COLUMNS),
        root / "data/raw/manifest.parquet",
    )
    params = {
        "detect": {"model": str(fixture_detector_dir), "max_side": 512},
        "pose": {"model": str(fixture_pose_dir)},
        "strip": {"refine_detector_masks": False},
        "datasets": {"stylegan2_resolution": 64},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    p = config.load(root / "params.yaml")
    assert strip(p).n_kept == 3
    estimate_poses(p)
    return root


def _copy(workspace: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(workspace, root, symlinks=True)
    return root


def _first(root: Path, store: str) -> tuple[Path, int, int, str]:
    """(shard, offset, size, member) of the first data member of a store's first shard."""
    table = pq.read_table(root / store / layout.INDEX).to_pylist()
    row = next(r for r in table if r["field"] != layout.META_FIELD)
    return root / store / layout.SHARDS / row["shard"], row["offset"], row["size"], row["member"]


def flip_byte(root: Path, store: str) -> tuple[str, str]:
    shard, offset, size, member = _first(root, store)
    data = bytearray(shard.read_bytes())
    data[offset + size // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    return shard.name, member


def truncate(root: Path, store: str) -> tuple[str, str]:
    shard, offset, size, member = _first(root, store)
    with open(shard, "r+b") as fh:
        fh.truncate(offset + size // 2)
    return shard.name, member


def remove_shard(root: Path, store: str) -> tuple[str, str]:
    shard, _, _, member = _first(root, store)
    shard.unlink()
    return shard.name, member


DAMAGE = {"flipped byte": flip_byte, "truncated shard": truncate, "missing shard": remove_shard}


def _forget(root: Path, *outputs: str) -> None:
    """Remove a stage's outputs, so the command reads every photo again."""
    for out in outputs:
        shutil.rmtree(root / out)


def _store_error(proc, shard: str) -> str:
    line = error_line(proc)
    assert shard in line and "adgen store verify" in line, line
    return line


def _no_unreadable(root: Path) -> None:
    for table in root.glob("data/**/*.parquet"):
        if "store" in table.parts:
            continue
        df = pd.read_parquet(table)
        if "reason" in df.columns:
            assert "unreadable" not in set(df["reason"].dropna()), table


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_filter_stops_on_a_damaged_store_and_records_nothing(
    workspace: Path, tmp_path: Path, damage: str
) -> None:
    root = _copy(workspace, tmp_path)
    before = (root / "data/filtered/manifest.parquet").read_bytes()  # the filter has not run here yet
    shard, member = DAMAGE[damage](root, RAW)
    line = _store_error(adgen("filter", cwd=root), shard)
    assert damage == "missing shard" or member in line
    assert (root / "data/filtered/manifest.parquet").read_bytes() == before
    assert not (root / "data/filtered/.filter-stamp").exists()
    _no_unreadable(root)


@pytest.mark.parametrize(
    ("command", "damage"), [("strip", "flipped byte"), ("strip", "truncated shard"), ("pose", "flipped byte")]
)
def test_strip_and_pose_stop_on_a_damaged_photo_instead_of_dropping_it(
    workspace: Path, tmp_path: Path, damage: str, command: str
) -> None:
    root = _copy(workspace, tmp_path)
    if command == "strip":  # strip reuses a killed run's cut-outs: start from none
        _forget(root, "data/stripped")  # (pose runs on strip's manifest: it keeps it)
    poses = {p: p.read_bytes() for p in (root / "data/pose").rglob("*.parquet")}
    shard, member = DAMAGE[damage](root, RAW)
    line = _store_error(adgen(command, *(["--force"] if command == "pose" else []), cwd=root), shard)
    assert member in line
    if command == "strip":
        assert not (root / "data/stripped/manifest.parquet").exists()
    assert {
        p: p.read_bytes() for p in (root / "data/pose").rglob("*.parquet")
    } == poses  # the last good run stands
    _no_unreadable(root)


@pytest.mark.parametrize("damage", ["flipped byte", "truncated shard"])
def test_build_datasets_stops_with_one_line_on_a_damaged_cutout(
    workspace: Path, tmp_path: Path, damage: str
) -> None:
    root = _copy(workspace, tmp_path)
    shard, member = DAMAGE[damage](root, CUTOUTS)
    line = _store_error(adgen("build-datasets", cwd=root), shard)
    assert damage != "flipped byte" or member in line  # a truncated shard: whichever member is read first


@pytest.mark.parametrize("damage", ["truncated shard", "missing shard"])
def test_report_names_the_photos_it_could_not_show_and_fails(
    workspace: Path, tmp_path: Path, damage: str
) -> None:
    root = _copy(workspace, tmp_path)
    shard, member = DAMAGE[damage](root, RAW)
    line = error_line(adgen("report", cwd=root))
    assert "could not give" in line and member[:12] in line and shard in line, line
    assert (root / "report/index.html").is_file()  # written, without them


def test_an_extra_shard_repeating_a_key_is_ignored_by_readers_and_named_by_verify(
    workspace: Path, tmp_path: Path
) -> None:
    root = _copy(workspace, tmp_path)
    _, _, _, member = _first(root, RAW)
    key, field = layout.split_member(member)
    good = StoreReader(root / RAW).get(key, field)
    extra = root / RAW / layout.SHARDS / "20991231T000000Z-extra-0badc0de-000000.tar"
    shards.write(extra, {key: {field: b"not the photo", layout.META_FIELD: b"{}"}})

    reader = StoreReader(root / RAW)
    assert reader.get(key, field) == good and len(reader.table) == len(
        pq.read_table(root / RAW / layout.INDEX)
    )
    _forget(root, "data/stripped")
    proc = adgen("strip", cwd=root)  # the filter decided on the extra copy; strip cut it as unreadable
    assert proc.returncode == 0, proc.stderr
    assert pd.read_parquet(root / "data/stripped/manifest.parquet")["keep"].all()
    _no_unreadable(root)
    proc = adgen("store", "verify", "--store", str(root / RAW), cwd=root)
    assert proc.returncode == 1 and f"{extra.name}/{member}: repeats a member" in proc.stdout, proc.stdout


def test_an_index_of_another_schema_is_one_line_for_verify_and_the_stages(
    workspace: Path, tmp_path: Path
) -> None:
    root = _copy(workspace, tmp_path)
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), root / RAW / layout.INDEX)
    proc = adgen("store", "verify", "--store", str(root / RAW), cwd=root)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if "not a store index" in line]
    assert len(lines) == 1 and "columns a, b" in lines[0], proc.stdout
    _forget(root, "data/stripped")
    line = error_line(adgen("strip", cwd=root))  # it said "not in the image store" (filter and pose too)
    assert "not a store index" in line and "not in the image store" not in line, line


def _jpeg(i: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (80 * i, 100, 200)).save(buf, "JPEG")
    return buf.getvalue()


def test_a_spool_with_a_flipped_byte_is_cut_not_linked(tmp_path: Path) -> None:
    """A crawl process's finished spool (what its Scrapy process leaves) with a flipped byte: the
    packing writer the crawl's merge opens keeps the samples before it and fetches the rest again."""
    store = tmp_path / "store"
    photos = [_jpeg(i) for i in range(3)]
    with StoreWriter(store, pack=False, durable=True) as spooler:
        keys = [spooler.put(data, "jpg", {"i": i}).key for i, data in enumerate(photos)]
    (spool,) = (store / layout.STAGING).glob("*/*.tar")
    data = bytearray(spool.read_bytes())
    at = bytes(data).index(photos[1])
    data[at + len(photos[1]) // 2] ^= 0x01
    spool.write_bytes(bytes(data))

    StoreWriter(store, label="merge").open().close()  # the crawl merge's `_locate`
    reader = StoreReader(store)
    assert keys[0] in reader and keys[1] not in reader and keys[2] not in reader
    assert reader.get(keys[0]) == photos[0]
    assert verify(store).problems == []
