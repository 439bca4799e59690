"""PIDM (Bhunia et al., CVPR 2023): pose-guided person image synthesis by a conditional diffusion model."""
