"""detect.* params (owned by the filter stage)."""

from adgen.config.base import Section


class DetectParams(Section):
    pass
