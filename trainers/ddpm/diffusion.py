"""The forward (noising) process of DDPM: schedules, q_sample, and the x0 <-> eps conversions.

Notation (Ho et al. 2020; course notes and papers differ, so say it once):
    beta_t          variance of the noise added at step t                  (some course notes call it alpha_t)
    alpha_t         1 - beta_t
    alpha_bar_t     prod_{s <= t} alpha_s                                   (some course notes call it alpha_t)
    x_t             sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps        (Ho et al. eq. 4: closed form)
Timesteps are 0-indexed, t in {0, ..., T-1}, as in diffusers: our t = 0 is the papers' t = 1.
Schedules are computed in float64 and stored (float32 by default) as buffers named after their formula.
"""

from __future__ import annotations

import math

import torch

from ..core.errors import UserError

SCHEDULES = ("linear", "cosine")


def linear_betas(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """beta_t evenly spaced from 1e-4 to 0.02 (Ho et al. 2020, sec. 4): small steps keep each reverse
    step close to Gaussian (Sohl-Dickstein et al. 2015, sec. 2.2), so N(mu, beta_t I) is a good model
    of it. (T,) float64."""
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)


def cosine_betas(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """alpha_bar(t) = cos^2(((t/T + s) / (1 + s)) pi/2), beta_t = min(1 - alpha_bar(t+1)/alpha_bar(t), 0.999)
    (Nichol & Dhariwal 2021, eq. 17; diffusers' "squaredcos_cap_v2"). (T,) float64."""
    def alpha_bar(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    return torch.tensor([min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), max_beta) for i in range(T)],
                        dtype=torch.float64)


class Schedule(torch.nn.Module):
    """The fixed quantities of a noise schedule as buffers (they follow the model to its device)."""

    def __init__(self, kind: str = "linear", T: int = 1000, betas: torch.Tensor | None = None,
                 dtype: torch.dtype = torch.float32):
        """`kind` names one of SCHEDULES; or pass `betas` (T,) directly (kind is then only a label).
        Buffers are computed in float64 and stored in `dtype`."""
        super().__init__()
        if betas is None and kind not in SCHEDULES:
            raise UserError(f"schedule must be one of {', '.join(SCHEDULES)}, got {kind!r}")
        if betas is None:
            if T < 2:
                raise UserError(f"T must be at least 2, got {T}")
            betas = linear_betas(T) if kind == "linear" else cosine_betas(T)
        betas = betas.double()
        if not (betas.ndim == 1 and len(betas) >= 2 and torch.all((betas > 0) & (betas < 1))):
            raise UserError("betas must be a 1-d tensor of at least 2 values in (0, 1)")
        self.kind, self.T = kind, len(betas)
        alphas = 1.0 - betas
        alpha_bar = torch.cumprod(alphas, 0)
        for name, value in {
            "betas": betas,
            "alpha_bar": alpha_bar,
            "sqrt_alpha_bar": alpha_bar.sqrt(),
            "sqrt_one_minus_alpha_bar": (1 - alpha_bar).sqrt(),
        }.items():
            self.register_buffer(name, value.to(dtype), persistent=False)

    def alpha_bar_at(self, t: int) -> torch.Tensor:
        """alpha_bar_t, with alpha_bar_{-1} = 1 (the clean image: DDIM's `set_alpha_to_one`)."""
        return self.alpha_bar[t] if t >= 0 else torch.ones((), device=self.alpha_bar.device, dtype=self.alpha_bar.dtype)

    def snr(self) -> torch.Tensor:
        """Signal-to-noise ratio alpha_bar_t / (1 - alpha_bar_t) of x_t, (T,)."""
        return self.alpha_bar / (1 - self.alpha_bar)


def _per_sample(values: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return values[t].view(-1, 1, 1, 1)  # (B,) -> (B, 1, 1, 1) to broadcast over (B, C, H, W)


def q_sample(sched: Schedule, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps  (Ho et al. 2020, eq. 4). (B, C, H, W)."""
    return _per_sample(sched.sqrt_alpha_bar, t) * x0 + _per_sample(sched.sqrt_one_minus_alpha_bar, t) * eps


def x0_from_eps(xt: torch.Tensor, eps: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t): q_sample solved for x0 (Ho et al. eq. 15).
    `alpha_bar` is a scalar or broadcasts over x_t."""
    return (xt - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()


def eps_from_x0(xt: torch.Tensor, x0: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """eps = (x_t - sqrt(alpha_bar_t) x0) / sqrt(1 - alpha_bar_t): q_sample solved for eps. After x0_hat is
    clipped, this is the noise that is consistent with the clipped x0_hat (GLIDE's sampler; diffusers'
    `use_clipped_model_output=True`)."""
    return (xt - alpha_bar.sqrt() * x0) / (1 - alpha_bar).sqrt()


def predict_x0(sched: Schedule, xt: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """x0_from_eps with alpha_bar_t per sample, t of shape (B,)."""
    return x0_from_eps(xt, eps, _per_sample(sched.alpha_bar, t))
