"""crawl.* params (owned by the crawl stage)."""

from adgen.config.base import Section


class CrawlParams(Section):
    pass
