"""The distributed crawl's shared state in Redis: one frontier per site, leases, seen-sets, politeness.

Every rule that must hold across nodes is one Lua script, so it is atomic in Redis whatever the
nodes do at the same moment:

- **Frontier with leases.** `pop` moves the best request from the site's queue (a sorted set by
  priority, as scrapy-redis keeps it) into a lease with a deadline. A node acks the lease when the
  request is fully handled (its items stored and journalled, its links queued) and renews its
  leases while it lives. Any node's next `pop` first puts requests whose lease ran out back into
  the queue: a node killed with -9 loses nothing (plain scrapy-redis pops and forgets).
- **Seen-sets.** Search pages are new in every crawl (that is where new photos appear): they are
  deduplicated per *round*, one crawl of the cluster. Detail pages persist between crawls, so a
  refresh fetches only new ones: in a set of 20-byte fingerprints, or a Bloom filter over a Redis
  bitmap (k bits per fingerprint, SETBIT/GETBIT; fixed memory, a chosen false-positive rate).
- **Politeness across nodes.** Per site, a slot in an in-flight set (at most
  `concurrent_requests_per_domain` across the cluster, each slot expiring so a dead node's slots
  free themselves) and a reservation on a shared clock (requests at least `download_delay` apart):
  the cluster together never sends faster than one node is allowed to.
- **robots.txt once.** The first node to need a host's robots.txt fetches it and stores the body;
  the others parse the stored copy.

Times come from Redis (`TIME`), so nodes on machines with drifting clocks agree.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

PREFIX = "adgen:crawl"

_NOW_US = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"""

# KEYS: queue, leases, data, prio, owner, seq, requeued; ARGV: lease_us, node
POP = (
    _NOW_US
    + """
local moved = 0
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 256)
for _, tok in ipairs(expired) do
  local d = redis.call('HGET', KEYS[3], tok)
  if d then
    redis.call('ZADD', KEYS[1], redis.call('HGET', KEYS[4], tok), d)
    redis.call('HSET', KEYS[7], d, 1)
    moved = moved + 1
  end
  redis.call('ZREM', KEYS[2], tok)
  redis.call('HDEL', KEYS[3], tok)
  redis.call('HDEL', KEYS[4], tok)
  redis.call('HDEL', KEYS[5], tok)
end
local top = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return {false, false, moved, 0} end
redis.call('ZREM', KEYS[1], top[1])
local tok = tostring(redis.call('INCR', KEYS[6]))
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), tok)
redis.call('HSET', KEYS[3], tok, top[1])
redis.call('HSET', KEYS[4], tok, top[2])
redis.call('HSET', KEYS[5], tok, ARGV[2])
local again = redis.call('HDEL', KEYS[7], top[1])
return {tok, top[1], moved, again}
"""
)

# KEYS: leases; ARGV: lease_us, tokens...
RENEW = (
    _NOW_US
    + """
local n = 0
for i = 2, #ARGV do n = n + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[i]) end
return n
"""
)

# KEYS: bitmap; ARGV: bit offsets. 1 when some bit was unset (not seen before), and sets them all.
BLOOM_ADD = """
local new = 0
for i = 1, #ARGV do
  if redis.call('SETBIT', KEYS[1], ARGV[i], 1) == 0 then new = 1 end
end
return new
"""

# KEYS: inflight; ARGV: limit, member, ttl_us. 1 when a slot was taken.
ACQUIRE_SLOT = (
    _NOW_US
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  return 1
end
return 0
"""
)

# KEYS: next_at; ARGV: interval_us. Reserves the site's next send time; returns microseconds to wait.
RESERVE = (
    _NOW_US
    + """
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, nxt)
redis.call('SET', KEYS[1], tostring(at + tonumber(ARGV[1])), 'PX', math.floor(tonumber(ARGV[1]) / 1000) + 60000)
return at - now
"""
)


def connect(url: str) -> Any:
    """A Redis client for `crawl.frontier` (bytes in, bytes out)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10, health_check_interval=30)


@dataclass(frozen=True)
class SiteKeys:
    """Every key of one site's frontier, under `adgen:crawl:<site>:`."""

    site: str

    def key(self, name: str) -> str:
        return f"{PREFIX}:{self.site}:{name}"

    @property
    def queue(self) -> str:
        return self.key("queue")

    @property
    def lease_keys(self) -> list[str]:
        """queue, leases, data, prio, owner, seq, requeued (the order POP takes them in)."""
        names = ("queue", "leases", "lease:data", "lease:prio", "lease:owner", "lease:seq", "requeued")
        return [self.key(n) for n in names]


@dataclass(frozen=True)
class Leased:
    token: str
    payload: bytes
    requeued: bool  # a request some node had leased and never acked (it died)


class Frontier:
    """One site's queue and leases (the Lua scripts above), used by the Scrapy scheduler and tests."""

    def __init__(self, server: Any, site: str, node: str, lease_seconds: float):
        self.server, self.keys, self.node = server, SiteKeys(site), node
        self.lease_us = int(lease_seconds * 1_000_000)
        self._pop = server.register_script(POP)
        self._renew = server.register_script(RENEW)
        self.requeued_by_me = 0  # leases of dead nodes this node put back

    def push(self, payload: bytes, priority: int) -> None:
        self.server.zadd(self.keys.queue, {payload: -priority})

    def pop(self) -> Leased | None:
        token, payload, moved, again = self._pop(keys=self.keys.lease_keys, args=[self.lease_us, self.node])
        self.requeued_by_me += int(moved)
        if not token:
            return None
        return Leased(token.decode(), payload, bool(again))

    def ack(self, token: str) -> None:
        _q, leases, data, prio, owner, _s, _r = self.keys.lease_keys
        pipe = self.server.pipeline(transaction=True)
        pipe.zrem(leases, token).hdel(data, token).hdel(prio, token).hdel(owner, token)
        pipe.execute()

    def renew(self, tokens: list[str]) -> int:
        if not tokens:
            return 0
        return int(self._renew(keys=[self.keys.lease_keys[1]], args=[self.lease_us, *tokens]))

    def release(self, tokens: list[str]) -> None:
        """Give leases back unfinished: they expire now and the next pop re-queues them."""
        self._renew(keys=[self.keys.lease_keys[1]], args=[-1, *tokens])

    def queued(self) -> int:
        return int(self.server.zcard(self.keys.queue))

    def leased(self) -> int:
        return int(self.server.zcard(self.keys.lease_keys[1]))

    def leases_of(self, node: str) -> dict[str, bytes]:
        """{token: request payload} of the leases `node` holds now (tests, diagnostics)."""
        _q, _l, data, _p, owner, _s, _r = self.keys.lease_keys
        tokens = [t for t, n in self.server.hgetall(owner).items() if n.decode() == node]
        payloads = self.server.hmget(data, tokens) if tokens else []
        return {t.decode(): p for t, p in zip(tokens, payloads, strict=True) if p is not None}

    def drained(self) -> bool:
        """Nothing queued and nothing leased: the site's round is over for every node."""
        pipe = self.server.pipeline(transaction=True)
        pipe.zcard(self.keys.queue).zcard(self.keys.lease_keys[1])
        queued, leased = pipe.execute()
        return not queued and not leased


def bloom_size(capacity: int, error_rate: float) -> tuple[int, int]:
    """(bits, hashes) of a Bloom filter holding `capacity` items at `error_rate` false positives."""
    bits = math.ceil(-capacity * math.log(error_rate) / math.log(2) ** 2)
    hashes = max(1, round(bits / capacity * math.log(2)))
    return bits, hashes


class SeenSet:
    """A site's persistent seen-set of request fingerprints: `add` is True when the fingerprint is new."""

    def __init__(self, server: Any, site: str, kind: str, capacity: int = 0, error_rate: float = 0.0):
        self.server, self.kind = server, kind
        keys = SiteKeys(site)
        if kind == "bloom":
            self.key = keys.key("seen:bloom")
            self.bits, self.hashes = bloom_size(capacity, error_rate)
            self._add = server.register_script(BLOOM_ADD)
        else:
            self.key = keys.key("seen:set")

    def offsets(self, fingerprint: bytes) -> list[int]:
        """k bit offsets by double hashing (Kirsch-Mitzenmacher) of the fingerprint's sha256."""
        digest = hashlib.sha256(fingerprint).digest()
        h1, h2 = int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:16], "big") | 1
        return [(h1 + i * h2) % self.bits for i in range(self.hashes)]

    def add(self, fingerprint: bytes) -> bool:
        if self.kind == "bloom":
            return bool(self._add(keys=[self.key], args=self.offsets(fingerprint)))
        return bool(self.server.sadd(self.key, fingerprint))

    def contains(self, fingerprint: bytes) -> bool:
        """Seen before (a Bloom filter may say yes wrongly, at its error rate; never no wrongly)."""
        if self.kind != "bloom":
            return bool(self.server.sismember(self.key, fingerprint))
        pipe = self.server.pipeline(transaction=False)
        for offset in self.offsets(fingerprint):
            pipe.getbit(self.key, offset)
        return all(pipe.execute())

    def add_many(self, fingerprints: list[bytes]) -> None:
        """Bulk insert (the benchmark's million fingerprints), pipelined."""
        pipe = self.server.pipeline(transaction=False)
        for fp in fingerprints:
            if self.kind == "bloom":
                self._add(keys=[self.key], args=self.offsets(fp), client=pipe)
            else:
                pipe.sadd(self.key, fp)
        pipe.execute()

    def memory_bytes(self) -> int:
        return int(self.server.memory_usage(self.key, samples=0) or 0)


class Round:
    """One crawl of the cluster: search pages are deduplicated within it, not across crawls.

    The first node to start takes a fresh round id; nodes that start while it runs join it; the node
    that finds the site's frontier drained when it closes ends it, so the next crawl walks the search
    pages again (where a refresh finds new photos).
    """

    def __init__(self, server: Any, site: str):
        self.server, self.keys = server, SiteKeys(site)
        self.key = self.keys.key("round")
        self.server.set(self.key, f"{_new_id()}", nx=True)
        self.id = self.server.get(self.key).decode()

    def add_search(self, fingerprint: bytes) -> bool:
        return bool(self.server.sadd(self.keys.key(f"round:{self.id}:search"), fingerprint))

    def claim_lead(self) -> int:
        """How many detail pages the cluster has claimed in this round, this one included."""
        return int(self.server.incr(self.keys.key(f"round:{self.id}:leads")))

    def end(self) -> None:
        """Forget this round (only if it is still the current one)."""
        pipe = self.server.pipeline(transaction=True)
        pipe.delete(self.keys.key(f"round:{self.id}:search"), self.keys.key(f"round:{self.id}:leads"))
        pipe.execute()
        script = (
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
        )
        self.server.eval(script, 1, self.key, self.id)


def _new_id() -> str:
    import secrets

    return secrets.token_hex(8)


class Politeness:
    """A site's cluster-wide budget: in-flight slots and a shared send clock."""

    def __init__(self, server: Any, site: str, concurrency: int, interval_s: float, slot_ttl_s: float):
        keys = SiteKeys(site)
        self.server, self.concurrency = server, concurrency
        self.inflight, self.next_at = keys.key("inflight"), keys.key("next_at")
        self.interval_us = int(interval_s * 1_000_000)
        self.slot_ttl_us = int(slot_ttl_s * 1_000_000)
        self._acquire = server.register_script(ACQUIRE_SLOT)
        self._reserve = server.register_script(RESERVE)

    def try_slot(self, member: str) -> bool:
        return bool(self._acquire(keys=[self.inflight], args=[self.concurrency, member, self.slot_ttl_us]))

    def release(self, member: str) -> None:
        self.server.zrem(self.inflight, member)

    def reserve(self) -> float:
        """Seconds to wait before sending (0 when the site has no rate limit)."""
        if self.interval_us <= 0:
            return 0.0
        return int(self._reserve(keys=[self.next_at], args=[self.interval_us])) / 1_000_000


def robots_key(netloc: str) -> str:
    return f"{PREFIX}:robots:{netloc}"
