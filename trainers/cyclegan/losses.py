"""CycleGAN's objective (Zhu et al. 2017, eq. 3), one function per term, with the least-squares adversarial
losses it trains with (sec. 4; Mao et al. 2017), and DualGAN's Wasserstein critic terms (Yi et al. 2017,
eqs. 1-3) as the other adversarial option. G_AB: A -> B, G_BA: B -> A, critics D_A, D_B.

    L(G_AB, G_BA, D_A, D_B) = L_GAN(G_AB, D_B) + L_GAN(G_BA, D_A) + lambda L_cyc(G_AB, G_BA)        (eq. 3)
    L_cyc = E_a ||G_BA(G_AB(a)) - a||_1 + E_b ||G_AB(G_BA(b)) - b||_1                                 (eq. 2)
    L_identity = E_b ||G_AB(b) - b||_1 + E_a ||G_BA(a) - a||_1, weighted 0.5 lambda                  (sec. 5.2)

Notation (DualGAN's -> ours): domains U, V -> A, B; G_A: U -> V is G_AB, G_B: V -> U is G_BA; DualGAN's
D_A judges G_A's outputs, so it is our D_B (and its D_B our D_A); lambda_U, lambda_V weigh the
reconstructions of a and of b. DualGAN's generator loss (eq. 3) is the same sum as CycleGAN's eq. 3 with
Wasserstein adversarial terms, so the cycle term below serves both.
"""

from __future__ import annotations

import torch

from ..gan import losses as L


def cycle(a: torch.Tensor, a_back: torch.Tensor, b: torch.Tensor, b_back: torch.Tensor) -> torch.Tensor:
    """L_cyc (eq. 2): each image translated there and back returns to itself. DualGAN's reconstruction
    error (Yi et al. 2017, eq. 3) is the same L1 with lambda_U = lambda_V."""
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


def g_adversarial_dualgan(d_b_fake: torch.Tensor, d_a_fake: torch.Tensor) -> torch.Tensor:
    """DualGAN's adversarial part of the generator loss (Yi et al. 2017, eq. 3):
    -E[D_B(G_AB(a))] - E[D_A(G_BA(b))], each critic's output (B, 1, P, P) averaged over batch and patches;
    each generator is scored by the critic of its output domain, the critic eqs. 1-2 train on it."""
    return L.g_loss_wgan(d_b_fake) + L.g_loss_wgan(d_a_fake)


def d_loss_dualgan(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """One DualGAN critic's loss E[D(fake)] - E[D(real)] (Yi et al. 2017, eqs. 1-2: l^d_A(u, v) =
    D_A(G_A(u)) - D_A(v)), the WGAN critic loss (Arjovsky et al. 2017, Algorithm 1); its negative estimates
    the Wasserstein-1 distance once the weights are clipped to [-c, c] (`clip_weights`). d_* of shape
    (B, 1, P, P), averaged over batch and patches."""
    return L.d_loss_wgan(d_real, d_fake)


clip_weights = L.clip_weights  # DualGAN's critics are clipped as WGAN's (Yi et al. 2017, Algorithm 1)

