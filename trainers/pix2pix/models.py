"""Pix2Pix's networks (Isola et al. 2017, sec. 3.2; after junyanz/pytorch-CycleGAN-and-pix2pix).

U-Net generator: an encoder of stride-2 4x4 convolutions down to 1x1, a decoder of transposed
convolutions back up, each decoder level concatenated with the encoder level of the same size (skip
connections); dropout in the innermost decoder levels is the generator's only noise z (sec. 3.1).
PatchGAN discriminator: a small convolutional net over the concatenated (input, output) pair whose
output is a grid of real/fake logits, one per overlapping patch (sec. 3.2.2).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class UNetGenerator(nn.Module):
    """G(x): (B, c_in, S, S) in [-1, 1] -> (B, c_out, S, S) in [-1, 1]; S a power of two >= 16."""

    def __init__(self, c_in: int = 1, c_out: int = 1, ngf: int = 32, image_size: int = 32, dropout: float = 0.5):
        super().__init__()
        levels = int(math.log2(image_size))  # down to 1x1
        widths = [min(ngf * 2 ** i, ngf * 8) for i in range(levels)]  # 32 px, ngf 32: 32 64 128 256 256
        self.down = nn.ModuleList()
        c = c_in
        for i, w in enumerate(widths):
            layers = [nn.Conv2d(c, w, 4, 2, 1, bias=False)]
            if 0 < i < levels - 1:  # no norm on the first layer, nor at 1x1 (BatchNorm of one value per map)
                layers.append(nn.BatchNorm2d(w))
            self.down.append(nn.Sequential(*layers))
            c = w
        self.up = nn.ModuleList()
        for i in reversed(range(levels - 1)):  # up to the size of encoder level i, then concat it
            c_skip = widths[i]
            layers = [nn.ConvTranspose2d(c, c_skip, 4, 2, 1, bias=False), nn.BatchNorm2d(c_skip)]
            if i >= levels - 4:  # dropout in the three innermost decoder levels
                layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
            c = 2 * c_skip
        self.out = nn.ConvTranspose2d(c, c_out, 4, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        h = x
        for i, layer in enumerate(self.down):
            h = layer(h if i == 0 else nn.functional.leaky_relu(h, 0.2))
            skips.append(h)
        skips.pop()  # the 1x1 bottleneck is h itself
        for layer in self.up:
            h = torch.cat([layer(torch.relu(h)), skips.pop()], 1)
        return torch.tanh(self.out(torch.relu(h)))


class PatchDiscriminator(nn.Module):
    """D(x, y): (B, c_in, S, S) (input and output concatenated) -> (B, 1, P, P) patch logits."""

    def __init__(self, c_in: int = 2, ndf: int = 32, n_layers: int = 2, norm: str = "batch"):
        super().__init__()
        Norm = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d}[norm]
        layers: list[nn.Module] = [nn.Conv2d(c_in, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = ndf
        for i in range(1, n_layers + 1):
            w = min(ndf * 2 ** i, ndf * 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(c, w, 4, stride, 1, bias=False), Norm(w), nn.LeakyReLU(0.2, True)]
            c = w
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        return self.net(xy)


def init_weights(m: nn.Module) -> None:
    """N(0, 0.02) convolutions, N(1, 0.02) norm scales (Isola et al. sec. 6.2, as DCGAN)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
