"""CycleGAN's objective (Zhu et al. 2017, eq. 3), one function per term, with the least-squares adversarial
losses it trains with (sec. 4; Mao et al. 2017). G_AB: A -> B, G_BA: B -> A, critics D_A, D_B.

    L(G_AB, G_BA, D_A, D_B) = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A) + lambda L_cyc(G_AB, G_BA)        (eq. 3)
    L_cyc = E_a ||G_BA(G_AB(a)) - a||_1 + E_b ||G_AB(G_BA(b)) - b||_1                                 (eq. 2)
    L_identity = E_b ||G_AB(b) - b||_1 + E_a ||G_BA(a) - a||_1, weighted 0.5 lambda                  (sec. 5.2)
"""

from __future__ import annotations

import torch

from ..gan import losses as L


def cycle(a: torch.Tensor, a_back: torch.Tensor, b: torch.Tensor, b_back: torch.Tensor) -> torch.Tensor:
    """L_cyc (eq. 2): each image translated there and back returns to itself."""
    return (a_back - a).abs().mean() + (b_back - b).abs().mean()


def identity(a: torch.Tensor, a_kept: torch.Tensor, b: torch.Tensor, b_kept: torch.Tensor) -> torch.Tensor:
    """L_identity (sec. 5.2): a generator given an image of its own target domain leaves it alone
    (a_kept = G_BA(a), b_kept = G_AB(b)); it keeps colours and tone."""
    return (a_kept - a).abs().mean() + (b_kept - b).abs().mean()


def g_adversarial(d_b_fake: torch.Tensor, d_a_fake: torch.Tensor) -> torch.Tensor:
    """Both generators' least-squares terms (D_B(G_AB(a)) - 1)^2 + (D_A(G_BA(b)) - 1)^2."""
    return L.g_loss_lsgan(d_b_fake) + L.g_loss_lsgan(d_a_fake)


def d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """One critic's 1/2 [(D(real) - 1)^2 + D(fake)^2], the fakes drawn from its history pool (sec. 4)."""
    return 0.5 * L.d_loss_lsgan(d_real, d_fake)
