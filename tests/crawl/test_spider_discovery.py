"""Spiders come from Scrapy's SpiderLoader over the project's SPIDER_MODULES, not from a hand list:
a spider module added to a project is accepted by the params, and a misspelt one is refused in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adgen.config import from_dict
from adgen.errors import UserError
from crawlers import discovery


@pytest.fixture
def extra_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A tmp Scrapy project: the AdGen spiders plus one new site spider, named by SCRAPY_SETTINGS_MODULE."""
    pkg = tmp_path / "tmpsites"
    (pkg / "spiders").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "spiders" / "__init__.py").write_text("")
    (pkg / "spiders" / "shutterbox.py").write_text(
        "from crawlers.spiders.base import StockSpider\n\n\n"
        "class ShutterboxSpider(StockSpider):\n"
        '    name = "shutterbox"\n'
        '    default_base_url = "https://shutterbox.example"\n'
    )
    (pkg / "settings.py").write_text(
        "from crawlers.settings import *  # noqa: F403\n\n"
        'SPIDER_MODULES = ["crawlers.spiders", "tmpsites.spiders"]\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "tmpsites.settings")
    yield "tmpsites.settings"
    for name in [m for m in sys.modules if m == "tmpsites" or m.startswith("tmpsites.")]:
        del sys.modules[name]


def test_the_project_spiders_are_the_ones_scrapy_finds() -> None:
    assert list(discovery.spiders()) == ["123rf", "depositphotos", "getty", "profile"]
    # defaults: every spider that needs no profile; the params file and the typed default agree
    assert list(from_dict({}).crawl.sites) == ["123rf", "depositphotos", "getty"]


def test_a_spider_module_added_to_the_project_is_accepted(extra_project: str) -> None:
    import crawlers.run

    params = from_dict({"crawl": {"sites": {"box": {"spider": "shutterbox"}}}})
    assert params.crawl.sites["box"].spider == "shutterbox"
    assert crawlers.run.spiders()["shutterbox"].__module__ == "tmpsites.spiders.shutterbox"
    assert "shutterbox" in from_dict({}).crawl.sites  # a new site spider is crawled by default


def test_a_misspelt_spider_is_refused_in_one_line_naming_the_available_ones(extra_project: str) -> None:
    with pytest.raises(UserError) as err:
        from_dict({"crawl": {"sites": {"box": {"spider": "shuterbox"}}}}, "params.yaml")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("params.yaml: crawl.sites.box.spider: ")
    assert "'shuterbox'" in msg and "tmpsites.settings" in msg
    assert "available: 123rf, depositphotos, getty, profile, shutterbox" in msg


def test_a_hand_run_scrapy_crawl_gets_the_params_defaults() -> None:
    """crawlers/settings.py repeated crawl.*'s defaults by hand, and its download size limit had
    drifted (15 MB against crawl.max_image_bytes' 8 MiB); it reads them from the params now."""
    from scrapy.settings import Settings

    from adgen.config.crawl import CrawlParams

    settings, crawl = Settings(), CrawlParams()
    settings.setmodule("crawlers.settings", priority="project")
    assert settings.get("USER_AGENT") == crawl.user_agent
    assert settings.getint("DOWNLOAD_MAXSIZE") == crawl.max_image_bytes
    assert settings.getfloat("DOWNLOAD_DELAY") == crawl.download_delay
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == crawl.concurrent_requests_per_domain
    assert settings.getbool("AUTOTHROTTLE_ENABLED") == crawl.autothrottle.enabled
    assert settings.getint("RETRY_TIMES") == crawl.retry_times
