"""fixture_site.* params (the built-in fixture stock site used by the demo, tests and benchmarks)."""

from pydantic import Field

from adgen.config.base import Section


class FixtureSiteParams(Section):
    """Defaults for `adgen fixture-site serve` (each has a CLI flag that overrides it)."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)  # 0 = any free port
    images: int = Field(200, ge=0)  # photos across the four sites (hostile cases come on top)
    seed: int = Field(0, ge=0, le=2**32 - 1)  # same seed -> same pages and byte-identical photos
    latency_ms: float = Field(0.0, ge=0)  # added to every request (threaded: concurrency helps)
    per_page: int = Field(20, ge=1)  # results per search page
    queries: list[str] = Field(
        default_factory=lambda: ["woman with handbag full body", "man with backpack", "person with suitcase"],
        min_length=1,
    )
    slow_seconds: float = Field(3.0, ge=0)  # the `timeout` hostile case answers after this long
    huge_bytes: int = Field(9 * 2**20, ge=1)  # size of the `too_large` hostile image
    hostile: bool = True  # serve the hostile cases (SITES.md)
