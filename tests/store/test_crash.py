"""A writer killed with SIGKILL mid-shard: only whole shards, an index that agrees, and the next
writer packs what the dead one had staged or spooled — nothing lost, nothing twice, nothing torn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from adgen.store import StoreReader, StoreWriter, index, layout, shards, spool, staging
from adgen.store.verify import verify
from tests.store.helpers import jpeg, sha

WRITER = """
import sys
from adgen.store import StoreWriter
from tests.store.helpers import jpeg
w = StoreWriter(sys.argv[1], label="site", max_samples=5, pack=sys.argv[2] == "pack").open()
i = 0
while True:
    w.put(jpeg(i), "jpg", {"n": i})
    print(i, flush=True)  # only after put returned: the sample is durable
    i += 1
"""


def _write_until_killed(tmp_path: Path, store: Path, puts: int, mode: str) -> int:
    """A writer process (`pack`: packing, `spool`: a crawl process's) killed with SIGKILL once
    `puts` puts have returned; returns the index of the last put that returned."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(store), mode], stdout=subprocess.PIPE, text=True, env=env
    )
    returned = -1
    assert proc.stdout is not None
    for line in proc.stdout:
        returned = int(line)
        if returned + 1 >= puts:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return returned


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [7, 12])
def test_kill_9_mid_shard_leaves_whole_shards_and_loses_nothing(tmp_path: Path, kill_after: int) -> None:
    store = tmp_path / "store"
    returned = _write_until_killed(tmp_path, store, kill_after, "pack")

    # Right after the kill: every file in shards/ is a whole shard, and readers agree with them.
    for path in (store / layout.SHARDS).iterdir():
        assert layout.SHARD.fullmatch(path.name), f"stray file in shards/: {path.name}"
        with tarfile.open(path) as tar:
            assert len(tar.getmembers()) == 10  # 5 samples x (jpg + json)
    table, _ = index.read(store / layout.INDEX)
    index.reconcile(store, table)  # raises if the index names a shard that is not there
    assert verify(store).problems == []
    staged = list((store / layout.STAGING).glob("*/*.staged"))
    assert staged, "the kill came mid-shard: samples were waiting in staging"

    # The next writer packs them first: every put that returned is in the store, none twice.
    with StoreWriter(store, label="site", max_samples=5):
        pass
    reader = StoreReader(store)
    wanted = {sha(jpeg(i)) for i in range(returned + 1)}
    possible = wanted | {sha(jpeg(returned + 1))}  # the put the kill interrupted may have finished
    assert wanted <= set(reader.keys()) <= possible
    jpg_rows = [r["image_id"] for r in reader.table.to_pylist() if r["field"] == "jpg"]
    assert len(jpg_rows) == len(set(jpg_rows))
    assert all(reader.get(sha(jpeg(i))) == jpeg(i) for i in range(returned + 1))
    assert not list((store / layout.STAGING).iterdir())
    assert verify(store).problems == []


def _stage_and_die(store: Path, n: int) -> Path:
    """A durable packing writer (the filter's masks) that stages `n` photos and is never closed
    (as after kill -9)."""
    w = StoreWriter(store, label="site", max_samples=1000).open()
    for i in range(n):
        w.put(jpeg(i), "jpg", {"n": i})
    (path,) = (store / layout.STAGING).glob(f"*/{staging.FILE_NAME}")
    w._lock_fh.close()  # the process is gone: its lock with it
    return path


@pytest.mark.parametrize("cut", [1, staging.HEADER.size + 10, -1])
def test_a_record_torn_by_a_kill_mid_append_is_dropped_never_packed(tmp_path: Path, cut: int) -> None:
    """kill -9 mid-append leaves part of the last record: the next writer packs the whole ones."""
    store = tmp_path / "store"
    path = _stage_and_die(store, 4)
    whole = path.read_bytes()
    torn = staging.encode(sha(jpeg(99)), {"jpg": jpeg(99), "json": b"{}"})
    path.write_bytes(whole + torn[:cut])  # cut -1: every byte but the last one reached the disk
    with StoreWriter(store, label="merge"):
        pass
    reader = StoreReader(store)
    assert sorted(reader.keys()) == sorted(sha(jpeg(i)) for i in range(4))
    assert all(reader.get(sha(jpeg(i)), "jpg") == jpeg(i) for i in range(4))
    assert not list((store / layout.STAGING).iterdir())
    assert verify(store).problems == []


def test_a_last_record_whose_bytes_do_not_match_its_checksum_is_dropped(tmp_path: Path) -> None:
    """A crash can leave a record of the right length with garbage (zeros) where data was due."""
    store = tmp_path / "store"
    path = _stage_and_die(store, 3)
    data = bytearray(path.read_bytes())
    data[-20:] = bytes(20)
    path.write_bytes(bytes(data))
    with StoreWriter(store, label="merge"):
        pass
    assert sorted(StoreReader(store).keys()) == sorted(sha(jpeg(i)) for i in range(2))


@pytest.mark.parametrize("pack", [True, False], ids=["staging file", "spool"])
def test_a_failed_append_is_cut_off_so_the_next_record_is_found(tmp_path: Path, pack: bool) -> None:
    """A full disk fails one append midway; after space is freed the next put must not sit behind
    the torn bytes (where recovery would stop reading)."""
    store = tmp_path / "store"
    w = StoreWriter(store, label="site", pack=pack, max_samples=1000).open()
    w.put(jpeg(0), "jpg")
    real_write = os.write

    def half_then_full(fd: int, data) -> int:
        os.write = real_write
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    os.write = half_then_full
    try:
        with pytest.raises(Exception, match="No space left"):
            w.put(jpeg(1), "jpg")
    finally:
        os.write = real_write
    w.put(jpeg(2), "jpg")
    if pack:
        w.abandon()  # as if killed: the staging file is recovered by the next writer
    else:
        w._lock_fh.close()  # killed: its spool was never finished
    with StoreWriter(store, label="merge"):
        pass
    assert sorted(StoreReader(store).keys()) == sorted(sha(jpeg(i)) for i in (0, 2))
    assert verify(store).problems == []


# -- a crawl process's spool ----------------------------------------------------------------------
@pytest.mark.slow
def test_kill_9_mid_spool_keeps_every_acknowledged_photo_and_no_torn_one(tmp_path: Path) -> None:
    store = tmp_path / "store"
    returned = _write_until_killed(tmp_path, store, 13, "spool")
    assert not list((store / layout.SHARDS).iterdir()), "a spooling writer never writes shards/"
    spools = sorted(p.name for p in (store / layout.STAGING).glob("*/*.tar"))
    assert len(spools) >= 3  # two full (finished) spools of 5 and the open one

    with StoreWriter(store, label="merge"):
        pass
    reader = StoreReader(store)
    wanted = {sha(jpeg(i)) for i in range(returned + 1)}
    assert wanted <= set(reader.keys()) <= wanted | {sha(jpeg(returned + 1))}
    assert sorted(reader.shards()) == spools  # each spool became a shard under its own name
    for path in layout.shard_files(store):
        with tarfile.open(path) as tar:  # whole tars, every member indexed
            assert len(tar.getmembers()) == len(
                [r for r in reader.table.to_pylist() if r["shard"] == path.name]
            )
    assert not list((store / layout.STAGING).iterdir())
    assert verify(store).problems == []


def _spool_and_die(store: Path, n: int) -> Path:
    """A staging-only writer that spools `n` photos and is never closed (as after kill -9)."""
    w = StoreWriter(store, label="site", pack=False).open()
    for i in range(n):
        w.put(jpeg(i), "jpg", {"n": i})
    (path,) = (store / layout.STAGING).glob("*/*.tar")
    w._lock_fh.close()
    return path


def _sample(i: int) -> bytes:
    parts, _ = shards.sample_members(sha(jpeg(i)), {"jpg": jpeg(i), "json": b'{"n": 99}'}, 0)
    return b"".join(parts)


@pytest.mark.parametrize("cut", [1, shards.BLOCK + 10, -1], ids=["header", "image", "last byte"])
def test_a_sample_torn_by_a_kill_mid_spool_is_dropped_never_packed(tmp_path: Path, cut: int) -> None:
    store = tmp_path / "store"
    path = _spool_and_die(store, 4)
    path.write_bytes(path.read_bytes() + _sample(99)[:cut])
    with StoreWriter(store, label="merge"):
        pass
    reader = StoreReader(store)
    assert sorted(reader.keys()) == sorted(sha(jpeg(i)) for i in range(4))
    assert all(reader.get(sha(jpeg(i)), "jpg") == jpeg(i) for i in range(4))
    (shard,) = layout.shard_files(store)
    with tarfile.open(shard) as tar:  # cut back and finished: a whole tar of the 4 samples
        assert len(tar.getmembers()) == 8
    assert verify(store).problems == []


def test_a_spooled_image_whose_bytes_do_not_hash_to_its_key_is_dropped(tmp_path: Path) -> None:
    """A crash can leave a sample of the right length with zeros where the image was due."""
    store = tmp_path / "store"
    path = _spool_and_die(store, 3)
    data = bytearray(path.read_bytes())
    start = len(data) - len(_sample(2)) + shards.BLOCK  # the last sample's image data
    data[start : start + 20] = bytes(20)
    path.write_bytes(bytes(data))
    with StoreWriter(store, label="merge"):
        pass
    assert sorted(StoreReader(store).keys()) == sorted(sha(jpeg(i)) for i in range(2))


def test_a_finished_spool_becomes_a_shard_without_a_byte_copied(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with StoreWriter(store, label="site", pack=False) as w:
        for i in range(3):
            w.put(jpeg(i), "jpg", {"n": i})
    (path,) = (store / layout.STAGING).glob("*/*.tar")
    inode, data = path.stat().st_ino, path.read_bytes()
    assert spool.members_file(path).exists()
    with StoreWriter(store, label="merge"):
        pass
    (shard,) = layout.shard_files(store)
    assert (shard.name, shard.stat().st_ino, shard.read_bytes()) == (path.name, inode, data)
    assert len(StoreReader(store)) == 3
    assert verify(store).problems == []


def test_a_spool_linked_before_a_kill_is_not_packed_twice(tmp_path: Path) -> None:
    """The merge died between linking a spool into shards/ and removing the staging dir."""
    store = tmp_path / "store"
    with StoreWriter(store, label="site", pack=False) as w:
        for i in range(3):
            w.put(jpeg(i), "jpg")
    (path,) = (store / layout.STAGING).glob("*/*.tar")
    os.link(path, store / layout.SHARDS / path.name)
    with StoreWriter(store, label="merge"):
        pass
    assert [p.name for p in layout.shard_files(store)] == [path.name]
    rows = StoreReader(store).table.to_pylist()
    assert len(rows) == 6 and len({(r["image_id"], r["field"]) for r in rows}) == 6
    assert not list((store / layout.STAGING).iterdir())


def test_a_photo_two_sites_spooled_is_kept_once_and_no_shard_holds_an_unindexed_member(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    a = StoreWriter(store, label="123rf", pack=False).open()
    b = StoreWriter(store, label="getty", pack=False).open()
    for i in (0, 1, 2):
        a.put(jpeg(i), "jpg", {"site": "123rf"})
    for i in (2, 3):
        b.put(jpeg(i), "jpg", {"site": "getty"})
    a.close()
    b.close()
    with StoreWriter(store, label="merge"):
        pass
    reader = StoreReader(store)
    assert sorted(reader.keys()) == sorted(sha(jpeg(i)) for i in range(4))
    jpg_rows = [r["image_id"] for r in reader.table.to_pylist() if r["field"] == "jpg"]
    assert len(jpg_rows) == 4
    for path in layout.shard_files(store):
        with tarfile.open(path) as tar:
            names = {m.name for m in tar.getmembers()}
        assert names == {r["member"] for r in reader.table.to_pylist() if r["shard"] == path.name}
    assert verify(store).problems == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda rows: [[k, f, o + 10**9, n, s] for k, f, o, n, s in rows],  # offsets past the end
        lambda rows: [["../../x", f, o, n, s] for k, f, o, n, s in rows],  # not a key
        lambda rows: rows[:1],  # rows missing: the tar would hold members the index lacks
    ],
    ids=["offsets", "key", "missing rows"],
)
def test_a_spools_members_file_that_disagrees_with_its_tar_is_not_trusted(tmp_path: Path, tamper) -> None:
    store = tmp_path / "store"
    with StoreWriter(store, label="site", pack=False) as w:
        for i in range(3):
            w.put(jpeg(i), "jpg", {"n": i})
    (path,) = (store / layout.STAGING).glob("*/*.tar")
    side = spool.members_file(path)
    body = json.loads(side.read_text())
    body["members"] = tamper(body["members"])
    side.write_text(json.dumps(body))
    with StoreWriter(store, label="merge"):
        pass
    reader = StoreReader(store)
    assert sorted(reader.keys()) == sorted(sha(jpeg(i)) for i in range(3))
    assert all(reader.get(sha(jpeg(i)), "jpg") == jpeg(i) for i in range(3))
    assert verify(store).problems == []
