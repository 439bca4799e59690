"""`adgen generate`: a new person (StyleGAN2), re-posed to a requested pose (GFLA), given the bag (ST-GAN)."""
