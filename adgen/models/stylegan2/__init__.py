"""StyleGAN2 for new full-body people: model, ADA augmentation, training, sampling.

Declared to the project in `spec.py` (see adgen/models/registry.py)."""
