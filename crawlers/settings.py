"""Scrapy settings for the AdGen crawlers: polite and robust by default.

`adgen crawl` overrides the knobs from params.yaml (crawl.*) per run; see adgen/crawl/jobs.py.
Running `scrapy crawl` by hand uses these defaults.
"""

from adgen.config.crawl import CrawlParams
from adgen.crawl.jobs import politeness_settings

BOT_NAME = "adgen"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# User agent, robots.txt, concurrency, delays, sizes, retries, autothrottle, log level: crawl.*'s
# defaults (adgen/config/crawl.py), the one place they are set.
globals().update(politeness_settings(CrawlParams()))
RETRY_ENABLED = True
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
}
ITEM_PIPELINES = {"crawlers.pipelines.ImageStorePipeline": 300}

# The crawl decides what is new from the manifest, the rejects and the journal (adgen/crawl/seen.py),
# so Scrapy's own fingerprint set is not used: after a kill -9 it would remember requests whose
# results were never saved. JOBDIR (set per site by the stage) still keeps the pending queue.
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"

# Extensions a batch crawl does not use; the remote-control and telnet ones would also open ports.
EXTENSIONS = {
    "scrapy.extensions.remote_control.RemoteControl": None,
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.memdebug.MemoryDebugger": None,
    "scrapy.extensions.feedexport.FeedExporter": None,
}
REMOTE_CONTROL_ENABLED = False
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
