"""The judges: a small VGG-style CNN, whose 128-d penultimate features stand in for Inception's in FID/KID,
and a multilayer perceptron, a second judge of another architecture (no convolutions, no weight sharing)
that checks the first one's verdicts on generated images."""

from __future__ import annotations

import torch
from torch import nn


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class _Judge(nn.Module):
    """A judge: `body` maps images to (B, feature_dim) features (FID/KID use them), then dropout and a linear
    head give the class logits."""

    def __init__(self, body: nn.Module, feature_dim: int, n_classes: int, dropout: float):
        super().__init__()
        self.body, self.dropout = body, nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, n_classes)
        self.feature_dim = feature_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.body(x)))


class SmallCNN(_Judge):
    """(B, C, 32, 32) in [-1, 1] -> logits (B, n_classes); `features` gives (B, feature_dim)."""

    def __init__(self, channels: int = 1, width: int = 32, feature_dim: int = 128, n_classes: int = 10,
                 dropout: float = 0.3):
        super().__init__(nn.Sequential(
            _block(channels, width),  # (B, w, 16, 16)
            _block(width, 2 * width),  # (B, 2w, 8, 8)
            _block(2 * width, 4 * width),  # (B, 4w, 4, 4)
            nn.Flatten(),
            nn.Linear(4 * width * 16, feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True),
        ), feature_dim, n_classes, dropout)


class MLP(_Judge):
    """(B, C, 32, 32) in [-1, 1] -> logits (B, n_classes): flattened pixels -> 1024 -> 512 -> feature_dim ->
    classes, each hidden layer Linear + BatchNorm + ReLU; `features` gives (B, feature_dim)."""

    def __init__(self, channels: int = 1, width: int = 32, feature_dim: int = 128, n_classes: int = 10,
                 dropout: float = 0.3, image_size: int = 32):
        dims = [channels * image_size ** 2, 32 * width, 16 * width, feature_dim]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(dims, dims[1:]):
            layers += [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b), nn.ReLU(inplace=True)]
        super().__init__(nn.Sequential(*layers), feature_dim, n_classes, dropout)
