"""CycleGAN: unpaired image-to-image translation with cycle consistency (seed 004)."""
