"""Pix2Pix's objective (Isola et al. 2017, eq. 4), one function per term:

    G* = arg min_G max_D  L_cGAN(G, D) + lambda L_L1(G)
    L_cGAN(G, D) = E_{x,y}[log D(x, y)] + E_x[log(1 - D(x, G(x)))]          (eq. 1: D sees the input x too)
    L_L1(G)      = E_{x,y}[||y - G(x)||_1]                                      (eq. 3)
"""

from __future__ import annotations

import torch

from ..gan import losses as L


def l1(target: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """L_L1 = E ||y - G(x)||_1 (eq. 3): the output stays near the target, so D only has to judge the texture."""
    return (target - output).abs().mean()


def d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """D's side of L_cGAN on the logits of D(x, y) and D(x, G(x)), halved as the paper's code does (sec. 3.3:
    "we divide the objective by 2 while optimizing D, which slows down the rate at which D learns")."""
    return 0.5 * L.d_loss_bce(d_real, d_fake)


def g_loss(d_fake: torch.Tensor, target: torch.Tensor, output: torch.Tensor, lambda_l1: float) -> tuple:
    """G's side: -log D(x, G(x)) (the non-saturating form of L_cGAN's second term) + lambda L_L1.
    Returns (total, adversarial term, L1 term)."""
    adversarial, reconstruction = L.g_loss_non_saturating(d_fake), l1(target, output)
    return adversarial + lambda_l1 * reconstruction, adversarial, reconstruction
