"""Training sets built from the stripped people and bags: ST-GAN, StyleGAN2 (NVlabs zip), GFLA
(official DeepFashion layout), plus the DeepFashion In-shop loader and the dataset cards."""
