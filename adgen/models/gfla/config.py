"""train.gfla.* params."""

from adgen.config.base import Section


class GflaParams(Section):
    pass
