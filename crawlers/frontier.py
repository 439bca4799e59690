"""Scrapy's side of the distributed crawl (`crawl.frontier` set): scrapy-redis plus what it lacks.

scrapy-redis gives the shared queue and dupefilter. On top (rules in adgen/crawl/frontier.py):
- `LeasedQueue`: a pop is a lease, acked by `ClusterNode` once the scraper has finished with the
  request (items stored and journalled, links queued), renewed while the node lives; a dead node's
  leases go back to the queue.
- `SeenFilter`: search pages once per round, detail pages once ever (a set or a Bloom filter).
- `ClusterPoliteness`: every download (pages, photos, robots.txt) takes a cluster-wide slot and a
  place on the site's shared clock before it is sent.
- `SharedRobotsTxtMiddleware`: robots.txt fetched by one node, read by all from Redis.
- `ClusterNode`: acks and renews leases, keeps an idle node open while other nodes still hold work
  (new links may come from it), and closes every node when the site's frontier is drained.

The job's `cluster` block (adgen/crawl/nodes.py) configures all of them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets

from redis.exceptions import RedisError
from scrapy import Request, signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.request import fingerprint
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import Base
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from adgen.crawl import frontier
from crawlers.middlewares import FrontierLost
from crawlers.spiders.base import SEARCH_PAGE

LEASE = "adgen_lease"  # request.meta: the lease token of a request popped from the frontier
FRONTIER_LOST = "frontier_lost"  # a node's finish reason when Redis went away

logger = logging.getLogger(__name__)


# -- SCHEDULER_SERIALIZER = "crawlers.frontier": requests in Redis as JSON, never pickles ---------------
def _encode(obj):
    if isinstance(obj, bytes):
        return {"__bytes__": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in obj.items()]}
    if isinstance(obj, list | tuple):
        return [_encode(v) for v in obj]
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    raise TypeError(f"cannot queue a request holding a {type(obj).__name__}")


def _decode(obj):
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if isinstance(obj, dict):
        if "__bytes__" in obj:
            return base64.b64decode(obj["__bytes__"])
        return {_decode(k): _decode(v) for k, v in obj["__dict__"]}
    return obj


def dumps(request_dict: dict) -> bytes:
    """A request (Request.to_dict) as JSON: what another node reads must not be able to run code."""
    return json.dumps(_encode(request_dict), separators=(",", ":")).encode()


def loads(data: bytes) -> dict:
    return _decode(json.loads(data))


def scrapy_settings(cluster: dict) -> dict:
    """The Scrapy settings of one site's crawler on a node: scrapy-redis's scheduler over the
    leased queue, the seen filter, cluster-wide politeness and shared robots.txt.

    Scrapy's own per-node delay and AutoThrottle are off: the cluster's clock paces the site.
    """
    from scrapy.core.engine import ExecutionEngine

    from crawlers import settings as project

    # An idle node asks the frontier for work this often (Scrapy's heartbeat, 5 s by default: a node
    # would sit idle that long after another queued links).
    ExecutionEngine._SLOT_HEARTBEAT_INTERVAL = float(cluster["poll_seconds"])
    key = frontier.SiteKeys(cluster["site"]).queue.replace("%", "%%")
    return {
        "ADGEN_CLUSTER": cluster,
        "REDIS_URL": cluster["url"],
        "SCHEDULER": "crawlers.frontier.LeasedScheduler",
        "SCHEDULER_QUEUE_CLASS": "crawlers.frontier.LeasedQueue",
        "SCHEDULER_QUEUE_KEY": key,
        "SCHEDULER_SERIALIZER": "crawlers.frontier",
        "SCHEDULER_PERSIST": True,
        "DUPEFILTER_CLASS": "crawlers.frontier.SeenFilter",
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOADER_MIDDLEWARES": {
            **project.DOWNLOADER_MIDDLEWARES,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawlers.frontier.SharedRobotsTxtMiddleware": 100,
            "crawlers.frontier.ClusterPoliteness": 950,  # last before the download, first after it
        },
        "EXTENSIONS": {**project.EXTENSIONS, "crawlers.frontier.ClusterNode": 0},
    }


def _cluster(settings) -> dict:
    return settings.getdict("ADGEN_CLUSTER")


def _server(settings):
    return frontier.connect(_cluster(settings)["url"])


class LeasedQueue(Base):
    """scrapy-redis's priority queue, whose pop leases instead of forgetting (frontier.Frontier)."""

    def __init__(self, server, spider, key, serializer=None):
        super().__init__(server, spider, key, serializer)
        c = _cluster(spider.settings)
        self.frontier = frontier.Frontier(server, c["site"], c["node"], c["lease_seconds"])
        self.node = ClusterNode.of(spider.crawler)

    def __len__(self):
        try:
            return self.frontier.queued()
        except RedisError as exc:
            self.node.frontier_lost(exc)
            return 0

    def push(self, request):
        self.frontier.push(self._encode_request(request), request.priority)

    def pop(self, timeout=0):
        try:
            leased = self.frontier.pop()
        except RedisError as exc:
            self.node.frontier_lost(exc)
            return None
        stats = self.spider.crawler.stats
        if self.frontier.requeued_by_me:
            stats.set_value("adgen/frontier/requeued", self.frontier.requeued_by_me)
        if leased is None:
            return None
        request = self._decode_request(leased.payload)
        request.meta[LEASE] = leased.token
        self.node.hold(leased.token)
        if leased.requeued:  # a dead node's request, fetched here
            stats.inc_value("adgen/frontier/refetched")
            logger.info("fetching %s, leased by a node that stopped renewing it", request.url)
        return request


class LeasedScheduler(Scheduler):
    """A request that follows a leased one (a retry, a redirect) carries the old lease in its meta:
    once the follower is queued, the old lease is done."""

    def enqueue_request(self, request):
        node = ClusterNode.of(self.spider.crawler)
        token = request.meta.pop(LEASE, None)
        try:
            queued = super().enqueue_request(request)
            if token is not None:
                node.ack(token)
            return queued
        except RedisError as exc:
            node.frontier_lost(exc)
            return False


class SeenFilter(RFPDupeFilter):
    """Search pages once per round; every other request once for good (set or Bloom filter)."""

    def __init__(self, node: ClusterNode):
        super().__init__(node.server, key=node.seen.key)
        self.round, self.seen = node.round, node.seen

    @classmethod
    def from_spider(cls, spider):
        return cls(ClusterNode.of(spider.crawler))

    def request_seen(self, request):
        fp = fingerprint(request)
        if request.meta.get(SEARCH_PAGE):
            return not self.round.add_search(fp)
        return not self.seen.add(fp)

    def close(self, reason=""):
        pass  # the seen-set outlives the crawl: that is what makes a refresh incremental

    def clear(self):
        pass


class ClusterPoliteness:
    """Before each download: a cluster-wide in-flight slot for the site, then its turn on the site's
    shared clock. The slot is given back when the response (or error) comes back; a dead node's
    slots expire after the download timeout."""

    def __init__(self, crawler):
        c = _cluster(crawler.settings)
        self.politeness = frontier.Politeness(
            _server(crawler.settings),
            c["site"],
            concurrency=c["site_concurrency"],
            interval_s=c["interval_s"],
            slot_ttl_s=c["slot_ttl_s"],
        )
        self.poll = min(0.05, c["poll_seconds"])
        self.max_late = c["interval_s"] / 4  # the most a send may lag behind its turn
        self.node = c["node"]
        self.stats = crawler.stats
        self.cluster = ClusterNode.of(crawler)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request, spider=None):
        try:
            await self._take_turn(request)
        except RedisError as exc:
            self.cluster.frontier_lost(exc)
            raise FrontierLost(f"distributed crawl: Redis unreachable ({exc})") from None

    async def _take_turn(self, request):
        member = f"{self.node}:{secrets.token_hex(6)}"
        while not self.politeness.try_slot(member):
            await asyncio.sleep(self.poll)
        request.meta["adgen_slot"] = member
        if self.politeness.interval_us <= 0:
            return
        loop = asyncio.get_running_loop()
        while True:
            wait = self.politeness.reserve()
            due = loop.time() + wait
            if wait > 0:
                self.stats.inc_value("adgen/politeness/waits")
                await asyncio.sleep(wait)
            # Woken late (a busy machine, a stalled process): sent now it would arrive together with
            # the next node's on-time request. Give the turn up and take a new one instead.
            if loop.time() - due <= self.max_late:
                return
            self.stats.inc_value("adgen/politeness/late")

    def _release(self, request):
        member = request.meta.pop("adgen_slot", None)
        if member:
            try:
                self.politeness.release(member)
            except RedisError as exc:  # the slot expires by itself
                self.cluster.frontier_lost(exc)

    def process_response(self, request, response, spider=None):
        self._release(request)
        return response

    def process_exception(self, request, exception, spider=None):
        self._release(request)
        return None


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt rules, with each host's robots.txt fetched once for the whole cluster."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.server = _server(crawler.settings)
        self.wait_s = float(crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 30)) + 5

    async def robot_parser(self, request):
        try:
            return await self._shared_parser(request)
        except RedisError as exc:
            ClusterNode.of(self.crawler).frontier_lost(exc)
            raise FrontierLost(f"distributed crawl: Redis unreachable ({exc})") from None

    async def _shared_parser(self, request):
        netloc = urlparse_cached(request).netloc
        key = frontier.robots_key(netloc)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        while netloc not in self._parsers:
            body = self.server.get(key)
            if body is not None:
                self._parsers[netloc] = build_from_crawler(self._parserimpl, self.crawler, body)
                self._stats.inc_value("adgen/robots/shared")
                break
            # nobody has it: the node that takes the lock fetches it; the others wait for its copy
            if (
                self.server.set(key + ":fetching", "1", nx=True, ex=int(self.wait_s))
                or loop.time() > deadline
            ):
                break
            await asyncio.sleep(0.05)
        return await super().robot_parser(request)

    async def _parse_robots(self, response, netloc, request):
        self.server.set(frontier.robots_key(netloc), response.body)
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc, netloc):
        self.server.delete(frontier.robots_key(netloc) + ":fetching")  # let another node try
        super()._robots_error(exc, netloc)


class ClusterNode:
    """This node's part in the cluster for one site: leases held, renewal, idle and close rules."""

    def __init__(self, crawler):
        c = _cluster(crawler.settings)
        self.crawler = crawler
        self.server = _server(crawler.settings)
        self.frontier = frontier.Frontier(self.server, c["site"], c["node"], c["lease_seconds"])
        self.round = frontier.Round(self.server, c["site"])
        self.seen = frontier.SeenSet(
            self.server, c["site"], c["seen_filter"], c["bloom_capacity"], c["bloom_error_rate"]
        )
        self.renew_every = c["lease_seconds"] / 3
        self.held: set[str] = set()
        self.lost = False
        self._loop: task.LoopingCall | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls.of(crawler)

    @classmethod
    def of(cls, crawler) -> ClusterNode:
        """The one instance per crawler (the extension, the queue and the scheduler share it)."""
        node = getattr(crawler, "_adgen_cluster_node", None)
        if node is None:
            node = crawler._adgen_cluster_node = cls(crawler)
        return node

    def hold(self, token: str) -> None:
        self.held.add(token)

    def ack(self, token: str) -> None:
        self.held.discard(token)
        try:
            self.frontier.ack(token)
        except RedisError as exc:
            self.frontier_lost(exc)
            return
        self.crawler.stats.inc_value("adgen/frontier/acked")

    def frontier_lost(self, exc: Exception) -> None:
        """Redis is gone: stop this node (once). What it stored is journalled in its workspace; its
        leases run out in Redis (if it comes back) and other nodes take them over."""
        if self.lost:
            return
        self.lost = True
        logger.error("distributed crawl: lost the frontier in Redis (%s); stopping this node", exc)
        self.crawler.stats.set_value("adgen/frontier/lost", str(exc)[:200])
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(engine.close_spider_async(reason=FRONTIER_LOST))

    def spider_opened(self, spider):
        # The scraper calls finish_response once a request's callback or errback output is fully
        # handled (items through the pipeline, links queued): only then is its lease done.
        slot = self.crawler.engine.scraper.slot
        finish = slot.finish_response

        def finish_and_ack(result, request):
            finish(result, request)
            token = request.meta.get(LEASE)
            if token is not None:
                self.ack(token)

        slot.finish_response = finish_and_ack
        spider.claim_lead = self.claim_lead  # max_images counts for the cluster's crawl of the site
        spider.known_elsewhere = self.known  # the cluster's seen-set, not only this machine's manifest
        self._loop = task.LoopingCall(self._renew)
        self._loop.start(self.renew_every, now=False)

    def known(self, url: str) -> bool:
        """A detail page some node of the cluster queued before (this crawl or an earlier one)."""
        try:
            return self.seen.contains(fingerprint(Request(url)))
        except RedisError as exc:
            self.frontier_lost(exc)
            return True  # not asked for: the node is stopping

    def claim_lead(self) -> bool:
        """One more detail page of the site in this round, cluster-wide; False past max_images."""
        spider = self.crawler.spider
        try:
            claimed = self.round.claim_lead()
        except RedisError as exc:
            self.frontier_lost(exc)
            return False
        if claimed > spider.max_images:
            return False
        spider.leads += 1
        return True

    def _renew(self):
        try:
            self.frontier.renew(sorted(self.held))
        except RedisError as exc:
            self.frontier_lost(exc)

    def spider_idle(self, spider):
        if self.lost:
            return
        try:
            drained = self.frontier.drained()
        except RedisError as exc:
            self.frontier_lost(exc)
            return
        if not drained:  # other nodes hold work that may queue more
            raise DontCloseSpider

    def spider_closed(self, spider, reason):
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self.lost:
            return
        try:
            if self.held:  # stopped before finishing them (Ctrl-C): back to the frontier now, not at expiry
                self.frontier.release(sorted(self.held))
                self.held.clear()
            if reason == "finished" and self.frontier.drained():
                self.round.end()
        except RedisError as exc:
            logger.error("distributed crawl: Redis went away while closing (%s)", exc)
