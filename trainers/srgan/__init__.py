"""SRGAN: super-resolution by a residual generator, a content loss in a classifier's feature space and an
adversarial loss (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network", arXiv 1609.04802)."""
