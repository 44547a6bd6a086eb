"""DCGAN (Radford et al. 2016), following the four guidelines of the seeds (000, 001):
strided (transposed) convolutions instead of pooling, BatchNorm except in G's last and D's first
layer, ReLU in G with tanh at the output, LeakyReLU(0.2) in D. Adam with beta1 = 0.5 is set in
`train.py`."""

from __future__ import annotations

import math

import torch
from torch import nn


def _n_up(image_size: int) -> int:
    n = int(math.log2(image_size)) - 2
    if image_size not in (32, 64):
        raise ValueError(f"DCGAN supports image_size 32 or 64, got {image_size}")
    return n


class Generator(nn.Module):
    """z (B, z_dim) -> x (B, C, S, S) in [-1, 1]: project to 4x4, then double the size n times."""

    def __init__(self, z_dim: int = 100, ngf: int = 32, channels: int = 1, image_size: int = 32):
        super().__init__()
        n = _n_up(image_size)
        c = ngf * 2 ** (n - 1)
        layers = [nn.ConvTranspose2d(z_dim, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]  # (B, c, 4, 4)
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(True)]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, 2, 1), nn.Tanh()]  # no BatchNorm on G's last layer
        self.net = nn.Sequential(*layers)
        self.z_dim = z_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class Discriminator(nn.Module):
    """x (B, C, S, S) -> logit (B,): halve the size n times, then a 4x4 convolution to one number."""

    def __init__(self, ndf: int = 32, channels: int = 1, image_size: int = 32):
        super().__init__()
        n = _n_up(image_size)
        layers = [nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]  # no BatchNorm on D's first layer
        c = ndf
        for _ in range(n - 1):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, True)]
            c *= 2
        layers += [nn.Conv2d(c, 1, 4, 1, 0)]  # (B, 1, 1, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def init_weights(m: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) for convolutions, N(1, 0.02) for BatchNorm scales."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
