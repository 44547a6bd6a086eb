"""Pix2Pix: paired image-to-image translation with a conditional GAN plus L1 (Isola et al. 2017)."""
