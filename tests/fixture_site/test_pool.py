"""The fixture site served by several processes (bench/crawl.py) is the same site as one process."""

from __future__ import annotations

import hashlib

import requests

from adgen.fixtures.site.pool import FixtureSitePool
from adgen.fixtures.site.server import FixtureSite


def test_every_serving_process_serves_the_same_bytes_and_grows_together():
    site = FixtureSite(images=8, seed=5, hostile=False)
    truth = site.ground_truth()
    with FixtureSitePool(site, processes=3) as served:
        photo = site.item(0).image_path
        seen = set()
        for _ in range(12):  # a new connection each: the kernel hands them to whichever process accepts
            body = requests.get(served.base_url + photo, timeout=20).content
            seen.add(hashlib.sha256(body).hexdigest())
        assert len(seen) == 1 and seen <= set(truth["images"])

        added = served.add_images(2)
        assert added == [8, 9]
        for index in added:
            body = requests.get(served.base_url + site.item(index).image_path, timeout=20).content
            assert hashlib.sha256(body).hexdigest() in site.ground_truth()["images"]
        paths = [r["path"] for r in served.requests]
        assert paths.count(photo) == 12 and len(paths) == 14


def test_the_pool_stops_after_a_burst_of_connections():
    """Each new connection wakes every serving process and one wins it; with a blocking accept()
    the others waited there for good, so stopping the pool hung (bench/crawl.py never ended)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    site = FixtureSite(images=4, seed=5, hostile=False)
    site.ground_truth()
    pool = FixtureSitePool(site, processes=3).start()
    photo = pool.base_url + site.item(0).image_path
    with ThreadPoolExecutor(16) as burst:
        assert all(
            r.status_code == 200 for r in burst.map(lambda _: requests.get(photo, timeout=20), range(200))
        )
    stopped: list[int] = []
    stopper = threading.Thread(target=lambda: stopped.append(pool.stop()), daemon=True)
    stopper.start()
    stopper.join(timeout=180)  # a deadlock guard, not a timing: a clean stop takes well under a second
    assert stopped == [0], "a serving process never left accept() and had to be killed"
