"""Pix2Pix: paired image-to-image translation with a conditional GAN plus L1 (seed 004)."""
