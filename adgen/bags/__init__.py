"""User bags: PNG cut-outs a user brings (`adgen bags import DIR`), added to the ST-GAN bag set."""
