"""unCLIP (Ramesh et al. 2022, "Hierarchical Text-Conditional Image Generation with CLIP Latents", DALL-E 2) on
the project's own CLIP: a diffusion prior P(z_i | y) that turns a caption into a CLIP image embedding (`prior.py`,
family `unclip_prior`) and a diffusion decoder P(x | z_i) that turns an image embedding into an image in the
autoencoder's latent space (`decoder.py`, family `unclip_decoder`). Together, P(x | y) = P(x | z_i, y) P(z_i | y)
(Ramesh et al. 2022, eq. 1 and sec. 2). What both read from the frozen CLIP is in `embeddings.py`.
"""
