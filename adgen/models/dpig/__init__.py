"""Disentangled Person Image Generation (Ma et al., CVPR 2018) in PyTorch: approach 2 of the product,
new people sampled straight into a chosen pose. Declared once in `spec.py` (see docs/dpig.md)."""
