"""What the fixture stock site lists: which photo is on which site, query and page, under which URLs.

Why a separate module: the server, the tests and the docs all need the same answer to "where is
image i?", and it must be a pure function of (images, queries, per_page) so that growing the site
(`add_images`) only appends to the end of every result list (see SITES.md, "Which image is where").
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np

from adgen.fixture_site import synth

SITES: tuple[str, ...] = ("123rf", "depositphotos", "getty", "profile")
LICENCES = {
    "123rf": "Royalty-Free",
    "depositphotos": "Standard License",
    "getty": "Royalty-free",
    "profile": "CC BY 4.0",
}
DEFAULT_QUERIES: tuple[str, ...] = (
    "woman with handbag full body",
    "man with backpack",
    "person with suitcase",
)
HOSTILE_INDEX_BASE = 1_000_000  # synth indices of photos made for hostile cases (never listed normally)
OFFSITE_HOST = "http://example.invalid"

_ID_BASE = {"123rf": 41_200_000, "depositphotos": 439_000_000, "getty": 1_300_000_000, "profile": 5_000}
_USERS_123RF = ("photoviva", "urbanlens", "studiomara", "pixfolk", "northlight")
_SUBJECTS = ("woman", "young woman", "man", "businessman", "tourist", "student")
_TITLES = {
    "full_body_handbag_held": "{s} holding a handbag, full body",
    "full_body_handbag_shoulder": "{s} with a handbag on the shoulder, full length",
    "full_body_backpack": "{s} with a backpack, full body",
    "full_body_suitcase": "{s} with a suitcase at the airport, full length",
    "full_body_no_bag": "{s} standing, full body",
    "cropped_knees": "{s} with a {b}, three-quarter shot",
    "cropped_waist": "{s} with a {b}, waist up portrait",
    "cropped_head": "{s} with a {b}, cropped",
    "several_people": "group of friends with a {b}",
    "no_person_empty": "empty studio background",
    "no_person_bag": "{b} on the floor",
    "bag_on_floor_far": "{s} and a {b} left on the floor",
    "person_too_small": "{s} with a {b} in a large empty room",
}


def words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def slugify(text: str) -> str:
    return "-".join(words(text))


@dataclass(frozen=True)
class Item:
    """One listed photo on one site, with every URL path the site uses for it."""

    index: int  # synth index (>= HOSTILE_INDEX_BASE for hostile cases)
    site: str
    query: str | None
    id: int
    title: str
    slug: str
    license: str

    # -- per-site URL paths (root-relative; getty media paths carry their query string) ------------
    @property
    def detail_path(self) -> str:
        s = self.site
        if s == "123rf":
            return f"/123rf/photo_{self.id}_{self.slug}.html"
        if s == "depositphotos":
            return f"/depositphotos/photo/{self.slug}-{self.id}.html"
        if s == "getty":
            return f"/getty/detail/photo/{self.slug}-royalty-free-image/{self.id}"
        return f"/profile/item/{self.id}"

    def _123rf_tail(self) -> str:
        user = _USERS_123RF[self.index % len(_USERS_123RF)]
        yymm = f"{20 + self.index % 6}{1 + self.index % 12:02d}"
        return f"{user}/{user}{yymm}/{user}{yymm}{self.index % 100000:05d}/{self.id}-{self.slug}.jpg"

    def _deposit_path(self, size: int) -> str:
        n = 1 + self.index % 3
        user = 1_000_000 + (self.index * 7919) % 9_000_000
        folder = (self.id // 10_000) % 10_000
        return f"/depositphotos/st{n}/{user}/{folder}/i/{size}/depositphotos_{self.id}-stock-photo-{self.slug}.jpg"

    def getty_sig(self) -> str:
        digest = hashlib.sha256(f"getty:{self.id}".encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:43]

    def _getty_media(self, size: str, w: str) -> str:
        return f"/getty/media/id/{self.id}/photo/{self.slug}.jpg?s={size}&w={w}&k=20&c={self.getty_sig()}"

    @property
    def image_path(self) -> str:
        """The largest public preview (the bytes in the ground truth)."""
        s = self.site
        if s == "123rf":
            return f"/123rf/previews/images/{self._123rf_tail()}"
        if s == "depositphotos":
            return self._deposit_path(950)
        if s == "getty":
            return self._getty_media("2048x2048", "gi")
        return f"/profile/img/{self.id}.jpg"

    @property
    def thumb_path(self) -> str:
        s = self.site
        if s == "123rf":
            return f"/123rf/450wm/{self._123rf_tail()}?ver=6"
        if s == "depositphotos":
            return self._deposit_path(600)
        if s == "getty":
            return self._getty_media("612x612", "0")
        return f"/profile/thumb/{self.id}.jpg"

    @property
    def private_detail_path(self) -> str:
        """The same detail page under the site's robots-disallowed `private/` path."""
        return f"/{self.site}/private" + self.detail_path[len(self.site) + 1 :]

    @property
    def private_image_path(self) -> str:
        return f"/{self.site}/private/previews/{self.id}.jpg"


def make_item(seed: int, index: int, site: str, query: str | None) -> Item:
    spec = synth.photo_spec(seed, index)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, int(index) & 0xFFFFFFFF, 3])
    bag = spec.bags[0].cls if spec.bags else "handbag"
    subject = _SUBJECTS[int(rng.integers(0, len(_SUBJECTS)))]
    title = _TITLES[spec.scenario].format(s=subject, b=bag)
    title = title[0].upper() + title[1:]
    return Item(
        index=index,
        site=site,
        query=query,
        id=_ID_BASE[site] + index,
        title=title,
        slug=slugify(title),
        license=LICENCES[site],
    )


@dataclass(frozen=True)
class Layout:
    """Where image i is listed; a pure function of the site's size, queries and page size."""

    images: int
    queries: tuple[str, ...]
    per_page: int

    def site_of(self, index: int) -> str:
        return SITES[index % len(SITES)]

    def query_index_of(self, index: int) -> int:
        return (index // len(SITES)) % len(self.queries)

    def query_of(self, index: int) -> str:
        return self.queries[self.query_index_of(index)]

    def matching_queries(self, text: str) -> list[int]:
        """Configured queries whose words include all words of `text` (empty text: none)."""
        want = set(words(text))
        if not want:
            return []
        return [i for i, q in enumerate(self.queries) if want <= set(words(q))]

    def listing(self, site: str, query_indices: list[int]) -> list[int]:
        """Synth indices listed for these queries on this site, in increasing order."""
        s, n, stride = SITES.index(site), len(SITES), len(SITES) * len(self.queries)
        out: list[int] = []
        for q in query_indices:
            out.extend(range(s + n * q, self.images, stride))
        return sorted(out)

    def last_page(self, count: int) -> int:
        return max(1, math.ceil(count / self.per_page))

    def page(self, listing: list[int], page: int) -> list[int]:
        if page < 1:
            return []
        return listing[(page - 1) * self.per_page : page * self.per_page]

    def page_of(self, index: int) -> int:
        """Page (1-based) of image `index` in its own query's listing."""
        position = index // (len(SITES) * len(self.queries))
        return position // self.per_page + 1


def q_123rf(query: str) -> str:
    return quote("_".join(query.lower().split()), safe="")


def q_dash(query: str) -> str:
    return quote("-".join(query.lower().split()), safe="")
