"""Latent diffusion from pretrained parts: a KL autoencoder, a frozen CLIP text encoder and a
cross-attention U-Net, saved as a diffusers `StableDiffusionPipeline`."""
