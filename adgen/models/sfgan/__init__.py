"""SF-GAN (Zhan, Zhu, Lu, CVPR 2019): a bag placed by ST-GAN's warps, then relit to match the scene.

`adgen.config` is imported first for the same reason as in `adgen.models.stgan`: the ST-GAN params
this package composes are re-exported there, and importing them alone starts a circular import.
"""

import adgen.config  # noqa: F401
