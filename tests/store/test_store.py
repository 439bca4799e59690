"""The image store's promises: what goes in comes out by id and shard by shard, shards are whole
and never rewritten, the same bytes are kept once, and the index agrees with the shards."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from adgen.errors import UserError
from adgen.store import StoreReader, StoreWriter, index, layout, shards
from adgen.store.verify import verify
from tests.store.helpers import jpeg, sha


def _fill(root: Path, ids: range, **kw) -> dict[str, bytes]:
    images = {}
    with StoreWriter(root, **kw) as w:
        for i in ids:
            data = jpeg(i)
            if w.put(data, "jpg", {"n": i}).is_new:
                images[sha(data)] = data
    return images


def test_images_come_back_by_id_and_in_shard_order(tmp_path: Path) -> None:
    images = _fill(tmp_path, range(7), max_samples=3)
    reader = StoreReader(tmp_path)
    assert len(reader) == 7 and len(reader.shards()) == 3  # 3 + 3 + 1
    for key, data in images.items():
        assert reader.get(key) == data
        assert reader.get(key, "jpg") == data
        assert reader.meta(key)["n"] in range(7)
    streamed = list(reader.stream())
    assert [s.shard for s in streamed] == sorted(s.shard for s in streamed)
    assert {s.key: s.data() for s in streamed} == images
    some = sorted(images)[:2]
    assert sorted(s.key for s in reader.stream(some)) == some


def test_a_shard_closes_at_the_byte_target_too(tmp_path: Path) -> None:
    _fill(tmp_path, range(6), max_samples=100, max_bytes=1024)  # each JPEG is ~700 bytes
    assert len(StoreReader(tmp_path).shards()) >= 3


def test_index_offsets_point_at_the_members_data(tmp_path: Path) -> None:
    _fill(tmp_path, range(4), max_samples=10)
    table, content_addressed = index.read(tmp_path / layout.INDEX)
    assert content_addressed
    rows = table.to_pylist()
    (shard,) = {r["shard"] for r in rows}
    with tarfile.open(tmp_path / layout.SHARDS / shard) as tar:
        infos = {i.name: i for i in tar}
        for r in rows:
            info = infos[r["member"]]
            assert (info.offset_data, info.size) == (r["offset"], r["size"])
            assert hashlib.sha256(tar.extractfile(info).read()).hexdigest() == r["sha256"]


def test_the_same_bytes_are_stored_once(tmp_path: Path) -> None:
    data = jpeg(1)
    with StoreWriter(tmp_path, max_samples=2) as w:
        assert w.put(data, "jpg").is_new
        assert not w.put(data, "jpg").is_new  # pending in this writer
        w.flush()
        assert not w.put(data, "jpg").is_new  # in a closed shard
    with StoreWriter(tmp_path) as w:
        assert not w.put(data, "jpg").is_new  # a later session
    assert len(StoreReader(tmp_path).table) == 2  # one jpg + one json member


def test_refresh_adds_new_shards_and_leaves_old_ones_byte_identical(tmp_path: Path) -> None:
    _fill(tmp_path, range(5), max_samples=2)
    before = {p.name: p.read_bytes() for p in layout.shard_files(tmp_path)}
    assert len(_fill(tmp_path, range(3, 9), max_samples=2)) == 4  # 3 and 4 are known
    after = {p.name: p.read_bytes() for p in layout.shard_files(tmp_path)}
    assert {k: after[k] for k in before} == before
    assert len(after) - len(before) == 2
    reader = StoreReader(tmp_path)
    assert len(reader) == 9
    assert verify(tmp_path).problems == []


def test_two_writers_at_once_name_shards_apart_and_keep_shared_bytes_once(tmp_path: Path) -> None:
    a = StoreWriter(tmp_path, label="123rf", max_samples=2).open()
    b = StoreWriter(tmp_path, label="getty", max_samples=2).open()
    for i in range(5):
        a.put(jpeg(i), "jpg")
    for i in range(3, 8):  # 3 and 4 fetched by both sites
        b.put(jpeg(i), "jpg")
    a.close()
    b.close()
    names = [p.name for p in layout.shard_files(tmp_path)]
    assert len(names) == len(set(names))
    assert {n.split("-")[1] for n in names} == {"123rf", "getty"}
    reader = StoreReader(tmp_path)
    assert sorted(reader.keys()) == sorted(sha(jpeg(i)) for i in range(8))
    data_rows = [r for r in reader.table.to_pylist() if r["field"] == "jpg"]
    assert len(data_rows) == 8  # none twice
    assert verify(tmp_path).problems == []


def test_a_shard_missing_from_the_index_is_read_from_its_headers(tmp_path: Path) -> None:
    """A writer killed after renaming a shard into place but before writing the index."""
    _fill(tmp_path, range(2), max_samples=10)
    old_index = (tmp_path / layout.INDEX).read_bytes()
    images = _fill(tmp_path, range(2, 4), max_samples=10)
    (tmp_path / layout.INDEX).write_bytes(old_index)
    reader = StoreReader(tmp_path)
    assert len(reader.unindexed) == 1
    assert all(reader.get(k) == v for k, v in images.items())
    with StoreWriter(tmp_path) as w:  # the next writer writes it into the index
        assert not w.put(jpeg(3), "jpg").is_new
    assert StoreReader(tmp_path).unindexed == []
    assert index.read(tmp_path / layout.INDEX)[0].num_rows == 8


def test_an_index_naming_a_deleted_shard_is_refused_in_one_line(tmp_path: Path) -> None:
    _fill(tmp_path, range(2), max_samples=1)
    layout.shard_files(tmp_path)[0].unlink()
    with pytest.raises(UserError, match="dvc checkout"):
        StoreReader(tmp_path)


def test_samples_keyed_by_image_id_hold_several_members(tmp_path: Path) -> None:
    """Per-image outputs (masks, cut-outs) are keyed by the photo's id, not their own hash."""
    iid = sha(jpeg(0))
    with StoreWriter(tmp_path, content_addressed=False) as w:
        w.put_sample(iid, {"person.png": b"P", "bag.png": b"B"}, {"score": 0.9})
    reader = StoreReader(tmp_path)
    assert reader.fields(iid) == ["bag.png", "person.png"]
    assert reader.get(iid, "bag.png") == b"B" and reader.meta(iid) == {"score": 0.9}
    assert verify(tmp_path).problems == []
    with pytest.raises(UserError, match="content-addressed"):
        StoreWriter(tmp_path, content_addressed=True).open()


@pytest.mark.parametrize("key", ["../../etc/passwd", "A" * 64, "ab"])
def test_a_key_that_is_not_a_digest_never_becomes_a_member(tmp_path: Path, key: str) -> None:
    with StoreWriter(tmp_path, content_addressed=False) as w, pytest.raises(UserError, match="sha256"):
        w.put_sample(key, {"png": b"x"})


def test_shards_are_webdataset_shards(tmp_path: Path) -> None:
    """The webdataset package reads a shard the project wrote: same bytes, same metadata."""
    wds = pytest.importorskip("webdataset")
    images = _fill(tmp_path, range(5), max_samples=10)
    (shard,) = layout.shard_files(tmp_path)
    seen = {}
    for sample in wds.WebDataset(str(shard), shardshuffle=False):
        seen[sample["__key__"]] = sample["jpg"]
        assert json.loads(sample["json"])["n"] in range(5)
    assert seen == images


def test_verify_names_a_member_with_a_flipped_byte(tmp_path: Path) -> None:
    images = _fill(tmp_path, range(3), max_samples=10)
    key = sorted(images)[1]
    table, _ = index.read(tmp_path / layout.INDEX)
    (row,) = [r for r in table.to_pylist() if r["image_id"] == key and r["field"] == "jpg"]
    shard = tmp_path / layout.SHARDS / row["shard"]
    blob = bytearray(shard.read_bytes())
    blob[row["offset"] + row["size"] // 2] ^= 0x01
    shard.write_bytes(bytes(blob))
    problems = verify(tmp_path).problems
    assert len(problems) == 1
    assert problems[0].startswith(f"{row['shard']}/{key}.jpg:") and "not to its id" in problems[0]


def test_store_params_are_checked_with_one_line(tmp_path: Path) -> None:
    from adgen import config

    with pytest.raises(UserError, match=r"store\.shard_max_sample: unknown key"):
        config.from_dict({"store": {"shard_max_sample": 5}})
    with pytest.raises(UserError, match=r"store\.shard_max_samples: .*greater than or equal to 1"):
        config.from_dict({"store": {"shard_max_samples": 0}})
    assert config.from_dict({}).store.shard_max_samples == 10_000


def test_a_staging_only_writer_leaves_its_photos_for_the_next_packing_writer(tmp_path: Path) -> None:
    """The crawl's Scrapy processes only stage (no index, no pyarrow); the stage's merge packs."""
    known = _fill(tmp_path, range(2), max_samples=10)
    with StoreWriter(tmp_path, label="site", pack=False, known=known) as w:
        assert not w.put(jpeg(0), "jpg").is_new  # known to the caller: not staged again
        for i in range(2, 5):
            assert w.put(jpeg(i), "jpg").is_new
    assert len(StoreReader(tmp_path)) == 2  # nothing packed yet
    (spooled,) = (tmp_path / layout.STAGING).glob("*/*.tar")  # one open shard per writer
    with tarfile.open(spooled) as tar:
        assert len(tar.getmembers()) == 6
    with StoreWriter(tmp_path, label="merge"):
        pass
    reader = StoreReader(tmp_path)
    assert sorted(reader.keys()) == sorted(sha(jpeg(i)) for i in range(5))
    assert not list((tmp_path / layout.STAGING).iterdir())
    assert verify(tmp_path).problems == []


def test_shards_are_the_bytes_tarfile_writes_for_the_same_members(tmp_path: Path) -> None:
    """The store builds its own USTAR headers (tarfile's were a third of the crawl merge); any tar
    reader must see exactly what tarfile would have written."""
    import io

    samples = {
        sha(jpeg(i)): {
            "jpg": jpeg(i) * (i + 1),
            "json": json.dumps({"n": i}).encode(),
            "person.png": b"x" * i,
        }
        for i in range(12)
    }
    samples[sha(b"empty")] = {"jpg": b"", "json": b""}
    ours = index.rows("s.tar", shards.write(tmp_path / "s.tar", samples))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for key in sorted(samples):
            for field in sorted(samples[key]):
                info = tarfile.TarInfo(f"{key}.{field}")
                info.size, info.mtime, info.mode, info.uid, info.gid = (
                    len(samples[key][field]),
                    0,
                    0o644,
                    0,
                    0,
                )
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(samples[key][field]))
    assert (tmp_path / "s.tar").read_bytes() == buf.getvalue()
    with tarfile.open(tmp_path / "s.tar") as tar:
        offsets = {m.name: (m.offset_data, m.size) for m in tar.getmembers()}
    assert {r["member"]: (r["offset"], r["size"]) for r in ours.to_pylist()} == offsets
