"""A real Redis server for the distributed-crawl tests and bench: Debian's redis-server on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def redis_available() -> bool:
    return shutil.which(REDIS_SERVER) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server without persistence on a free port; yields its redis:// URL; stops it after."""
    with redis_process() as (url, _proc):
        yield url


@contextmanager
def redis_process() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The same, also yielding the server process (a test may kill it)."""
    import redis

    with tempfile.TemporaryDirectory(prefix="adgen-redis-") as tmp:
        port = _free_port()
        proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp,
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            client = redis.Redis.from_url(url)
            deadline = time.monotonic() + 20
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError(f"redis-server did not start on port {port}") from None
                    time.sleep(0.05)
            client.close()
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def timed_site(**kw):
    """The fixture stock site whose request log also says when each request arrived (`at`, monotonic
    seconds, taken as its handler starts: before the site's latency and its own work)."""
    import threading
    import time as _time

    from adgen.fixtures.site.server import FixtureSite

    arrival = threading.local()  # one handler thread per connection: its current request's arrival

    class TimedSite(FixtureSite):
        def listen(self):
            server = super().listen()
            base = server.RequestHandlerClass

            class Stamped(base):  # type: ignore[misc, valid-type]
                def _handle(self, method: str, send_body: bool = True) -> None:
                    arrival.at = _time.monotonic()
                    super()._handle(method, send_body)

            server.RequestHandlerClass = Stamped
            return server

        def record(self, method: str, path: str, status: int) -> None:
            at = getattr(arrival, "at", None) or _time.monotonic()
            with self._lock:
                self._log.append({"method": method, "path": path, "status": status, "at": at})

    return TimedSite(**kw)


SITE_PREFIXES = {
    "123rf": "/123rf/",
    "depositphotos": "/depositphotos/",
    "getty": "/getty/",
    "profile": "/profile/",
}


def peak_in_window(times: list[float], window: float) -> int:
    """The most requests that arrived within any `window` seconds."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
