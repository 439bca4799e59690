"""HTML of the fixture site's search and detail pages, in each real site's markup (see SITES.md).

Why: the same spider code must crawl the real site and the fixture, so the pages carry the real
sites' URL patterns and selector hooks (123rf `img.ImageThumbnail__image`, depositphotos
`img.file-container__image._file-image` + `.pager__page-next`, getty `picture > img` with a
`/media/id/` src + `pagination-button-next`), plus the profile site's simple markup.
Pages are pure functions of their inputs: equal inputs give byte-identical pages (stable ETags).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

PLACEHOLDER_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


@dataclass(frozen=True)
class Entry:
    """One search result: where it links, its title and its thumbnail (None: a placeholder gif)."""

    href: str
    title: str
    thumb: str | None


@dataclass(frozen=True)
class Detail:
    title: str
    license: str
    image: str  # URL of the largest preview as the page gives it (root-relative, or absolute)


def _a(text: str) -> str:
    return escape(text, quote=True)


def _doc(title: str, body: str, head: str = "") -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_a(title)}</title>{head}</head>\n<body>\n{body}\n</body></html>\n"
    ).encode()


def _meta(detail: Detail, absolute_image: str) -> str:
    return (
        f'<meta property="og:title" content="{_a(detail.title)}">'
        f'<meta property="og:image" content="{_a(absolute_image)}">'
        f'<meta name="license" content="{_a(detail.license)}">'
    )


# ---------------------------------------------------------------------------------------------- 123rf


def search_123rf(query: str, entries: list[Entry], next_href: str | None) -> bytes:
    items = []
    for k, e in enumerate(entries):
        if e.thumb is None:
            src = f'src="{PLACEHOLDER_GIF}"'
        elif k % 3 == 1:  # lazy-loaded, like the real grid below the fold
            src = f'src="{PLACEHOLDER_GIF}" data-src="{_a(e.thumb)}"'
        else:
            src = f'src="{_a(e.thumb)}"'
        items.append(
            '<div class="ImageThumbnail__container">'
            f'<a class="ImageThumbnail__link" href="{_a(e.href)}">'
            f'<img class="ImageThumbnail__image ImageThumbnail__image--beta" alt="{_a(e.title)}" {src}>'
            "</a></div>"
        )
    nxt = f'<a id="imagesearch-btn-nextpg" href="{_a(next_href)}">Next</a>' if next_href else ""
    body = (
        '<header><form action="/123rf/search.php"><input id="mainsearchbar-input" name="word" '
        f'value="{_a(query)}"><button id="mainsearchbar-submit">Search</button></form></header>\n'
        f'<main><h1>{_a(query)} stock photos</h1>\n<section class="ImageSearch__grid">\n'
        + "\n".join(items)
        + f'\n</section>\n<nav class="ImageSearch__pagination">{nxt}</nav></main>'
    )
    return _doc(f"{query} Stock Photos | 123RF", body)


def detail_123rf(d: Detail, absolute_image: str) -> bytes:
    body = (
        '<main class="ImageDetails">'
        f'<h1 class="ImageDetails__title">{_a(d.title)}</h1>\n'
        f'<img id="mainImage" class="ImageDetails__image" alt="{_a(d.title)}" src="{_a(d.image)}">\n'
        f'<span class="ImageDetails__license">{_a(d.license)}</span></main>'
    )
    return _doc(f"{d.title} | 123RF", body, _meta(d, absolute_image))


# ---------------------------------------------------------------------------------------- depositphotos


def search_depositphotos(query: str, entries: list[Entry], next_href: str | None, last: bool) -> bytes:
    items = []
    for k, e in enumerate(entries):
        if e.thumb is None:
            img = (
                f'<img class="file-container__image _file-image" alt="{_a(e.title)}" src="{PLACEHOLDER_GIF}">'
            )
        elif k % 3 == 1:
            img = (
                f'<img class="file-container__image _file-image lazyload" alt="{_a(e.title)}" '
                f'src="{PLACEHOLDER_GIF}" data-src="{_a(e.thumb)}">'
            )
        else:
            img = f'<img class="file-container__image _file-image" alt="{_a(e.title)}" src="{_a(e.thumb)}">'
        items.append(
            f'<div class="file-container"><a class="file-container__link" href="{_a(e.href)}">'
            f"<picture>{img}</picture></a></div>"
        )
    if not entries:
        pager = '<div class="pager-wrapper"></div>'
    elif next_href and not last:
        pager = (
            f'<div class="pager-wrapper"><a class="pager__page-next" href="{_a(next_href)}">Next</a></div>'
        )
    else:
        pager = (
            '<div class="pager-wrapper"><span class="pager__page-next pager__page_inactive">Next</span></div>'
        )
    body = (
        f'<div id="root"><section class="search-result"><h1>{_a(query)} stock photos</h1>\n'
        '<div class="search-result__grid">\n' + "\n".join(items) + f"\n</div>\n{pager}</section></div>"
    )
    return _doc(f"{query} Stock Photos, Royalty Free Images | Depositphotos", body)


def detail_depositphotos(d: Detail, absolute_image: str) -> bytes:
    body = (
        '<div id="root"><section class="file-view">'
        f'<h1 class="file-view__title">{_a(d.title)}</h1>\n'
        f'<picture><img class="file-view__image" alt="{_a(d.title)}" src="{_a(d.image)}"></picture>\n'
        f'<div class="file-view__license">{_a(d.license)}</div></section></div>'
    )
    return _doc(f"{d.title} — Stock Photo | Depositphotos", body, _meta(d, absolute_image))


# -------------------------------------------------------------------------------------------- getty


def search_getty(query: str, entries: list[Entry], next_href: str | None) -> bytes:
    items = []
    for e in entries:
        src = _a(e.thumb) if e.thumb else PLACEHOLDER_GIF
        items.append(
            '<div data-testid="galleryMosaicAsset" class="MosaicAsset-module__galleryMosaicAsset___3lcaf">'
            f'<a class="MosaicAsset-module__link___15w9c" href="{_a(e.href)}"><figure><picture>'
            f'<img class="BLA_wBUJrga_SkfJ8won" alt="{_a(e.title)} - stock photo" src="{src}">'
            "</picture></figure></a></div>"
        )
    nxt = (
        f'<a data-testid="pagination-button-next" class="PaginationRow-module__nextButton___gH3HZ" '
        f'href="{_a(next_href)}">Next</a>'
        if next_href
        else ""
    )
    body = (
        f'<main><h1 class="SearchHeader">{_a(query)} photos</h1>\n'
        '<div class="GalleryItems-module__searchContent___3eEaB">\n'
        + "\n".join(items)
        + f'\n</div>\n<section class="PaginationRow-module__container">{nxt}</section></main>'
    )
    return _doc(f"{query} Photos and Premium High Res Pictures - Getty Images", body)


def oops_getty() -> bytes:
    return _doc(
        "Page not found - Getty Images",
        "<main><h1>Oops! We can't find the page you are looking for.</h1></main>",
    )


def detail_getty(d: Detail, absolute_image: str) -> bytes:
    body = (
        '<main class="AssetDetail">'
        f'<h1 data-testid="asset-title">{_a(d.title)}</h1>\n'
        f'<picture><img data-testid="asset-image" alt="{_a(d.title)} - stock photo" src="{_a(d.image)}"></picture>\n'
        f'<span data-testid="license-type">{_a(d.license)}</span></main>'
    )
    return _doc(f"{d.title} - Stock Photo - Getty Images", body, _meta(d, absolute_image))


# ------------------------------------------------------------------------------------------ profile


def search_profile(query: str, entries: list[Entry], next_href: str | None) -> bytes:
    items = []
    for e in entries:
        src = _a(e.thumb) if e.thumb else PLACEHOLDER_GIF
        items.append(
            f'<li><a class="result" href="{_a(e.href)}"><img src="{src}" alt="{_a(e.title)}"> {_a(e.title)}</a></li>'
        )
    nxt = f'<a class="next" href="{_a(next_href)}">Next</a>' if next_href else ""
    body = f"<h1>Results for {_a(query)}</h1>\n<ul>\n" + "\n".join(items) + f"\n</ul>\n<p>{nxt}</p>"
    return _doc(f"Search: {query}", body)


def detail_profile(d: Detail, absolute_image: str) -> bytes:
    body = f'<h1>{_a(d.title)}</h1>\n<img id="main" src="{_a(d.image)}" alt="{_a(d.title)}">\n<p class="license">{_a(d.license)}</p>'
    return _doc(d.title, body, _meta(d, absolute_image))


DETAIL = {
    "123rf": detail_123rf,
    "depositphotos": detail_depositphotos,
    "getty": detail_getty,
    "profile": detail_profile,
}


def not_found() -> bytes:
    return _doc("404 Not Found", "<h1>404 Not Found</h1>")
