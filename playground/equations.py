"""The equations the tabs show beside their live views, in LaTeX, written once (the GAN tab and Train live
both show a row of the loss table)."""

from __future__ import annotations

LOSS_EQUATIONS = {
    "minimax": r"$L_D = -\mathbb{E}[\log D(x)] - \mathbb{E}[\log(1 - D(G(z)))]$, $\;L_G = \mathbb{E}[\log(1 - D(G(z)))]$",
    "non-saturating": r"$L_D$ as minimax, $\;L_G = -\mathbb{E}[\log D(G(z))]$",
    "wgan": r"$L_D = -\mathbb{E}[D(x)] + \mathbb{E}[D(G(z))]$ with weights clipped to $[-c, c]$, $\;L_G = -\mathbb{E}[D(G(z))]$",
    "wgan-gp": r"$L_D = -\mathbb{E}[D(x)] + \mathbb{E}[D(G(z))] + \lambda\,\mathbb{E}[(\|\nabla D(\hat x)\|_2 - 1)^2]$, $\hat x$ between real and fake; $\;L_G = -\mathbb{E}[D(G(z))]$",
    "lsgan": r"$L_D = \mathbb{E}[(D(x) - 1)^2] + \mathbb{E}[D(G(z))^2]$, $\;L_G = \mathbb{E}[(D(G(z)) - 1)^2]$",
    "dragan": r"$L_D$ = minimax $+ \lambda\,\mathbb{E}[(\|\nabla D(x + \delta)\|_2 - 1)^2]$, $\;L_G = \mathbb{E}[\log(1 - D(G(z)))]$",
    "hinge": r"$L_D = \mathbb{E}[\max(0, 1 - D(x))] + \mathbb{E}[\max(0, 1 + D(G(z)))]$, $\;L_G = -\mathbb{E}[D(G(z))]$",
    "began": r"$L_D = \mathcal{L}(x) - k_t\,\mathcal{L}(G(z))$, $\;L_G = \mathcal{L}(G(z))$, $\mathcal{L}(v) = \mathbb{E}|v - \mathrm{AE}(v)|$, $k_{t+1} = k_t + \lambda_k(\gamma\mathcal{L}(x) - \mathcal{L}(G(z)))$",
}


def loss_equations(loss: str) -> str:
    """The generator and discriminator losses of one row of the table, in LaTeX."""
    return f"**{loss}** (course notes, table of GAN losses): {LOSS_EQUATIONS[loss]}" if loss in LOSS_EQUATIONS else ""
