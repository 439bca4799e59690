"""The item pipeline: download each lead's image, vet it, store it in the image store, journal it.

Spiders yield `ImageLead`s (where a photo is) and `Skip`s (what was not followed, and why). For a
lead this pipeline downloads the image through Scrapy's downloader (so robots.txt, retries with
backoff, timeouts and the size cap apply), checks it (adgen.crawl.vetting), stores new bytes under
their sha256 in the process's store writer (adgen.store: appended to the process's own open shard
and fsynced; the stage's merge links the finished shards into the store; a URL never becomes a
path) and only then appends one fsynced line to the site's journal.
Every failure becomes a reject line with its reason. The stage's merge names each row's shard.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scrapy import Request
from scrapy.exceptions import DropItem, UsageError
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from adgen.crawl import journal, vetting
from adgen.crawl.failures import classify_failure
from adgen.safety import OutputError
from adgen.store import layout
from adgen.store.writer import StoreWriter  # not `adgen.store`: spooling needs no pyarrow
from crawlers.items import ImageLead, Skip
from crawlers.middlewares import FrontierLost


def _now() -> str:
    return datetime.now(UTC).isoformat()


class ImageStorePipeline:
    @classmethod
    def from_crawler(cls, crawler):
        pipe = cls()
        pipe.crawler = crawler
        return pipe

    def open_spider(self, spider=None):
        spider = spider or self.crawler.spider
        job = spider.job
        if "journal" not in job:
            raise UsageError(
                "this spider needs the job `adgen crawl` writes: run `adgen crawl --site NAME`, or "
                "`scrapy crawl NAME -a job=data/raw/.crawl/NAME.job.json` after one"
            )
        self.root = Path(job["root"])
        self.known_ids: set[str] = set(spider.seen.image_ids)
        store = job.get("store") or {}
        self.store_dir = Path(store.get("dir") or Path(job["raw_dir"]) / "store")
        self.store = StoreWriter(
            self.store_dir,
            label=store.get("label") or job.get("site") or spider.name,  # a cluster node: <node>-<site>
            max_samples=int(store.get("max_samples", 10_000)),
            max_bytes=int(store.get("max_bytes", 512 * 1024 * 1024)),
            durable=True,  # a put returns once its bytes are fsynced: only then is it journalled
            pack=False,  # the process spools its own shards; the stage's merge links them in
            known=self.known_ids,  # photos already in the manifest are not spooled again
        )
        self.store_error: Exception | None = None
        try:
            self.store.open()
        except (OutputError, OSError) as exc:  # reported as a disk error on the first photo
            self.store_error = exc
        self.journal = journal.Journal(job["journal"])
        self.limits = vetting.Limits(**job["limits"])
        self.claimed: set[str] = set(spider.seen.image_urls)  # known, or being fetched in this run
        self.stats = self.crawler.stats

    def close_spider(self, spider=None):
        try:
            if self.store_error is None:
                self.store.close()  # its finished shards wait in its staging dir for the stage's merge
        except (OutputError, OSError) as exc:
            self.store.abandon()  # its spool stays; the stage's merge keeps its whole samples
            if self.stats.get_value("adgen/disk_error") is None:
                self.stats.set_value("adgen/disk_error", str(exc))
        finally:
            self.journal.close()

    async def process_item(self, item, spider=None):
        if isinstance(item, Skip):
            self._reject(item["site"], item["url"], item["reason"], item.get("detail"), item.get("page_url"))
            return item
        if not isinstance(item, ImageLead):
            return item
        url = item["image_url"]
        if url in self.claimed:  # another page of this run links the same image: note the page, once
            page = item.get("page_url") or url
            self._reject(
                item["site"], page, "duplicate_url", f"its image {url} is fetched from another page", page
            )
            raise DropItem(f"image already known or in progress: {url}")
        self.claimed.add(url)
        request = Request(url, meta={"adgen_image": True}, priority=10)
        try:
            response = await self.crawler.engine.download_async(request)
        except FrontierLost:  # the distributed crawl lost Redis: not the photo's fault
            return item
        except Exception as exc:  # every download failure is a reject with a reason
            reason, detail = classify_failure(exc)
            self._reject(item["site"], url, reason, detail, item.get("page_url"))
            return item
        if response.status != 200:
            self._reject(item["site"], url, f"http_{response.status}", None, item.get("page_url"))
            return item
        # Decode, hash and the fsynced writes run in a worker thread: the reactor keeps downloading.
        await maybe_deferred_to_future(deferToThread(self._keep, item, response))
        return item

    def _keep(self, item: ImageLead, response) -> None:
        body = response.body
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
        verdict = vetting.vet(body, ctype, self.limits)
        if isinstance(verdict, vetting.Refusal):
            self._reject(
                item["site"], item["image_url"], verdict.reason, verdict.detail, item.get("page_url")
            )
            return
        image_id = layout.sha256_hex(body)
        try:
            self._store_and_journal(item, body, image_id, verdict)
        except (OutputError, OSError) as exc:  # the disk, not the photo: stop this site's crawl
            self._disk_error(exc)

    def _disk_error(self, exc: Exception) -> None:
        """Stop the crawl on a full or read-only disk (every later photo would fail the same way).

        The photo is not recorded as a reject: the next run, with space, fetches it again. Files
        stored without their journal line are re-listed then (the next download of their URL finds
        the bytes in place and journals them).
        """
        from twisted.internet import reactor

        message = str(exc) if isinstance(exc, OutputError) else f"cannot write under {self.store_dir}: {exc}"
        if self.stats.get_value("adgen/disk_error") is None:
            self.stats.set_value("adgen/disk_error", message)
            spider = self.crawler.spider
            reactor.callFromThread(self.crawler.engine.close_spider, spider, "disk_error")

    def _store_and_journal(self, item: ImageLead, body: bytes, image_id: str, verdict) -> None:
        if self.store_error is not None:
            raise self.store_error
        row = {
            "image_id": image_id,
            "site": item["site"],
            "query": item.get("query") or "",
            "source_url": item["image_url"],
            "page_url": item.get("page_url"),
            "title": item.get("title"),
            "license": item.get("license"),
            "width": verdict.width,
            "height": verdict.height,
            "format": verdict.format,
            "bytes": len(body),
            "crawled_at": _now(),
            "phash": verdict.phash,
        }
        # A known photo is in the store already (the writer skips it); the same bytes stored by two
        # threads or two sites' processes are kept once.
        self.store.put_sample(image_id, {verdict.ext: body}, meta=row)  # the writer checks the key
        self.journal.append(journal.IMAGE, row)
        self.stats.inc_value("adgen/images_stored")

    def _reject(self, site, url, reason, detail, page_url) -> None:
        self.journal.append(
            journal.REJECT,
            {
                "url": url,
                "site": site,
                "reason": reason,
                "detail": detail,
                "page_url": page_url,
                "at": _now(),
            },
        )
        self.stats.inc_value(f"adgen/rejects/{reason}")
