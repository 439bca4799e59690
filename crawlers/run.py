"""Entry point of a crawl subprocess: `python -m crawlers.run JOB.json [JOB.json ...]`.

The stage (adgen/crawl/stage.py) writes one job per site (spider, limits, Scrapy settings, journal
and seen-URL files) and starts this in its own process, because Twisted's reactor starts once per
process. Several sites may share a process (one crawler each, sharing the reactor). On exit it records how the crawl closed in the JOBDIR, so the stage knows whether
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

from adgen import atomic
from crawlers.discovery import project_settings, spiders


def main(argv: list[str]) -> int:
    """Crawl every job given (one site each) in this process; each site keeps its own JOBDIR."""
    jobs = [json.loads(Path(a).read_text()) for a in argv]
    settings = project_settings()  # SCRAPY_SETTINGS_MODULE, else crawlers/settings.py
    # Process-wide values (log file, reactor) from the first job, below each crawler's own priority:
    # `crawl()` merges the process settings into every crawler unless the crawler's are higher.
    settings.update(jobs[0]["settings"], priority="project")
    process = CrawlerProcess(settings)
    outcomes = [_add_crawl(process, job) for job in jobs]
    process.start()
    for job, outcome in zip(jobs, outcomes, strict=True):
        stats = dict(outcome.get("stats") or {})
        stats["finish_reason"] = outcome.get("reason", "unknown")
        atomic.write_json(job["stats_file"], stats)
        jobdir = job["settings"].get("JOBDIR")
        if jobdir:
            atomic.write_text(Path(jobdir) / "closed-reason", str(outcome.get("reason", "unknown")) + "\n")
    return 0


def _add_crawl(process: CrawlerProcess, job: dict) -> dict[str, object]:
    crawler = process.create_crawler(spiders()[job["spider"]])  # Scrapy's SpiderLoader finds them
    crawler.settings.update(job["settings"], priority="cmdline")  # JOBDIR and limits of this site
    if job.get("cluster"):  # a node of the distributed crawl (adgen/crawl/nodes.py)
        from crawlers import frontier

        crawler.settings.update(frontier.scrapy_settings(job["cluster"]), priority="cmdline")
    outcome: dict[str, object] = {}

    def closed(spider, reason):
        outcome["reason"] = reason
        outcome["stats"] = {k: v for k, v in crawler.stats.get_stats().items() if _jsonable(v)}

    crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)  # a closure: keep it alive
    process.crawl(crawler, job=job)
    return outcome


def _jsonable(v: object) -> bool:
    return isinstance(v, int | float | str | bool) or v is None or hasattr(v, "isoformat")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
