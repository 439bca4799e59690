"""Entry point of one crawl subprocess: `python -m crawlers.run JOB.json`.

The stage (adgen/crawl/stage.py) writes the job (which site, spider, limits, Scrapy settings,
journal and seen-URL files) and starts this in its own process, because Twisted's reactor starts
once per process. On exit it records how the crawl closed in the JOBDIR, so the stage knows whether
the saved request queue can be resumed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# First, while few modules are loaded: importing Scrapy's HTTP handler builds deprecated aliases with
# inspect.stack(), whose cost grows with sys.modules (over a second once numpy/PIL are in).
import scrapy.core.downloader.handlers.http11  # noqa: F401, I001
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from adgen import atomic
from crawlers import settings as default_settings
from crawlers.spiders.depositphotos import DepositphotosSpider
from crawlers.spiders.getty import GettySpider
from crawlers.spiders.profile import ProfileSpider
from crawlers.spiders.rf123 import Rf123Spider

SPIDERS = {s.name: s for s in (Rf123Spider, DepositphotosSpider, GettySpider, ProfileSpider)}


def main(argv: list[str]) -> int:
    job_path = Path(argv[0])
    job = json.loads(job_path.read_text())
    settings = Settings()
    settings.setmodule(default_settings, priority="project")
    settings.update(job["settings"], priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SPIDERS[job["spider"]])
    outcome: dict[str, object] = {}

    def closed(spider, reason):
        outcome["reason"] = reason
        outcome["stats"] = {k: v for k, v in crawler.stats.get_stats().items() if _jsonable(v)}

    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler, job=job)
    process.start()
    stats = dict(outcome.get("stats") or {})
    stats["finish_reason"] = outcome.get("reason", "unknown")
    atomic.write_json(job["stats_file"], stats)
    jobdir = job["settings"].get("JOBDIR")
    if jobdir:
        atomic.write_text(Path(jobdir) / "closed-reason", str(outcome.get("reason", "unknown")) + "\n")
    return 0


def _jsonable(v: object) -> bool:
    return isinstance(v, int | float | str | bool) or v is None or hasattr(v, "isoformat")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
