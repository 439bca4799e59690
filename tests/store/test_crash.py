"""A writer killed with SIGKILL mid-shard: only whole shards, an index that agrees, and the next
writer packs what the dead one had staged — nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from adgen.store import StoreReader, StoreWriter, index, layout, staging
from adgen.store.verify import verify
from tests.store.helpers import jpeg, sha

WRITER = """
import sys
from adgen.store import StoreWriter
from tests.store.helpers import jpeg
w = StoreWriter(sys.argv[1], label="site", max_samples=5).open()
i = 0
while True:
    w.put(jpeg(i), "jpg", {"n": i})
    print(i, flush=True)  # only after put returned: the sample is durable
    i += 1
"""


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [7, 12])
def test_kill_9_mid_shard_leaves_whole_shards_and_loses_nothing(tmp_path: Path, kill_after: int) -> None:
    store = tmp_path / "store"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(store)], stdout=subprocess.PIPE, text=True, env=env
    )
    returned = -1
    assert proc.stdout is not None
    for line in proc.stdout:
        returned = int(line)
        if returned + 1 >= kill_after:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

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
    """A staging-only writer that stages `n` photos and is never closed (as after kill -9)."""
    w = StoreWriter(store, label="site", pack=False).open()
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


def test_a_failed_append_is_cut_off_so_the_next_record_is_found(tmp_path: Path) -> None:
    """A full disk fails one append midway; after space is freed the next put must not sit behind
    the torn bytes (where recovery would stop reading)."""
    store = tmp_path / "store"
    w = StoreWriter(store, label="site", pack=False).open()
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
    w.close()
    with StoreWriter(store, label="merge"):
        pass
    assert sorted(StoreReader(store).keys()) == sorted(sha(jpeg(i)) for i in (0, 2))
