"""Autoencoder networks: dense linear (Baldi & Hornik 1989), deep (Hinton & Salakhutdinov 2006),
convolutional (Masci et al. 2011), and the VAE (Kingma & Welling 2014).

Every model is an encoder E and a decoder D. A plain autoencoder's encoder gives z = E(x); a VAE's
gives the mean mu(x) and log-variance ln sigma^2(x) of q(z|x) = N(mu, sigma^2 I). The decoder gives
x_tilde = D(z) as logits (Bernoulli likelihood) or as the mean of N(x_tilde, c I) (Gaussian).
Shapes: x (B, C, S, S) in [-1, 1]; z, mu, logvar (B, latent_dim).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .losses import reparametrize


class LinearEncoder(nn.Module):
    """Dense linear: z = W x + b (with no non-linearity this AE spans the same subspace as PCA)."""

    def __init__(self, in_shape: tuple[int, int, int], out_dim: int, **_):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), out_dim))

    def forward(self, x):
        return self.net(x)


class LinearDecoder(nn.Module):
    def __init__(self, out_shape: tuple[int, int, int], latent_dim: int, **_):
        super().__init__()
        self.net, self.out_shape = nn.Linear(latent_dim, math.prod(out_shape)), out_shape

    def forward(self, z):
        return self.net(z).view(-1, *self.out_shape)


class MLPEncoder(nn.Module):
    """Deep autoencoder: two hidden ReLU layers."""

    def __init__(self, in_shape, out_dim: int, width: int = 32, **_):
        super().__init__()
        h = 16 * width
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), h), nn.ReLU(True),
                                 nn.Linear(h, h // 2), nn.ReLU(True), nn.Linear(h // 2, out_dim))

    def forward(self, x):
        return self.net(x)


class MLPDecoder(nn.Module):
    def __init__(self, out_shape, latent_dim: int, width: int = 32, **_):
        super().__init__()
        h = 16 * width
        self.net = nn.Sequential(nn.Linear(latent_dim, h // 2), nn.ReLU(True), nn.Linear(h // 2, h), nn.ReLU(True),
                                 nn.Linear(h, math.prod(out_shape)))
        self.out_shape = out_shape

    def forward(self, z):
        return self.net(z).view(-1, *self.out_shape)


class ConvEncoder(nn.Module):
    """Strided convolutions S -> S/8, then a linear layer to the latent (or to mu and log-variance)."""

    def __init__(self, in_shape, out_dim: int, width: int = 32, **_):
        super().__init__()
        c, s, _ = in_shape
        self.net = nn.Sequential(
            nn.Conv2d(c, width, 4, 2, 1), nn.BatchNorm2d(width), nn.LeakyReLU(0.2, True),  # (B, w, S/2, S/2)
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2, True),  # S/4
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.BatchNorm2d(4 * width), nn.LeakyReLU(0.2, True),  # S/8
            nn.Flatten(), nn.Linear(4 * width * (s // 8) ** 2, out_dim),
        )

    def forward(self, x):
        return self.net(x)


class ConvDecoder(nn.Module):
    """A linear layer to (4w, S/8, S/8), then transposed convolutions back to (C, S, S)."""

    def __init__(self, out_shape, latent_dim: int, width: int = 32, **_):
        super().__init__()
        c, s, _ = out_shape
        self.start = (4 * width, s // 8, s // 8)
        self.fc = nn.Linear(latent_dim, math.prod(self.start))
        self.net = nn.Sequential(
            nn.BatchNorm2d(4 * width), nn.ReLU(True),
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.ReLU(True),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(True),
            nn.ConvTranspose2d(width, c, 4, 2, 1),
        )

    def forward(self, z):
        return self.net(self.fc(z).view(-1, *self.start))


ARCHS = {"linear": (LinearEncoder, LinearDecoder), "mlp": (MLPEncoder, MLPDecoder), "conv": (ConvEncoder, ConvDecoder)}


class AutoEncoder(nn.Module):
    """x -> E -> z (or mu, logvar) -> D -> x_tilde. `variational` makes E output 2 * latent_dim numbers."""

    def __init__(self, arch: str, shape: tuple[int, int, int], latent_dim: int, variational: bool, width: int = 32):
        super().__init__()
        enc, dec = ARCHS[arch]
        self.variational, self.latent_dim = variational, latent_dim
        self.encoder = enc(shape, 2 * latent_dim if variational else latent_dim, width=width)
        self.decoder = dec(shape, latent_dim, width=width)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> (mu, logvar) for a VAE, (z, None) for a plain autoencoder."""
        h = self.encoder(x)
        if not self.variational:
            return h, None
        mu, logvar = h.chunk(2, dim=1)
        return mu, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z -> the decoder's raw output: logits; sigmoid(logits) is the image in [0, 1]."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None):
        """x -> (logits, mu, logvar). A VAE decodes z = mu + eps * sigma (eps given by the caller)."""
        mu, logvar = self.encode(x)
        z = mu if logvar is None or eps is None else reparametrize(mu, logvar, eps=eps)
        return self.decode(z), mu, logvar
