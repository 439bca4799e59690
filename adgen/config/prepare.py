"""strip.*, pose.* and datasets.* params (owned by the strip/pose/build-datasets stages)."""

from adgen.config.base import Section


class StripParams(Section):
    pass


class PoseParams(Section):
    pass


class DatasetsParams(Section):
    pass
