"""A small Fashion-MNIST CNN classifier: the project's judge for FID/KID, class accuracy and entropy."""
