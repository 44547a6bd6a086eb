"""The GAN loss table of seed 001, as pure functions of the discriminator's logits.

Notation: D(x) = sigmoid(d) where d is the discriminator's logit, x ~ p_data, x_hat = G(z).
Using log D(x) = -softplus(-d) and log(1 - D(x)) = -softplus(d) keeps every term finite.

| loss           | L_D                                        | L_G                     |
|----------------|--------------------------------------------|-------------------------|
| minimax        | -E[log D(x)] - E[log(1 - D(x_hat))]        | E[log(1 - D(x_hat))]    |
| non-saturating | same as minimax                            | -E[log D(x_hat)]        |
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss_bce(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))]  (seed 001, "The Discriminator Loss"; MM/NS rows)."""
    # -log sigmoid(d) = softplus(-d);  -log(1 - sigmoid(d)) = softplus(d)
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def g_loss_minimax(d_fake: torch.Tensor) -> torch.Tensor:
    """L_G = E[log(1 - D(G(z)))]  (seed 001, MM GAN row): G minimises what D maximises; saturates early."""
    return -F.softplus(d_fake).mean()


def g_loss_non_saturating(d_fake: torch.Tensor) -> torch.Tensor:
    """L_G = -E[log D(G(z))]  (seed 001, NS GAN row): same fixed point, strong gradients when D wins."""
    return F.softplus(-d_fake).mean()


# name -> (discriminator loss, generator loss)
LOSSES = {
    "minimax": (d_loss_bce, g_loss_minimax),
    "non-saturating": (d_loss_bce, g_loss_non_saturating),
}
