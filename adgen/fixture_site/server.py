"""The fixture stock site: a threaded local HTTP server with four stock sites' markup (see SITES.md).

Why: crawls, filters, the demo and benchmarks need a web to run against that is offline,
deterministic (same seed → same bytes → same sha256), has known ground truth, and misbehaves in
every way the real web does (hostile cases). Standard library only: one thread per connection, so
`latency_ms` and slow responses overlap like on a real server and concurrency pays off.

Use in tests:

    with FixtureSite(images=40, seed=0) as site:
        site.base_url            # http://127.0.0.1:PORT
        site.site_url("123rf")   # http://127.0.0.1:PORT/123rf (a spider's base_url)
        site.add_images(4)       # new photos appear on the last pages
        site.requests            # every request so far
        site.ground_truth()      # what /ground-truth.json serves
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote_plus, unquote, urlsplit

from adgen.fixture_site import pages, payloads
from adgen.fixture_site.catalog import DEFAULT_QUERIES, SITES, Item, Layout, make_item
from adgen.fixture_site.hostile import DUPLICATE_OF_INDEX, NEAR_DUPLICATE_OF_INDEX, HostileCase, hostile_cases

ROBOTS_TXT = "User-agent: *\n" + "".join(f"Disallow: /{s}/private/\n" for s in SITES)


@dataclass(frozen=True)
class _Route:
    kind: str  # detail | photo | thumb | getty_media | hostile | redirect | status
    index: int = -1
    item: Item | None = None
    image_url: str | None = None
    case: HostileCase | None = None
    target: str = ""
    status: int = 0


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    ctype: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # a client hung up (timeouts, size caps)
            return
        super().handle_error(request, client_address)


def _path_only(url: str) -> str:
    return url.split("?", 1)[0]


class FixtureSite:
    """The fixture stock site; a context manager that serves on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        images: int = 200,
        seed: int = 0,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        latency_ms: float = 0.0,
        queries: tuple[str, ...] | list[str] = DEFAULT_QUERIES,
        per_page: int = 20,
        slow_seconds: float = 3.0,
        huge_bytes: int = 9 * 2**20,
        hostile: bool = True,
        verbose: bool = False,
    ) -> None:
        if images < 0 or per_page < 1 or not queries:
            raise ValueError("need images >= 0, per_page >= 1 and at least one query")
        self.seed = int(seed)
        self.latency = latency_ms / 1000.0
        self.slow_seconds = float(slow_seconds)
        self.huge_bytes = int(huge_bytes)
        self.verbose = verbose
        self.layout = Layout(images=int(images), queries=tuple(queries), per_page=int(per_page))
        self.cache = payloads.PhotoCache(self.seed)
        self.hostile = hostile_cases(self.seed) if hostile else []
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._items: dict[int, Item] = {}
        self._log: list[dict[str, Any]] = []
        self._hits: dict[str, int] = {}
        self._host, self._port = host, int(port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._truth_cache: tuple[int, dict[str, Any]] | None = None
        for i in range(self.layout.images):
            self._register_item(i)
        for case in self.hostile:
            self._register_hostile(case)

    # ------------------------------------------------------------------------------ lifecycle

    def start(self) -> FixtureSite:
        handler = type("Handler", (_Handler,), {"site": self})
        self._server = _Server((self._host, self._port), handler)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fixture-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FixtureSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def site_url(self, site: str) -> str:
        """A spider's base_url for `site` (the prefix that stands in for the real host)."""
        if site not in SITES:
            raise ValueError(f"unknown fixture site {site!r}; one of {', '.join(SITES)}")
        return f"{self.base_url}/{site}"

    # ------------------------------------------------------------------------------ content

    def _register_item(self, index: int) -> None:
        item = make_item(self.seed, index, self.layout.site_of(index), self.layout.query_of(index))
        self._items[index] = item
        self._routes[item.detail_path] = _Route("detail", index, item, item.image_path)
        if item.site == "getty":
            self._routes[_path_only(item.image_path)] = _Route("getty_media", index, item)
        else:
            self._routes[_path_only(item.image_path)] = _Route("photo", index, item)
            self._routes[_path_only(item.thumb_path)] = _Route("thumb", index, item)

    def _register_hostile(self, case: HostileCase) -> None:
        item = case.item
        if case.image_url is not None and not case.link.startswith("http"):
            self._routes[_path_only(case.link)] = _Route("detail", item.index, item, case.image_url)
        if case.image_url is None or case.image_url.startswith("http"):
            return
        if case.serve == "loop":
            a, b = case.image_url, case.image_url.replace("/a.jpg", "/b.jpg")
            self._routes[a] = _Route("redirect", target=b)
            self._routes[b] = _Route("redirect", target=a)
        else:
            self._routes[_path_only(case.image_url)] = _Route("hostile", item.index, item, case=case)

    def add_images(self, k: int) -> list[int]:
        """Grow the site by k photos; they land at the end of every listing (the last pages)."""
        with self._lock:
            start = self.layout.images
            self.layout = Layout(
                images=start + int(k), queries=self.layout.queries, per_page=self.layout.per_page
            )
            for i in range(start, start + int(k)):
                self._register_item(i)
        return list(range(start, start + int(k)))

    def warm(self, workers: int | None = None) -> FixtureSite:
        """Render every photo and hostile payload now (photos in parallel processes), so that the
        server answers at network speed: call it before timing a crawl."""
        self.cache.warm(list(range(self.layout.images)) + [c.item.index for c in self.hostile], workers)
        if self.hostile:
            self.cache.near_duplicate(NEAR_DUPLICATE_OF_INDEX)
            payloads.decompression_bomb_png()
        return self

    def item(self, index: int) -> Item:
        return self._items[index]

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every request received so far: {"method", "path" (with query string), "status"}."""
        with self._lock:
            return list(self._log)

    def was_requested(self, path_prefix: str) -> bool:
        return any(r["path"].startswith(path_prefix) for r in self.requests)

    def ground_truth(self) -> dict[str, Any]:
        """{"seed", "images": {sha256 of served bytes: truth + listing}, "hostile": {key: case}}."""
        n = self.layout.images
        with self._lock:
            if self._truth_cache and self._truth_cache[0] == n:
                return self._truth_cache[1]
        stored = [c.item.index for c in self.hostile if c.case in ("http_500_retry", "path_traversal")]
        self.cache.warm(list(range(n)) + stored)
        images: dict[str, dict[str, Any]] = {}
        for i in range(n):
            sha, truth = self.cache.meta(i)
            item = self._items[i]
            images[sha] = {**truth, **self._listing(item), "page": self.layout.page_of(i), "hostile": None}
        hostile: dict[str, dict[str, Any]] = {}
        for case in self.hostile:
            entry = case.describe()
            idx = case.item.index
            if case.case in ("http_500_retry", "path_traversal"):
                sha, truth = self.cache.meta(idx)
                entry["sha256"] = sha
                images[sha] = {
                    **truth,
                    **self._listing(case.item),
                    "image_url": case.image_url,
                    "hostile": case.key,
                }
            elif case.case == "duplicate_bytes":
                entry["sha256"] = self.cache.meta(DUPLICATE_OF_INDEX)[0]
                entry["duplicate_of_index"] = DUPLICATE_OF_INDEX
            elif case.case == "near_duplicate":
                data = self.cache.near_duplicate(NEAR_DUPLICATE_OF_INDEX)
                orig_sha, orig = self.cache.meta(NEAR_DUPLICATE_OF_INDEX)
                sha = hashlib.sha256(data).hexdigest()
                entry.update(sha256=sha, duplicate_of=orig_sha, duplicate_of_index=NEAR_DUPLICATE_OF_INDEX)
                w, h = round(orig["width"] * 0.9), round(orig["height"] * 0.9)
                images[sha] = {
                    **orig,
                    **self._listing(case.item),
                    "image_url": case.image_url,
                    "width": w,
                    "height": h,
                    "hostile": case.key,
                    "near_duplicate_of": orig_sha,
                    "approximate": True,
                }
            entry["page_url"] = self._first_page_path(case.site)
            hostile[case.key] = entry
        out = {"seed": self.seed, "images": images, "hostile": hostile}
        with self._lock:
            self._truth_cache = (n, out)
        return out

    @staticmethod
    def _listing(item: Item) -> dict[str, Any]:
        return {
            "site": item.site,
            "query": item.query,
            "title": item.title,
            "license": item.license,
            "detail_url": item.detail_path,
            "image_url": item.image_path,
        }

    def _first_page_path(self, site: str) -> str:
        q = self.layout.queries[0]
        return {
            "123rf": f"/123rf/stock-photo/{'_'.join(q.split())}.html",
            "depositphotos": f"/depositphotos/photos/{'-'.join(q.split())}.html",
            "getty": f"/getty/photos/{'-'.join(q.split())}?phrase={quote_plus(q)}&page=1",
            "profile": f"/profile/search?q={quote_plus(q)}",
        }[site]

    # ------------------------------------------------------------------------------ responses

    def respond(self, method: str, raw_path: str, host: str) -> _Reply:
        parts = urlsplit(raw_path)
        path, qs = parts.path, parse_qs(parts.query)
        if path == "/robots.txt":
            return _Reply(200, ROBOTS_TXT.encode(), "text/plain; charset=utf-8")
        if path == "/ground-truth.json":
            return _Reply(200, json.dumps(self.ground_truth()).encode(), "application/json")
        if path == "/_fixture/requests.json":
            return _Reply(200, json.dumps(self.requests).encode(), "application/json")
        if path == "/_fixture/add-images" and method == "POST":
            added = self.add_images(int(qs.get("k", ["1"])[0]))
            return _Reply(
                200, json.dumps({"added": added, "images": self.layout.images}).encode(), "application/json"
            )
        route = self._routes.get(path)
        if route is not None:
            return self._serve_route(route, path, qs, host)
        return self._serve_search(path, qs, host) or _Reply(404, pages.not_found())

    def _image_src(self, site: str, url: str, host: str) -> str:
        """How a page refers to an image: depositphotos uses protocol-relative CDN URLs."""
        if site == "depositphotos" and url.startswith("/"):
            return f"//{host}{url}"
        return url

    def _serve_route(self, r: _Route, path: str, qs: dict[str, list[str]], host: str) -> _Reply:
        if r.kind == "detail":
            assert r.item is not None and r.image_url is not None
            src = self._image_src(r.item.site, r.image_url, host)
            absolute = r.image_url if r.image_url.startswith("http") else f"http://{host}{r.image_url}"
            detail = pages.Detail(r.item.title, r.item.license, src)
            return _Reply(200, pages.DETAIL[r.item.site](detail, absolute))
        if r.kind == "photo":
            return _Reply(200, self.cache.photo(r.index), "image/jpeg")
        if r.kind == "thumb":
            return _Reply(200, self.cache.thumb(r.index), "image/jpeg")
        if r.kind == "getty_media":
            size = qs.get("s", [""])[0]
            if size in ("2048x2048", "1024x1024"):
                return _Reply(200, self.cache.photo(r.index), "image/jpeg")
            return _Reply(200, self.cache.thumb(r.index), "image/jpeg")
        if r.kind == "redirect":
            return _Reply(302, b"", headers=(("Location", r.target),))
        if r.kind == "hostile":
            assert r.case is not None
            return self._serve_hostile_image(r.case, path)
        raise AssertionError(r.kind)

    def _serve_hostile_image(self, case: HostileCase, path: str) -> _Reply:
        idx = case.item.index
        serve = case.serve
        if serve == "status_404":
            return _Reply(404, pages.not_found())
        if serve == "flaky_500":
            with self._lock:
                self._hits[path] = self._hits.get(path, 0) + 1
                first = self._hits[path] == 1
            if first:
                return _Reply(500, b"<h1>500 Internal Server Error</h1>")
            return _Reply(200, self.cache.photo(idx), "image/jpeg")
        if serve == "photo":
            return _Reply(200, self.cache.photo(idx), "image/jpeg")
        if serve == "slow":
            return _Reply(200, self.cache.photo(idx), "image/jpeg", delay=self.slow_seconds)
        if serve == "truncated":
            return _Reply(200, payloads.truncated(self.cache.photo(idx)), "image/jpeg")
        if serve == "html_jpeg":
            return _Reply(200, payloads.html_document(), "image/jpeg")
        if serve == "duplicate":
            return _Reply(200, self.cache.photo(DUPLICATE_OF_INDEX), "image/jpeg")
        if serve == "bomb":
            return _Reply(200, payloads.decompression_bomb_png(), "image/png")
        if serve == "huge":
            return _Reply(200, payloads.padded(self.cache.photo(idx), self.huge_bytes), "image/jpeg")
        if serve == "near_dup":
            return _Reply(200, self.cache.near_duplicate(NEAR_DUPLICATE_OF_INDEX), "image/jpeg")
        raise AssertionError(serve)

    # ------------------------------------------------------------------------------ search pages

    def _entries(self, site: str, indices: list[int], host: str) -> list[pages.Entry]:
        out = []
        for i in indices:
            it = self._items[i]
            out.append(pages.Entry(it.detail_path, it.title, self._image_src(site, it.thumb_path, host)))
        return out

    def _hostile_entries(self, site: str, query_indices: list[int]) -> list[pages.Entry]:
        if 0 not in query_indices:
            return []
        return [pages.Entry(c.link, c.item.title, None) for c in self.hostile if c.site == site]

    def _serve_search(self, path: str, qs: dict[str, list[str]], host: str) -> _Reply | None:
        def arg(name: str, default: str = "") -> str:
            return qs.get(name, [default])[0]

        def page_arg() -> int:
            try:
                return max(1, int(arg("page", "1")))
            except ValueError:
                return 1

        layout = self.layout
        if m := re.fullmatch(r"/123rf/stock-photo/([^/]+)\.html", path):
            seg, page = m.group(1), page_arg()
            query = unquote(seg).replace("_", " ")
            listing = layout.listing("123rf", layout.matching_queries(query))
            entries = self._entries("123rf", layout.page(listing, page), host)
            if page == 1:
                entries += self._hostile_entries("123rf", layout.matching_queries(query))
            nxt = (
                f"/123rf/stock-photo/{seg}.html?page={page + 1}"
                if page < layout.last_page(len(listing))
                else None
            )
            return _Reply(200, pages.search_123rf(query, entries, nxt))
        if path == "/123rf/search.php":
            seg = quote_plus("_".join(arg("word").lower().split()))
            return _Reply(302, b"", headers=(("Location", f"/123rf/stock-photo/{seg}.html"),))
        if m := re.fullmatch(r"/depositphotos/(photos|stock-photos)/([^/]+)\.html", path):
            form, seg = m.group(1), m.group(2)
            try:
                offset = max(0, int(arg("offset", "0")))
            except ValueError:
                offset = 0
            query = unquote(seg).replace("-", " ")
            qi = layout.matching_queries(query)
            listing = layout.listing("depositphotos", qi)
            shown = listing[offset : offset + layout.per_page]
            entries = self._entries("depositphotos", shown, host)
            if offset == 0:
                entries += self._hostile_entries("depositphotos", qi)
            more = offset + layout.per_page < len(listing)
            nxt = f"/depositphotos/{form}/{seg}.html?offset={offset + layout.per_page}" if more else None
            return _Reply(200, pages.search_depositphotos(query, entries, nxt, last=not more))
        getty_photos = re.fullmatch(r"/getty/photos/([^/]*)", path)
        if getty_photos or path == "/getty/search/2/image":
            seg = getty_photos.group(1) if getty_photos else ""
            query = unquote(seg).replace("-", " ") if seg else arg("phrase")
            page = page_arg()
            qi = layout.matching_queries(query)
            listing = layout.listing("getty", qi)
            last = layout.last_page(len(listing))
            if page > last:
                return _Reply(200, pages.oops_getty())
            entries = self._entries("getty", layout.page(listing, page), host)
            if page == 1:
                entries += self._hostile_entries("getty", qi)
            phrase = quote_plus(query)
            if getty_photos:
                base = f"/getty/photos/{seg}?assettype=image&license=rf&phrase={phrase}&sort=best&page="
            else:
                base = f"/getty/search/2/image?phrase={phrase}&page="
            nxt = f"{base}{page + 1}" if page < last else None
            return _Reply(200, pages.search_getty(query, entries, nxt))
        if path == "/profile/search":
            query, page = arg("q"), page_arg()
            qi = layout.matching_queries(query)
            listing = layout.listing("profile", qi)
            entries = self._entries("profile", layout.page(listing, page), host)
            if page == 1:
                entries += self._hostile_entries("profile", qi)
            nxt = (
                f"/profile/search?q={quote_plus(query)}&page={page + 1}"
                if page < layout.last_page(len(listing))
                else None
            )
            return _Reply(200, pages.search_profile(query, entries, nxt))
        return None

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._log.append({"method": method, "path": path, "status": status})


class _Handler(BaseHTTPRequestHandler):
    site: FixtureSite
    protocol_version = "HTTP/1.1"
    server_version = "AdGenFixtureSite/1.0"
    timeout = 60  # idle keep-alive connections close after a minute

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.site.verbose:
            super().log_message(format, *args)

    def _handle(self, method: str, send_body: bool = True) -> None:
        site = self.site
        host = self.headers.get("Host") or f"127.0.0.1:{site.port}"
        internal = self.path.startswith("/_fixture/") or self.path == "/ground-truth.json"
        if site.latency and not internal:
            time.sleep(site.latency)
        try:
            reply = site.respond(method, self.path, host)
        except Exception as exc:  # a bug in the fixture: answer 500 rather than hang the crawler
            reply = _Reply(500, f"fixture error: {exc!r}".encode(), "text/plain")
        if not internal:
            site.record(method, self.path, reply.status)
        if reply.delay:
            time.sleep(reply.delay)
        etag = '"' + hashlib.sha256(reply.body).hexdigest()[:32] + '"'
        status, body = reply.status, reply.body
        if status == 200 and self.headers.get("If-None-Match") == etag:
            status, body = 304, b""
        try:
            self.send_response(status)
            self.send_header("Content-Type", reply.ctype)
            self.send_header("Content-Length", str(len(body)))
            if reply.status == 200:
                self.send_header("ETag", etag)
            for k, v in reply.headers:
                self.send_header(k, v)
            self.end_headers()
            if send_body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts, size caps)
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._handle("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle("HEAD", send_body=False)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._handle("POST")
