"""GFLA pose transfer (global flow, local attention) in pure PyTorch.

`adgen.config` is imported first: it re-exports this package's `GflaParams`, so importing a submodule
of this package before the config would otherwise be a circular import.
"""

import adgen.config  # noqa: F401  (see docstring)
