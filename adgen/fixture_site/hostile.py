"""The hostile cases the fixture site serves, and what a correct crawler must make of each.

Why: a crawler is only trustworthy if every failure mode of the web ends as a named reject (or a
clean skip) and nothing unsafe is requested or written. Each case is one extra search result on
page 1 of its site's first query; the table in SITES.md is the contract with the crawl stage and
`/ground-truth.json` publishes these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

from adgen.fixture_site.catalog import HOSTILE_INDEX_BASE, OFFSITE_HOST, SITES, Item, make_item

# synth indices whose photos the duplicate cases copy: the first depositphotos / getty photos.
DUPLICATE_OF_INDEX = 1
NEAR_DUPLICATE_OF_INDEX = 2


@dataclass(frozen=True)
class HostileCase:
    key: str  # unique: the case name, or "{case}@{site}" for cases served on several sites
    case: str
    site: str
    item: Item  # the pseudo photo listed for this case (index >= HOSTILE_INDEX_BASE)
    link: str  # the search result's href
    image_url: str | None  # the image URL on the detail page (None: no detail page is served)
    serve: str  # how the server answers image_url: see server._serve_hostile_image
    outcome: str  # rejected | stored | stored_once | not_requested | skipped
    reason: str | None
    also_accept: tuple[str, ...]
    note: str

    def describe(self) -> dict:
        return {
            "case": self.case,
            "site": self.site,
            "detail_url": self.link,
            "image_url": self.image_url,
            "outcome": self.outcome,
            "reason": self.reason,
            "also_accept": list(self.also_accept),
            "note": self.note,
        }


# (case, site, serve, outcome, reason, also_accept, note)
_TABLE: list[tuple[str, str, str, str, str | None, tuple[str, ...], str]] = [
    ("http_404", "123rf", "status_404", "rejected", "http_404", (), "the image URL answers 404"),
    ("http_500_retry", "123rf", "flaky_500", "stored", None, (), "500 on the first request, then the photo"),
    ("redirect_loop", "123rf", "loop", "rejected", "redirect_loop", (), "a.jpg -> b.jpg -> a.jpg ..."),
    ("path_traversal", "123rf", "photo", "stored", None, (), "URL filename decodes to ../../x.jpg"),
    ("offsite_image", "123rf", "none", "not_requested", "offsite", (), "image on example.invalid"),
    ("timeout", "depositphotos", "slow", "rejected", "timeout", (), "answers after slow_seconds"),
    (
        "truncated_jpeg",
        "depositphotos",
        "truncated",
        "rejected",
        "truncated_image",
        ("undecodable",),
        "half a JPEG",
    ),
    (
        "html_as_jpeg",
        "depositphotos",
        "html_jpeg",
        "rejected",
        "bad_content_type",
        ("undecodable",),
        "HTML body",
    ),
    (
        "duplicate_bytes",
        "depositphotos",
        "duplicate",
        "stored_once",
        "duplicate_bytes",
        (),
        "bytes of image 1",
    ),
    (
        "decompression_bomb",
        "getty",
        "bomb",
        "rejected",
        "decompression_bomb",
        (),
        "PNG declaring 30000x30000",
    ),
    ("too_large", "getty", "huge", "rejected", "too_large", (), "valid JPEG padded to huge_bytes"),
    (
        "near_duplicate",
        "getty",
        "near_dup",
        "stored_once",
        "near_duplicate",
        (),
        "image 2 resized to 90%, q90",
    ),
    ("http_404_page", "getty", "none", "skipped", "http_404", (), "the detail page answers 404"),
    ("http_404_page", "profile", "none", "skipped", "http_404", (), "the detail page answers 404"),
]
_EVERY_SITE = [
    (
        "robots",
        "photo",
        "not_requested",
        "robots",
        (),
        "detail page under the robots-disallowed private/ path",
    ),
    ("offsite_link", "none", "not_requested", "offsite", (), "result link to example.invalid"),
]


def _image_url(case: str, item: Item) -> str | None:
    if case == "redirect_loop":
        return "/123rf/previews/loop/a.jpg"
    if case == "path_traversal":
        return "/123rf/previews/images/evil/..%2F..%2Fx.jpg"
    if case == "offsite_image":
        return f"{OFFSITE_HOST}/123rf/x.jpg"
    if case == "decompression_bomb":
        return item.image_path.replace(".jpg?", ".png?")
    if case == "robots":
        return item.private_image_path
    if case in ("http_404_page", "offsite_link"):
        return None
    return item.image_path


def hostile_cases(seed: int) -> list[HostileCase]:
    rows = [(c, s, *rest) for c, s, *rest in _TABLE]
    for site in SITES:
        for c, *rest in _EVERY_SITE:
            rows.append((c, site, *rest))
    counts: dict[str, int] = {}
    for c, *_ in rows:
        counts[c] = counts.get(c, 0) + 1
    out = []
    for k, (case, site, serve, outcome, reason, also, note) in enumerate(rows):
        item = make_item(seed, HOSTILE_INDEX_BASE + k, site, None)
        item = Item(**{**item.__dict__, "title": f"{item.title} ({case.replace('_', ' ')})"})
        if case == "robots":
            link = item.private_detail_path
        elif case == "offsite_link":
            link = f"{OFFSITE_HOST}/{site}/photo/1.html"
        else:
            link = item.detail_path
        out.append(
            HostileCase(
                key=case if counts[case] == 1 else f"{case}@{site}",
                case=case,
                site=site,
                item=item,
                link=link,
                image_url=_image_url(case, item),
                serve=serve,
                outcome=outcome,
                reason=reason,
                also_accept=also,
                note=note,
            )
        )
    return out
