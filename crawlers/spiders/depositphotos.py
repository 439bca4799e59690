"""depositphotos.com: search pages with a pager, detail pages with the 950 px preview.

URL patterns and hooks (shared/reference/stock-sites-markup.md):
- search: `/photos/{query lowercased, spaces→-}.html` (older `/stock-photos/{q}.html?offset=N`,
  about 100 results per page); follow the pager's `.pager__page-next` link, which is a `<span>` with
  `pager__page_inactive` (no href) on the last page;
- results: `img.file-container__image` or `a > picture > img` (`data-src` when lazy; `src` may be
  protocol-relative `//st2.depositphotos.com/...`); detail links `/photo/{slug}-{id}.html`;
- previews on `st{N}.depositphotos.com/{user}/{folder}/i/{380|450|600|950}/depositphotos_{id}-…jpg`:
  the size segment is the long edge, 950 the largest public one.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from crawlers.spiders.base import Detail, Result, StockSpider, first, real_src

_SIZE = re.compile(r"/i/(380|450|600)/(depositphotos_[^/]+)$")


def query_slug(query: str) -> str:
    return quote(query.strip().lower().replace(" ", "-"))


def largest_preview(url: str) -> str:
    """Rewrite a smaller `/i/{size}/` preview to the 950 px one (same file name)."""
    return _SIZE.sub(r"/i/950/\2", url.split("?")[0]) if _SIZE.search(url.split("?")[0]) else url


class DepositphotosSpider(StockSpider):
    name = "depositphotos"
    default_base_url = "https://depositphotos.com"
    default_allowed_domains = ["depositphotos.com"]

    def search_url(self, query: str, page: int) -> str:
        return f"{self.base_url}/photos/{query_slug(query)}.html"

    def search_results(self, response) -> list[Result]:
        results: list[Result] = []
        seen: set[str] = set()
        imgs = response.css("img.file-container__image") or response.xpath("//a/picture/img")
        for img in imgs:
            href = img.xpath("ancestor::a[1]/@href").get()
            key = href or real_src(img)
            if not key or key in seen:
                continue
            seen.add(key)
            results.append(Result(href, real_src(img), img.attrib.get("alt")))
        return results

    def next_page_url(self, response, query: str, page: int) -> str | None:
        nxt = response.css(".pager__page-next")
        if not nxt or "pager__page_inactive" in (nxt[0].attrib.get("class") or ""):
            return None
        return nxt[0].attrib.get("href")

    def detail(self, response) -> Detail:
        image = first(
            response,
            "img.file-view__image::attr(src)",
            "picture img::attr(src)",
            'meta[property="og:image"]::attr(content)',
        )
        return Detail(
            largest_preview(image) if image else None,
            title=first(response, "h1::text", 'meta[property="og:title"]::attr(content)'),
            license=first(response, ".file-view__license::text", 'meta[name="license"]::attr(content)'),
        )
