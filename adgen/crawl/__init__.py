"""The crawl stage: run the Scrapy spiders in a subprocess and merge what they found into data/raw."""
