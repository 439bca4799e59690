"""train.stylegan2.* params."""

from adgen.config.base import Section


class StyleGAN2Params(Section):
    pass
