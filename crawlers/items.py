"""What spiders find. Spiders only find things; the pipeline downloads, checks and stores."""

from __future__ import annotations

import scrapy


class ImageLead(scrapy.Item):
    """A photo the spider found: where its largest public preview is, and what the site says about it."""

    site = scrapy.Field()  # the params key of the site (e.g. "123rf", or a profile site's name)
    query = scrapy.Field()
    image_url = scrapy.Field()
    page_url = scrapy.Field()  # the detail page (or the search page when there is none)
    title = scrapy.Field()
    license = scrapy.Field()


class Skip(scrapy.Item):
    """A URL the spider did not follow or could not fetch, with the reason: nothing is dropped silently."""

    site = scrapy.Field()
    url = scrapy.Field()
    reason = scrapy.Field()
    detail = scrapy.Field()
    page_url = scrapy.Field()
