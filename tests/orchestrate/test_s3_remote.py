"""A real S3 object store (SeaweedFS) as the DVC remote: a dataset version pushed from one machine
restores on another from nothing but a git clone and the bucket.

The remote's URL and endpoint are committed in .dvc/config (shared by every machine); the
credentials come from each machine's environment. Everything is real: `weed server -s3` on
127.0.0.1, DVC's S3 remote (dvc-s3), git clone from a bare remote.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.orchestrate import servers
from tests.orchestrate.servers import S3Store, bare_remote, dataset_repo, git

s3_store = servers.s3_store  # the fixture (a SeaweedFS server for the test)

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PHOTOS = 40


def dvc(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full.update(DVC_NO_ANALYTICS="1", AWS_EC2_METADATA_DISABLED="true", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=repo, env=full, capture_output=True, text=True
    )


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"{proc.args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_dataset_version_pushed_to_s3_restores_in_a_fresh_clone(tmp_path: Path, s3_store: S3Store):
    origin = tmp_path / "machine-a"
    photos = dataset_repo(origin, PHOTOS)
    s3_store.add_remote(origin, "s3", "adgen")
    git(origin, "add", ".dvc/config")
    git(origin, "commit", "-q", "-m", "DVC remote: the team's S3 bucket")
    remote = bare_remote(origin, tmp_path / "pipeline.git")

    ok(dvc(origin, "push", env=s3_store.env()))
    stored = s3_store.objects("adgen")
    # every photo plus the directory's .dir listing, read back through the S3 API
    assert len([k for k in stored if "/files/md5/" in k]) == PHOTOS + 1, stored

    clone = tmp_path / "machine-b"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True)
    assert git(clone, "tag", "--list") == "dataset-test\n"
    assert not (clone / "data" / "datasets" / "photos").exists()
    assert not (clone / ".dvc" / "cache").exists()

    denied = dvc(clone, "pull")  # no credentials on this machine yet: the store refuses
    assert denied.returncode != 0
    assert "Unable to locate credentials" in denied.stderr, denied.stderr
    assert not (clone / "data" / "datasets" / "photos").exists()

    ok(dvc(clone, "pull", env=s3_store.env()))
    assert files(clone / "data" / "datasets" / "photos") == files(photos)
    status = ok(dvc(clone, "status"))
    assert "up to date" in status, status
    cloud = ok(dvc(clone, "status", "--cloud", env=s3_store.env()))
    assert "in sync" in cloud, cloud
