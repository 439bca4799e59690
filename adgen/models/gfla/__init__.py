"""GFLA pose transfer (global flow, local attention) in pure PyTorch.

Declared to the project in `spec.py` (see adgen/models/registry.py)."""
