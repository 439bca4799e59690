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

from adgen.store import StoreReader, StoreWriter, index, layout
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
