"""The project's spiders, as Scrapy finds them: its SpiderLoader over the settings' SPIDER_MODULES.

One list for everyone: `crawlers.run` builds its crawlers from it, `adgen/config/crawl.py`
validates `crawl.sites.*.spider` against it and takes its default sites from it. A new site is a
spider module in a SPIDER_MODULES package, nothing more. The settings module is Scrapy's own
convention: `SCRAPY_SETTINGS_MODULE` when set (a project of your own), else crawlers/settings.py.
"""

from __future__ import annotations

import os
from functools import lru_cache

from scrapy import Spider
from scrapy.settings import Settings
from scrapy.spiderloader import get_spider_loader

DEFAULT_SETTINGS_MODULE = "crawlers.settings"


def settings_module() -> str:
    return os.environ.get("SCRAPY_SETTINGS_MODULE") or DEFAULT_SETTINGS_MODULE


def project_settings() -> Settings:
    """The project's Scrapy settings (priority "project", as `scrapy crawl` would read them)."""
    settings = Settings()
    settings.setmodule(settings_module(), priority="project")
    return settings


@lru_cache(maxsize=8)
def _spiders(module: str) -> dict[str, type[Spider]]:
    loader = get_spider_loader(project_settings())
    return {name: loader.load(name) for name in sorted(loader.list())}


def spiders() -> dict[str, type[Spider]]:
    """Spider name -> class, for every spider in the settings' SPIDER_MODULES (imported once)."""
    return _spiders(settings_module())


def default_sites() -> list[str]:
    """The spiders crawled when params name no sites: those that need no per-site profile."""
    return [name for name, cls in spiders().items() if getattr(cls, "default_site", False)]
