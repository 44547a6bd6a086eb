"""DDPM / DDIM: denoising diffusion on images (Ho et al. 2020; Song et al. 2021)."""
