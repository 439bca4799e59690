"""A spider driven entirely by a site profile in params.yaml: a new site needs no code.

```yaml
crawl:
  sites:
    mysite:
      spider: profile
      start_urls: [https://example.com/search?q={query}]   # {query}: each crawl query, URL-encoded
      allowed_domains: [example.com]
      result_links: "a.result::attr(href)"      # CSS or XPath, on search pages: detail pages
      next_page: "a.next::attr(href)"
      image_url: "img#main::attr(src)"           # on the detail page
      title: "h1::text"
      license: ".license::text"
```
"""

from __future__ import annotations

from urllib.parse import quote_plus, urljoin, urlsplit

from crawlers.spiders.base import Detail, Result, StockSpider, first, select


class ProfileSpider(StockSpider):
    name = "profile"
    default_site = False  # needs selectors in params (crawl.sites.<site>), so never a default

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.allowed_domains:  # no base_url and no allowed_domains: the start URLs' hosts
            hosts = {urlsplit(u).hostname for _, u in self.search_requests()}
            self.allowed_domains = sorted(h for h in hosts if h)

    def search_requests(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        base = self.base_url + "/" if self.base_url else ""
        for template in self.job.get("start_urls") or []:
            if "{query}" in template:
                for q in self.queries:
                    out.append((q, urljoin(base, template.replace("{query}", quote_plus(q)))))
            else:
                out.append(("", urljoin(base, template)))
        return out

    def search_results(self, response) -> list[Result]:
        links = select(response, self.job["result_links"])
        return [Result(href.strip()) for href in dict.fromkeys(links) if href.strip()]

    def next_page_url(self, response, query: str, page: int) -> str | None:
        expr = self.job.get("next_page")
        return first(response, expr) if expr else None

    def detail(self, response) -> Detail:
        def opt(key: str) -> str | None:
            expr = self.job.get(key)
            return first(response, expr) if expr else None

        return Detail(opt("image_url"), title=opt("title"), license=opt("license"))
