"""gettyimages.com: search pages with hashed CSS-module classes, so only structural hooks are used.

URL patterns and hooks (shared/reference/stock-sites-markup.md):
- search: `/photos/{query lowercased, spaces→-}?assettype=image&license=rf&alloweduse=
  availableforalluses&family=creative&phrase={query}&sort=best&page=N`
  (also `/search/2/image?phrase=&page=`);
- results: `picture > img` inside a link to `/detail/photo/{slug}/{id}` (the class names change
  often: `MosaicAsset-module__thumb___…`, `BLA_wBUJrga_SkfJ8won`, …); title in `img@alt`;
- next page: `[data-testid*=pagination-button-next]` or a `PaginationRow-module__nextButton…`; past
  the last page the site answers 200 with "Oops! We can't find the page…" and no results;
- images: `media.gettyimages.com/id/{id}/photo/{slug}.jpg?s=612x612&…` on search pages; the detail
  page carries the largest public preview (`s=2048x2048` / `1024x1024`).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from crawlers.spiders.base import Detail, Result, StockSpider, first, real_src


def query_slug(query: str) -> str:
    return quote(query.strip().lower().replace(" ", "-"))


class GettySpider(StockSpider):
    name = "getty"
    default_base_url = "https://www.gettyimages.com"
    default_allowed_domains = ["gettyimages.com"]

    def search_url(self, query: str, page: int) -> str:
        args = {
            "assettype": "image",
            "license": "rf",
            "alloweduse": "availableforalluses",
            "family": "creative",
            "phrase": query,
            "sort": "best",
            "page": page,
        }
        return f"{self.base_url}/photos/{query_slug(query)}?{urlencode(args)}"

    def search_results(self, response) -> list[Result]:
        if "Oops" in (response.css("h1::text").get() or ""):
            return []
        results: list[Result] = []
        seen: set[str] = set()
        for img in response.xpath("//picture/img"):
            href = img.xpath("ancestor::a[1]/@href").get()
            key = href or real_src(img)
            if not key or key in seen:
                continue
            seen.add(key)
            alt = img.attrib.get("alt")
            results.append(Result(href, real_src(img), alt))
        return results

    def next_page_url(self, response, query: str, page: int) -> str | None:
        href = first(
            response,
            '[data-testid*="pagination-button-next"]::attr(href)',
            'a[class*="PaginationRow-module__nextButton"]::attr(href)',
            "a[rel=next]::attr(href)",
        )
        if href:
            return href
        if response.css('button[data-testid*="pagination-button-next"]:not([disabled])'):
            return self.search_url(query, page + 1)  # a JS button: the page number is in the URL
        return None

    def detail(self, response) -> Detail:
        image = first(
            response,
            'img[data-testid="asset-image"]::attr(src)',
            "picture img::attr(src)",
            'meta[property="og:image"]::attr(content)',
        )
        title = first(
            response,
            'h1[data-testid="asset-title"]::text',
            "h1::text",
            'meta[property="og:title"]::attr(content)',
        )
        return Detail(
            image,
            title=title,
            license=first(
                response, '[data-testid="license-type"]::text', 'meta[name="license"]::attr(content)'
            ),
        )
