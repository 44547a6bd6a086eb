"""Autoencoders and VAEs: linear, deep (MLP), convolutional, denoising, and the convolutional VAE."""
