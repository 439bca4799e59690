"""train.<model>.* params: each model's section lives beside the model and is re-exported here."""

from adgen.models.gfla.config import GflaParams
from adgen.models.stgan.config import StganParams
from adgen.models.stylegan2.config import StyleGAN2Params

__all__ = ["GflaParams", "StganParams", "StyleGAN2Params"]
