"""The distributed crawl's rules in Redis, one by one, against a real redis-server."""

from __future__ import annotations

import threading
import time

import pytest
import scrapy
from scrapy.utils.request import request_from_dict

from adgen.crawl import frontier
from tests.crawl.cluster_helpers import redis_available, redis_server

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server is not installed (apt install redis-server)"
)


@pytest.fixture(scope="module")
def redis_url():
    with redis_server() as url:
        yield url


@pytest.fixture
def server(redis_url):
    client = frontier.connect(redis_url)
    client.flushdb()
    yield client
    client.close()


def test_a_request_leased_by_a_node_that_dies_goes_back_and_is_fetched_by_another(server):
    a = frontier.Frontier(server, "getty", "a", lease_seconds=1.0)
    b = frontier.Frontier(server, "getty", "b", lease_seconds=1.0)
    a.push(b"detail-1", priority=10)
    a.push(b"search-2", priority=-2)
    first = a.pop()
    assert first is not None and first.payload == b"detail-1" and not first.requeued  # best priority first
    assert a.leases_of("a") == {first.token: b"detail-1"}
    search = b.pop()
    assert search.payload == b"search-2"
    b.ack(search.token)  # b handled it
    assert b.pop() is None  # a's lease still runs: nothing to take
    assert not a.drained()  # an idle node must not close while a lease is out
    time.sleep(1.2)  # a never renews nor acks: it died
    again = b.pop()
    assert again is not None and again.payload == b"detail-1" and again.requeued
    assert b.requeued_by_me == 1
    assert not a.drained()
    b.ack(again.token)
    assert a.drained()


def test_a_live_node_keeps_its_leases_by_renewing_them(server):
    a = frontier.Frontier(server, "getty", "a", lease_seconds=1.0)
    b = frontier.Frontier(server, "getty", "b", lease_seconds=1.0)
    a.push(b"slow-page", priority=0)
    leased = a.pop()
    for _ in range(3):
        time.sleep(0.5)
        assert a.renew([leased.token]) == 1
        assert b.pop() is None
    a.ack(leased.token)
    assert a.renew([leased.token]) == 0 and a.drained()


def test_released_leases_are_requeued_at_once(server):
    a = frontier.Frontier(server, "getty", "a", lease_seconds=600)
    a.push(b"page", priority=0)
    leased = a.pop()
    a.release([leased.token])  # a graceful stop gives back what it had not finished
    assert frontier.Frontier(server, "getty", "b", lease_seconds=600).pop().payload == b"page"


def test_bloom_filter_remembers_every_fingerprint_and_rarely_errs(server):
    seen = frontier.SeenSet(server, "getty", "bloom", capacity=2_000, error_rate=1e-3)
    bits, hashes = frontier.bloom_size(2_000, 1e-3)
    assert (seen.bits, seen.hashes) == (bits, hashes) == (28_756, 10)
    added = [f"https://example.com/detail/{i}".encode() for i in range(2_000)]
    assert all(seen.add(fp) for fp in added)
    assert not any(seen.add(fp) for fp in added)  # no false negative, ever
    probes = [f"https://example.com/other/{i}".encode() for i in range(10_000)]
    false_positives = sum(seen.contains(fp) for fp in probes)
    assert false_positives <= 40, f"{false_positives} of 10,000 (expected ~10 at 1e-3 while under capacity)"
    assert bits / 8 <= seen.memory_bytes() <= bits / 8 + 4096


def test_set_seen_filter_is_exact_and_persists(server):
    seen = frontier.SeenSet(server, "getty", "set")
    assert seen.add(b"a") and not seen.add(b"a")
    assert not frontier.SeenSet(server, "getty", "set").add(b"a")  # the next crawl still knows it


def test_search_pages_are_new_in_each_round(server):
    first = frontier.Round(server, "getty")
    joined = frontier.Round(server, "getty")
    assert joined.id == first.id  # a node starting mid-crawl joins the round
    assert first.add_search(b"page-1") and not joined.add_search(b"page-1")
    first.end()
    later = frontier.Round(server, "getty")
    assert later.id != first.id and later.add_search(b"page-1")  # a refresh walks search pages again


def test_concurrency_slots_hold_across_nodes_and_a_dead_nodes_slots_expire(server):
    p = frontier.Politeness(server, "getty", concurrency=2, interval_s=0, slot_ttl_s=0.5)
    assert p.try_slot("a:1") and p.try_slot("b:1")
    assert not p.try_slot("c:1")
    p.release("b:1")
    assert p.try_slot("c:1")
    time.sleep(0.6)  # a and c died holding theirs
    assert p.try_slot("d:1") and p.try_slot("d:2")


def test_sends_reserved_from_three_nodes_are_spaced_by_the_interval(server):
    interval = 0.05
    times: list[float] = []
    lock = threading.Lock()

    def node(name: str) -> None:
        p = frontier.Politeness(frontier.connect(_url(server)), "getty", 4, interval, 5)
        for _ in range(10):
            wait = p.reserve()
            with lock:
                times.append(time.monotonic() + wait)  # when this send may go

    threads = [threading.Thread(target=node, args=(n,)) for n in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == 30
    assert min(gaps) >= interval - 0.01, f"two sends {min(gaps):.3f} s apart (limit {interval} s)"


def _url(server) -> str:
    kw = server.connection_pool.connection_kwargs
    return f"redis://{kw['host']}:{kw['port']}/{kw.get('db', 0)}"


def test_queued_requests_are_json_never_pickles():
    from crawlers import frontier as scrapy_frontier

    request = scrapy.Request(
        "http://127.0.0.1/detail/1",
        method="POST",
        body=b"\x00\xff",
        meta={"depth": 2, "k": [1, "x"]},
        priority=10,
    )
    data = scrapy_frontier.dumps(request.to_dict())
    assert data.startswith(b"{") and b"\x80" not in data  # JSON, not a pickle (which could run code)
    back = request_from_dict(scrapy_frontier.loads(data))
    assert (back.url, back.method, back.body, back.priority) == (request.url, "POST", b"\x00\xff", 10)
    assert back.meta["k"] == [1, "x"]


def test_bloom_filter_too_large_for_one_redis_string_is_a_params_error(tmp_path):
    from tests.crawl.conftest import write_params

    with pytest.raises(Exception, match="2\\^32"):
        write_params(
            tmp_path,
            {
                "frontier": "redis://127.0.0.1:6379/0",
                "cluster": {
                    "seen_filter": "bloom",
                    "bloom_capacity": 1_000_000_000,
                    "bloom_error_rate": 1e-9,
                },
            },
        )


def test_node_errors_are_one_line(tmp_path):
    import socket

    from adgen.crawl import nodes
    from adgen.errors import UserError
    from tests.crawl.conftest import write_params

    with pytest.raises(UserError, match="--node needs crawl.frontier"):
        nodes.crawl_node(write_params(tmp_path / "a", {}), "a")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = write_params(tmp_path / "b", {"frontier": f"redis://127.0.0.1:{port}/0"})
    with pytest.raises(UserError, match="cannot reach Redis"):
        nodes.crawl_node(down, "a")
    with pytest.raises(UserError, match="--node '../x'"):
        nodes.crawl_node(down, "../x")
    with pytest.raises(UserError, match="no node workspace"):
        nodes.merge_nodes(down)


@pytest.mark.slow  # the CLI's start-up
def test_cli_node_without_a_frontier_is_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    from tests.crawl.conftest import write_params

    write_params(tmp_path, {})
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "adgen.cli",
            "--params",
            str(tmp_path / "params.yaml"),
            "crawl",
            "--node",
            "a",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2  # adgen: error: ... (a UserError)
    assert "crawl.frontier" in out.stderr + out.stdout and "Traceback" not in out.stderr


@pytest.mark.parametrize("frontier_url", ["localhost:6379", "http://127.0.0.1:6379/0", "redis://"])
def test_a_frontier_that_is_not_a_redis_url_is_a_params_error(tmp_path, frontier_url):
    from tests.crawl.conftest import write_params

    with pytest.raises(Exception, match="frontier"):
        write_params(tmp_path, {"frontier": frontier_url})
