"""A small CLIP trained contrastively on captioned Fashion-MNIST, saved as a transformers `CLIPModel`."""
