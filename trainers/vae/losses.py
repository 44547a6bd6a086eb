"""VAE math (Kingma & Welling 2014): the negative ELBO of eq. 3 with the Gaussian KL of eq. 10.

    L(x; theta, phi) = KL(q(z|x, phi) || p(z)) + ||x - x_tilde||^2 / (2c)                    (loss)
    KL = -1/2 sum_j (1 + ln sigma_j^2 - mu_j^2 - sigma_j^2)   for q = N(mu, sigma^2 I), p = N(0, I)
    z = mu + eps * sigma,  eps ~ N(0, I)                                           (reparametrization)

Notation: `logvar` = ln sigma^2; pixel values x in [0, 1] inside the likelihood terms; every term is
summed over pixels / latent dimensions and averaged over the batch (nats per image).
Deviations: some course notes write z = mu + eps * sigma^2; the standard deviation sigma is what makes
z ~ N(mu, sigma^2), so we use sigma. `c` is the variance of p(x|z) = N(x_tilde, c I); with
c fixed, 1/(2c) is the weight of reconstruction against KL (beta = 2c in beta-VAE terms).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def kl_normal_std_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2 I) || N(0, I)) = -1/2 sum_j (1 + ln sigma_j^2 - mu_j^2 - sigma_j^2)
    (Kingma & Welling 2014, eq. 10 / Appendix B).

    mu, logvar: (B, d) -> (B,) nats.
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def reparametrize(mu: torch.Tensor, logvar: torch.Tensor, gen: torch.Generator | None = None,
                  eps: torch.Tensor | None = None) -> torch.Tensor:
    """z = mu + eps * sigma, eps ~ N(0, I) (Kingma & Welling 2014, sec. 2.4; sigma, not sigma^2).

    eps is drawn outside the graph, so z is a differentiable function of mu and sigma.
    """
    if eps is None:
        eps = torch.randn(mu.shape, generator=gen, device=mu.device, dtype=mu.dtype)
    return mu + eps * torch.exp(0.5 * logvar)


def gaussian_recon(x01: torch.Tensor, mean01: torch.Tensor, c: float) -> torch.Tensor:
    """||x - x_tilde||^2 / (2c), summed over pixels: (B, ...) -> (B,)  (Kingma & Welling 2014,
    eq. 10: minus its second term up to a constant, for the Gaussian decoder of App. C.2 with variance c)."""
    return (x01 - mean01).pow(2).flatten(1).sum(1) / (2 * c)


def gaussian_nll(x01: torch.Tensor, mean01: torch.Tensor, c: float) -> torch.Tensor:
    """-ln N(x; x_tilde, c I) = ||x - x_tilde||^2 / (2c) + (D/2) ln(2 pi c): the full negative log-likelihood."""
    d = x01[0].numel()
    return gaussian_recon(x01, mean01, c) + 0.5 * d * math.log(2 * math.pi * c)


def bernoulli_nll(x01: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """-sum_i [x_i ln p_i + (1 - x_i) ln(1 - p_i)], p = sigmoid(logits): (B, ...) -> (B,)."""
    return F.binary_cross_entropy_with_logits(logits, x01, reduction="none").flatten(1).sum(1)
