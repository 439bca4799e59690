"""The site spiders speak the real sites' URL patterns and accept the markup variants on record.

Patterns and selectors come from shared/reference/stock-sites-markup.md (public scrapers, 2021-2024);
no network: each test feeds a small page in that markup to the spider's own parser.
"""

from __future__ import annotations

from scrapy.http import HtmlResponse

from crawlers.spiders import depositphotos, getty, rf123
from crawlers.spiders.depositphotos import DepositphotosSpider
from crawlers.spiders.getty import GettySpider
from crawlers.spiders.rf123 import Rf123Spider

Q = "woman with handbag full body"


def _page(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=f"<html><body>{body}</body></html>".encode(), encoding="utf-8")


def test_default_search_urls_are_the_real_sites_patterns():
    assert (
        Rf123Spider().search_url(Q, 1)
        == "https://www.123rf.com/stock-photo/woman_with_handbag_full_body.html"
    )
    assert Rf123Spider().search_url(Q, 2).endswith("woman_with_handbag_full_body.html?page=2")
    assert (
        DepositphotosSpider().search_url(Q, 1)
        == "https://depositphotos.com/photos/woman-with-handbag-full-body.html"
    )
    url = GettySpider().search_url(Q, 3)
    assert url.startswith("https://www.gettyimages.com/photos/woman-with-handbag-full-body?assettype=image")
    assert "phrase=woman+with+handbag+full+body" in url and url.endswith("&page=3")


def test_real_sites_and_their_image_cdns_are_in_scope_and_nothing_else():
    spider = Rf123Spider()
    assert spider.in_scope("https://previews.123rf.com/images/a/b.jpg")
    assert not spider.in_scope("https://evil123rf.com/x.jpg")
    assert DepositphotosSpider().in_scope(
        "https://st2.depositphotos.com/1/2/i/950/depositphotos_1-stock-photo-x.jpg"
    )
    assert GettySpider().in_scope("https://media.gettyimages.com/id/1/photo/x.jpg?s=612x612")
    assert not GettySpider().in_scope("javascript:void(0)")


def test_largest_preview_rewrites():
    assert (
        rf123.largest_preview("https://us.123rf.com/450wm/u/u2001/u200100001/41200001-slug.jpg?ver=6")
        == "https://previews.123rf.com/images/u/u2001/u200100001/41200001-slug.jpg"
    )
    assert depositphotos.largest_preview(
        "https://st2.depositphotos.com/100/200/i/600/depositphotos_5-stock-photo-x.jpg"
    ).endswith("/i/950/depositphotos_5-stock-photo-x.jpg")


def test_123rf_results_with_lazy_images_and_the_next_button():
    page = _page(
        "https://www.123rf.com/stock-photo/q.html",
        '<a href="/photo_1_a.html"><img class="ImageThumbnail__image ImageThumbnail__image--beta" alt="A" '
        'src="https://us.123rf.com/450wm/u/1-a.jpg?ver=6"></a>'
        '<a href="/photo_2_b.html"><img class="ImageThumbnail__image" alt="B" src="data:image/gif;base64,R0" '
        'data-src="https://us.123rf.com/450wm/u/2-b.jpg"></a>'
        '<a id="imagesearch-btn-nextpg" href="/stock-photo/q.html?page=2">Next</a>',
    )
    spider = Rf123Spider()
    results = spider.search_results(page)
    assert [(r.detail_url, r.title) for r in results] == [("/photo_1_a.html", "A"), ("/photo_2_b.html", "B")]
    assert results[1].image_url == "https://us.123rf.com/450wm/u/2-b.jpg"
    assert spider.next_page_url(page, "q", 1) == "/stock-photo/q.html?page=2"


def test_depositphotos_2021_picture_markup_and_inactive_pager():
    page = _page(
        "https://depositphotos.com/stock-photos/q.html",
        '<a href="/photo/x-1.html"><picture><img data-src="//st2.depositphotos.com/1/2/i/600/depositphotos_1-stock-photo-x.jpg"'
        ' src="data:image/gif;base64,R0" alt="X"></picture></a>'
        '<div class="pager-wrapper"><span class="pager__page-next pager__page_inactive">Next</span></div>',
    )
    spider = DepositphotosSpider()
    [result] = spider.search_results(page)
    assert result.detail_url == "/photo/x-1.html" and result.image_url.startswith("//st2.depositphotos.com/")
    assert spider.next_page_url(page, "q", 1) is None


def test_getty_hashed_class_variants_all_match_picture_img():
    body = "".join(
        f'<div><a class="MosaicAsset-module__link___{h}" href="/detail/photo/s-{i}/{i}"><figure><picture>'
        f'<img class="{cls}" alt="T{i} - stock photo" src="https://media.gettyimages.com/id/{i}/photo/s.jpg?s=612x612">'
        "</picture></figure></a></div>"
        for i, (h, cls) in enumerate(
            [
                ("15w9c", "MosaicAsset-module__thumb___yvFP5"),
                ("x", "BLA_wBUJrga_SkfJ8won"),
                ("y", "VxRXOwgHbHRi1LUtHYRl"),
            ]
        )
    )
    body += '<button data-testid="pagination-button-next">Next</button>'
    page = _page("https://www.gettyimages.com/photos/q?page=1", body)
    spider = GettySpider(job={"queries": ["q"]})
    assert [r.detail_url for r in spider.search_results(page)] == [
        f"/detail/photo/s-{i}/{i}" for i in range(3)
    ]
    assert spider.next_page_url(page, "q", 1).endswith("&page=2")  # a JS button: next page number in the URL
    oops = _page(
        "https://www.gettyimages.com/photos/q?page=99",
        "<h1>Oops! We can't find the page you are looking for.</h1>",
    )
    assert spider.search_results(oops) == []


def test_detail_pages_fall_back_to_open_graph_and_licence_meta():
    page = HtmlResponse(
        url="https://www.gettyimages.com/detail/photo/s/1",
        body=b'<html><head><meta property="og:title" content="Woman"><meta property="og:image" '
        b'content="https://media.gettyimages.com/id/1/photo/s.jpg?s=1024x1024"><meta name="license" content="RF">'
        b"</head><body></body></html>",
        encoding="utf-8",
    )
    got = GettySpider().detail(page)
    assert (got.image_url, got.title, got.license) == (
        "https://media.gettyimages.com/id/1/photo/s.jpg?s=1024x1024",
        "Woman",
        "RF",
    )
    assert getty.query_slug("Man With Backpack") == "man-with-backpack"
