"""`adgen store migrate` and `adgen store verify` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from adgen.errors import UserError
from adgen.store import StoreReader, index, layout
from tests.store.helpers import per_file_store, run_adgen, sha


def _project(root: Path, **store) -> None:
    (root / "params.yaml").write_text(yaml.safe_dump({"store": {"shard_max_samples": 4, **store}}))


def test_migrate_round_trips_a_per_file_store(tmp_path: Path) -> None:
    _project(tmp_path)
    before, images = per_file_store(tmp_path, 10)
    r = run_adgen(tmp_path, "store", "migrate")
    assert r.returncode == 0, r.stderr
    assert "10 packed into 3 new shards" in r.stderr + r.stdout
    assert not (tmp_path / "data/raw/images").exists()  # per-file images gone only after the manifest

    reader = StoreReader(tmp_path / "data/raw/store")
    assert sorted(reader.keys()) == sorted(images)
    assert all(reader.get(k) == v for k, v in images.items())
    after = pd.read_parquet(tmp_path / "data/raw/manifest.parquet")
    assert "path" not in after.columns
    assert list(after["image_id"]) == list(before["image_id"])
    for row in after.to_dict("records"):
        file_id = row["duplicate_of"] if isinstance(row["duplicate_of"], str) else row["image_id"]
        assert (row["shard"], row["member"]) == reader.location(file_id)
    meta = reader.meta(before["image_id"][0])
    assert meta["source_url"] == before["source_url"][0] and "path" not in meta

    again = run_adgen(tmp_path, "store", "migrate")  # nothing left to do, nothing duplicated
    assert again.returncode == 0, again.stderr
    assert len(StoreReader(tmp_path / "data/raw/store").table) == 2 * len(images)
    assert len(layout.shard_files(tmp_path / "data/raw/store")) == 3


def test_migrate_refuses_a_file_whose_bytes_do_not_match_its_name(tmp_path: Path) -> None:
    _project(tmp_path)
    before, images = per_file_store(tmp_path, 3)
    victim = tmp_path / before["path"][0]
    victim.write_bytes(victim.read_bytes() + b"x")
    r = run_adgen(tmp_path, "store", "migrate")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "do not hash to its name" in r.stderr
    assert victim.exists() and "path" in pd.read_parquet(tmp_path / "data/raw/manifest.parquet").columns


@pytest.mark.parametrize("where", ["jpg", "json"])
def test_verify_prints_one_line_per_bad_member_and_fails(tmp_path: Path, where: str) -> None:
    _project(tmp_path)
    per_file_store(tmp_path, 6)
    assert run_adgen(tmp_path, "store", "migrate").returncode == 0
    store = tmp_path / "data/raw/store"
    ok = run_adgen(tmp_path, "store", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    table, _ = index.read(store / layout.INDEX)
    row = next(r for r in table.to_pylist() if r["field"] == where)
    shard = store / layout.SHARDS / row["shard"]
    blob = bytearray(shard.read_bytes())
    blob[row["offset"]] ^= 0x40
    shard.write_bytes(bytes(blob))
    bad = run_adgen(tmp_path, "store", "verify")
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    assert len(lines) == 1 and f"{row['shard']}/{row['member']}" in lines[0]


def test_migrate_killed_after_packing_part_of_the_store_finishes_without_duplicates(tmp_path: Path) -> None:
    """A kill after some images were packed (before the manifest was rewritten): the re-run packs
    the rest, skips what is in shards already, and every id ends up stored exactly once."""
    from adgen.store import StoreWriter

    _project(tmp_path)
    before, images = per_file_store(tmp_path, 8)
    with StoreWriter(tmp_path / "data/raw/store", label="migrate", durable=False) as w:
        for key in sorted(images)[:3]:
            w.put(images[key], "jpg")
    r = run_adgen(tmp_path, "store", "migrate")
    assert r.returncode == 0, r.stderr
    assert "5 packed" in r.stderr + r.stdout and "3 already in the store" in r.stderr + r.stdout
    reader = StoreReader(tmp_path / "data/raw/store")
    jpgs = [row["image_id"] for row in reader.table.to_pylist() if row["field"] == "jpg"]
    assert sorted(jpgs) == sorted(images)  # each once
    after = pd.read_parquet(tmp_path / "data/raw/manifest.parquet")
    assert list(after["image_id"]) == list(before["image_id"]) and after["member"].notna().all()


def test_migrate_moves_per_file_user_bags_into_their_store(tmp_path: Path) -> None:
    """A bag set imported before the store (`<user_bags>/images/ab/<id>.png` + a `path` column)."""
    import io

    from PIL import Image

    from adgen import config
    from adgen.bags.importer import user_bags

    _project(tmp_path)
    rows, pngs = [], {}
    for i in range(3):
        buf = io.BytesIO()
        Image.new("RGBA", (8 + i, 8), (200, 0, 0, 255)).save(buf, format="PNG")
        iid = sha(buf.getvalue())
        path = tmp_path / "data/user_bags/images" / iid[:2] / f"{iid}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buf.getvalue())
        pngs[iid] = buf.getvalue()
        rows.append({"image_id": iid, "path": path.relative_to(tmp_path).as_posix(), "original_name": f"{i}.png",
                     "cutout": False, "width": 8 + i, "height": 8})  # fmt: skip
    pd.DataFrame(rows).to_parquet(tmp_path / "data/user_bags/bags.parquet", index=False)
    p = config.load(tmp_path / "params.yaml")
    with pytest.raises(UserError, match="adgen store migrate"):
        user_bags(p)  # the old table is named in one line, not misread
    r = run_adgen(tmp_path, "store", "migrate")
    assert r.returncode == 0, r.stderr
    assert "(user bags): 3 files, 3 packed" in r.stdout + r.stderr
    assert not (tmp_path / "data/user_bags/images").exists()
    table, bags = user_bags(p)
    assert list(table["image_id"]) == [row["image_id"] for row in rows] and "path" not in table
    assert all(bags.get(m) == pngs[i] for i, m in zip(table["image_id"], table["member"], strict=True))
