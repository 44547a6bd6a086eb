"""The GAN loss table of Lucic et al. 2018 (Table 1), plus hinge, as pure functions.

Notation: x ~ p_data (real), x_hat = G(z) (generated), d = the discriminator's raw output (a logit
for the BCE losses, an unbounded critic value for WGAN/hinge, a least-squares target for LSGAN).
For the BCE rows D(x) = sigmoid(d); log D = -softplus(-d) and log(1 - D) = -softplus(d) keep every
term finite.

| loss           | L_D                                                       | L_G                      |
|----------------|-----------------------------------------------------------|--------------------------|
| minimax        | -E[log D(x)] - E[log(1 - D(x_hat))]                       | E[log(1 - D(x_hat))]     |
| non-saturating | same as minimax                                           | -E[log D(x_hat)]         |
| wgan           | -E[D(x)] + E[D(x_hat)], weights clipped to [-c, c]        | -E[D(x_hat)]             |
| wgan-gp        | WGAN + lambda E[(||grad D(a x + (1 - a) x_hat)||_2 - 1)^2] | -E[D(x_hat)]             |
| lsgan          | E[(D(x) - 1)^2] + E[D(x_hat)^2]                            | E[(D(x_hat) - 1)^2]      |
| dragan         | minimax + lambda E[(||grad D(x + delta)||_2 - 1)^2], delta ~ N(0, c) | E[log(1 - D(x_hat))] |
| began          | E[|x - AE(x)|] - k_t E[|x_hat - AE(x_hat)|]               | E[|x_hat - AE(x_hat)|]   |
| hinge          | E[max(0, 1 - D(x))] + E[max(0, 1 + D(x_hat))]             | -E[D(x_hat)]             |

Deviations: some copies of the table print the LSGAN row with stray minus signs (minimising
-E[(D(x) - 1)^2] would push D(x) away from 1); we use the least-squares form of Mao et al. 2017
without the 1/2 factors, as Lucic et al. tabulate it. DRAGAN keeps the table's minimax generator loss.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch
import torch.nn.functional as F


def d_loss_bce(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """L_D = -E[log D(x)] - E[log(1 - D(x_hat))]  (Goodfellow et al. 2014, eq. 1; Lucic et al. 2018,
    Table 1, MM/NS/DRAGAN rows)."""
    # -log sigmoid(d) = softplus(-d);  -log(1 - sigmoid(d)) = softplus(d)
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def g_loss_minimax(d_fake: torch.Tensor) -> torch.Tensor:
    """L_G = E[log(1 - D(x_hat))]  (Goodfellow et al. 2014, eq. 1; Lucic et al. 2018, Table 1, MM GAN row):
    G minimises what D maximises; saturates early."""
    return -F.softplus(d_fake).mean()


def g_loss_non_saturating(d_fake: torch.Tensor) -> torch.Tensor:
    """L_G = -E[log D(x_hat)]  (Goodfellow et al. 2014, sec. 3; Lucic et al. 2018, Table 1, NS GAN row):
    same fixed point, strong gradients when D wins."""
    return F.softplus(-d_fake).mean()


def d_loss_wgan(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """L_D = -E[D(x)] + E[D(x_hat)]  (Arjovsky et al. 2017, Algorithm 1; Lucic et al. 2018, Table 1, WGAN row):
    the critic estimates the Wasserstein-1 distance."""
    return -d_real.mean() + d_fake.mean()


def g_loss_wgan(d_fake: torch.Tensor) -> torch.Tensor:
    """L_G = -E[D(x_hat)]  (Arjovsky et al. 2017; Gulrajani et al. 2017; Lucic et al. 2018, Table 1; also hinge)."""
    return -d_fake.mean()


def d_loss_lsgan(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """L_D = E[(D(x) - 1)^2] + E[D(x_hat)^2]  (Mao et al. 2017 with a = 0, b = c = 1, no 1/2 factors)."""
    return (d_real - 1).pow(2).mean() + d_fake.pow(2).mean()


def g_loss_lsgan(d_fake: torch.Tensor) -> torch.Tensor:
    """L_G = E[(D(x_hat) - 1)^2]  (Mao et al. 2017 with c = 1, no 1/2 factor)."""
    return (d_fake - 1).pow(2).mean()


def d_loss_hinge(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(x_hat))]  (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()


def gradient_norm_penalty(critic: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor) -> torch.Tensor:
    """E[(||grad_x D(x)||_2 - 1)^2] at `points` (B, ...), differentiable w.r.t. D's parameters."""
    points = points.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(points).sum(), points, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def wgan_gp_penalty(critic, x_real: torch.Tensor, x_fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """E[(||grad D(a x + (1 - a) x_hat)||_2 - 1)^2], a ~ U[0, 1] per sample (Gulrajani et al. 2017, eq. 3)."""
    a = alpha.view(-1, *([1] * (x_real.ndim - 1)))
    return gradient_norm_penalty(critic, a * x_real + (1 - a) * x_fake.detach())


@torch.no_grad()
def clip_weights(critic: torch.nn.Module, c: float) -> None:
    """w <- clip(w, -c, c) for every critic parameter, after each critic step (Arjovsky et al. 2017,
    Algorithm 1, line 7; Yi et al. 2017, Algorithm 1): keeps the critic K-Lipschitz."""
    for p in critic.parameters():
        p.clamp_(-c, c)


def penalty(kind: str | None, critic, x_real: torch.Tensor, x_fake: torch.Tensor, gen: torch.Generator,
            dragan_std: float) -> torch.Tensor | None:
    """The loss table's gradient penalty on the critic, with its random points drawn from `gen`: WGAN-GP's
    between real and fake, DRAGAN's around the real data with std `dragan_std`; None for the other losses."""
    if kind == "wgan-gp":
        alpha = torch.rand(x_real.shape[0], generator=gen, device=x_real.device)
        return wgan_gp_penalty(critic, x_real, x_fake, alpha)
    if kind == "dragan":
        return dragan_penalty(critic, x_real, dragan_std * torch.randn(x_real.shape, generator=gen, device=x_real.device))
    return None


def dragan_penalty(critic, x_real: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """E[(||grad D(x + delta)||_2 - 1)^2], delta ~ N(0, c): perturbed real data (Kodali et al. 2017;
    Lucic et al. 2018, Table 1, DRAGAN row)."""
    return gradient_norm_penalty(critic, x_real + delta)


def began_recon(x: torch.Tensor, x_ae: torch.Tensor) -> torch.Tensor:
    """L(v) = E|v - AE(v)|, the autoencoder discriminator's L1 reconstruction loss, per image (B,)."""
    return (x - x_ae).abs().flatten(1).mean(1)


def began_d_loss(l_real: torch.Tensor, l_fake: torch.Tensor, k: torch.Tensor | float) -> torch.Tensor:
    """L_D = L(x) - k_t L(G(z))  (Berthelot et al. 2017, sec. 3.4; Lucic et al. 2018, Table 1, BEGAN row)."""
    return l_real.mean() - k * l_fake.mean()


def began_k_update(k: torch.Tensor, l_real: torch.Tensor, l_fake: torch.Tensor, gamma: float,
                   lambda_k: float) -> torch.Tensor:
    """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)  (Berthelot et al. 2017, eq. 4)."""
    return (k + lambda_k * (gamma * l_real.mean() - l_fake.mean())).clamp(0.0, 1.0)


def began_convergence(l_real: torch.Tensor, l_fake: torch.Tensor, gamma: float) -> torch.Tensor:
    """M = L(x) + |gamma L(x) - L(G(z))|: falls as training converges (Berthelot et al. 2017, sec. 3.4.1)."""
    return l_real.mean() + (gamma * l_real.mean() - l_fake.mean()).abs()


@dataclasses.dataclass(frozen=True)
class GanLoss:
    d: Callable | None  # (d_real, d_fake) -> L_D; None for BEGAN (autoencoder discriminator)
    g: Callable | None  # d_fake -> L_G
    penalty: str | None = None  # "wgan-gp" | "dragan"
    clip: bool = False  # WGAN weight clipping after each D step


LOSSES = {
    "minimax": GanLoss(d_loss_bce, g_loss_minimax),
    "non-saturating": GanLoss(d_loss_bce, g_loss_non_saturating),
    "wgan": GanLoss(d_loss_wgan, g_loss_wgan, clip=True),
    "wgan-gp": GanLoss(d_loss_wgan, g_loss_wgan, penalty="wgan-gp"),
    "lsgan": GanLoss(d_loss_lsgan, g_loss_lsgan),
    "dragan": GanLoss(d_loss_bce, g_loss_minimax, penalty="dragan"),
    "began": GanLoss(None, None),
    "hinge": GanLoss(d_loss_hinge, g_loss_wgan),
}


def aux_classifier_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """-log P(C = c | X), the AC-GAN class term L_C (Odena et al. 2017, eq. 2) as a loss to minimise:
    D minimises it on real images, G on its own images of class c."""
    return F.cross_entropy(logits.float(), y)
