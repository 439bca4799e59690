"""train.stgan.* params."""

from adgen.config.base import Section


class StganParams(Section):
    pass
