"""123rf.com: server-rendered search pages, one detail page per photo.

URL patterns and hooks (shared/reference/stock-sites-markup.md):
- search: `/stock-photo/{query lowercased, spaces→_}.html?page=N` (the site's own search form
  redirects `search.php?word=` there);
- results: `img.ImageThumbnail__image` (title in `alt`, lazy images keep the URL in `data-src`),
  the detail link is the enclosing `<a href=".../photo_{id}_{slug}.html">`;
- next page: `#imagesearch-btn-nextpg`;
- detail page: the largest public preview lives on `previews.123rf.com/images/...`; the older
  `us.123rf.com/450wm/...` form is a 450 px copy of the same path.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from crawlers.spiders.base import Detail, Result, StockSpider, first, real_src

_DETAIL = re.compile(r"/photo_\d+_[^/]*\.html")


def query_slug(query: str) -> str:
    return quote(query.strip().lower().replace(" ", "_"))


def largest_preview(url: str) -> str:
    """`us.123rf.com/450wm/<path>` → `previews.123rf.com/images/<path>` (same photo, largest size)."""
    m = re.match(r"^(https?:)?//us\.123rf\.com/450wm/(.+?)(\?.*)?$", url)
    return f"https://previews.123rf.com/images/{m.group(2)}" if m else url


class Rf123Spider(StockSpider):
    name = "123rf"
    default_base_url = "https://www.123rf.com"
    default_allowed_domains = ["123rf.com"]

    def search_url(self, query: str, page: int) -> str:
        url = f"{self.base_url}/stock-photo/{query_slug(query)}.html"
        return url if page == 1 else f"{url}?page={page}"

    def search_results(self, response) -> list[Result]:
        results: list[Result] = []
        seen: set[str] = set()
        for img in response.css('img[class*="ImageThumbnail__image"]'):
            href = img.xpath("ancestor::a[1]/@href").get()
            key = href or real_src(img)
            if not key or key in seen:
                continue
            seen.add(key)
            results.append(Result(href, real_src(img), img.attrib.get("alt")))
        if not results:  # markup without the thumbnail class: fall back to the detail URL pattern
            for a in response.css("a[href]"):
                href = a.attrib["href"]
                if _DETAIL.search(href) and href not in seen:
                    seen.add(href)
                    results.append(Result(href, None, a.css("img::attr(alt)").get()))
        return results

    def next_page_url(self, response, query: str, page: int) -> str | None:
        return first(response, "#imagesearch-btn-nextpg::attr(href)", "a[rel=next]::attr(href)")

    def detail(self, response) -> Detail:
        image = first(
            response,
            "img#mainImage::attr(src)",
            "img.ImageDetails__image::attr(src)",
            'meta[property="og:image"]::attr(content)',
        )
        return Detail(
            largest_preview(image) if image else None,
            title=first(response, "h1::text", 'meta[property="og:title"]::attr(content)'),
            license=first(
                response,
                '[class*="ImageDetails__license"]::text',
                'meta[name="license"]::attr(content)',
            ),
        )
