"""ST-GAN (Lin et al., CVPR 2018) in PyTorch: learns where and how a bag sits on a person.

Declared to the project in `spec.py` (see adgen/models/registry.py)."""
