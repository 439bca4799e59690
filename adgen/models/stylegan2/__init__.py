"""StyleGAN2 for new full-body people: model, ADA augmentation, training, sampling.

`adgen.config` is imported first so that importing a submodule directly (e.g.
`adgen.models.stylegan2.config`) does not re-enter the params package half-initialised.
"""

import adgen.config  # noqa: F401
