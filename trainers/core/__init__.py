"""Code shared by every family: data sources, checkpoint I/O, the training loop, metrics."""
