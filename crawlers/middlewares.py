"""Downloader middlewares shared by every spider."""

from __future__ import annotations

import asyncio

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest


class FrontierLost(IgnoreRequest):
    """A download not made because the distributed crawl lost Redis: the infrastructure's fault, never
    the URL's, so it is not journalled as a reject (the node stops; the URL stays unseen)."""


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry (5xx, 408/429, timeouts, dropped connections) plus exponential backoff.

    The n-th retry of a request waits RETRY_BACKOFF * 2**(n-1) seconds first, so a struggling
    server gets room instead of an immediate second hit. Other requests keep flowing meanwhile.
    """

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff = settings.getfloat("RETRY_BACKOFF", 0.0)

    async def _wait(self, result):
        if isinstance(result, Request) and self.backoff > 0:
            n = int(result.meta.get("retry_times", 1))
            await asyncio.sleep(self.backoff * 2 ** (n - 1))
        return result

    async def process_response(self, request, response, spider=None):
        return await self._wait(super().process_response(request, response))

    async def process_exception(self, request, exception, spider=None):
        return await self._wait(super().process_exception(request, exception))
