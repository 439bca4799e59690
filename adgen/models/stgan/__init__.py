"""ST-GAN (Lin et al., CVPR 2018) in PyTorch: learns where and how a bag sits on a person.

`adgen.config` is imported first because it re-exports this package's `StganParams`: importing
`adgen.models.stgan.config` on its own would otherwise start a circular import.
"""

import adgen.config  # noqa: F401
