"""SRGAN's networks (Ledig et al. 2017, sec. 2.2 and fig. 4), sized for 8- and 16-px inputs.

Generator (SRResNet): a 9x9 convolution and PReLU; B residual blocks (3x3 conv, BatchNorm, PReLU, 3x3 conv,
BatchNorm, plus the block's input); a 3x3 conv and BatchNorm added to the output of the first layer (the
long skip); then log2(r) upsampling blocks, each a 3x3 convolution to 4x the channels, a pixel shuffle
(sub-pixel convolution, Shi et al. 2016) that turns them into twice the side, and PReLU; a final 9x9
convolution to the image. Everything before the upsampling runs at the low resolution, which is why it is
cheap. Deviation: tanh on the output, as our images are in [-1, 1].

Discriminator: 3x3 convolutions alternating stride 1 and 2 with doubling widths, BatchNorm (not on the
first) and LeakyReLU(0.2), then a dense layer, LeakyReLU and one logit: D(y) is the logit of "y is a real
high-resolution image". Deviation: ndf and the dense width are scaled down for 32-px images.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.PReLU(c),
                                  nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class Generator(nn.Module):
    """G(x): (B, C, s, s) in [-1, 1] -> (B, C, r s, r s) in [-1, 1], r a power of two."""

    def __init__(self, channels: int = 1, scale: int = 4, ngf: int = 64, n_blocks: int = 8):
        super().__init__()
        if scale < 2 or scale & (scale - 1):
            raise ValueError(f"scale must be a power of two >= 2, got {scale}")
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(channels, ngf, 9, 1, 4), nn.PReLU(ngf))
        self.blocks = nn.Sequential(*[ResidualBlock(ngf) for _ in range(n_blocks)],
                                    nn.Conv2d(ngf, ngf, 3, 1, 1, bias=False), nn.BatchNorm2d(ngf))
        self.upsample = nn.Sequential(*[nn.Sequential(nn.Conv2d(ngf, 4 * ngf, 3, 1, 1), nn.PixelShuffle(2),
                                                      nn.PReLU(ngf))
                                        for _ in range(int(math.log2(scale)))])
        self.tail = nn.Conv2d(ngf, channels, 9, 1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)  # (B, ngf, s, s)
        h = h + self.blocks(h)  # the long skip around the residual blocks
        return torch.tanh(self.tail(self.upsample(h)))  # (B, C, r s, r s)


class Discriminator(nn.Module):
    """D(y): (B, C, S, S) in [-1, 1] -> (B,) logits; S divisible by 8."""

    def __init__(self, channels: int = 1, ndf: int = 32, image_size: int = 32, dense: int = 256):
        super().__init__()
        layers: list[nn.Module] = []
        c = channels
        for i, w in enumerate((ndf, ndf, 2 * ndf, 2 * ndf, 4 * ndf, 4 * ndf)):
            stride = 2 if i % 2 else 1
            layers += [nn.Conv2d(c, w, 3, stride, 1, bias=i == 0)]
            if i:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.LeakyReLU(0.2, True))
            c = w
        side = image_size // 8
        layers += [nn.Flatten(), nn.Linear(c * side * side, dense), nn.LeakyReLU(0.2, True), nn.Linear(dense, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)[:, 0]
