"""DDPM / DDIM: denoising diffusion on images (seeds 000, 002, 003, 004)."""
