"""fixture_site.* params (the built-in fixture stock site used by the demo, tests and benchmarks)."""

from adgen.config.base import Section


class FixtureSiteParams(Section):
    pass
