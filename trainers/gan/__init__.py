"""GAN family: DCGAN networks, the GAN loss table, the alternating D/G training step."""
