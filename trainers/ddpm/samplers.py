"""The reverse process: one DDPM step, one DDIM step, and the loops that chain them.

Symbols as in `diffusion.py` (Ho et al. 2020). A sampler runs over a decreasing list of timesteps
t_S > ... > t_1 (all T of them for Ho et al.'s DDPM; for fewer steps a subset with "trailing" spacing,
diffusers' `timestep_spacing="trailing"`, which always starts from t = T - 1, pure noise: Lin et al.
2024, sec. 3.3). With a stride, the step from t to t_prev treats the skipped steps as one:
alpha_t := alpha_bar_t / alpha_bar_{t_prev} and beta_t := 1 - alpha_t, which is exactly Ho et al.'s step
when t_prev = t - 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from ..core.errors import UserError
from .diffusion import Schedule, eps_from_x0, x0_from_eps

SAMPLERS = ("ddpm", "ddim")
VARIANCES = ("beta", "beta_tilde")


def timesteps(T: int, steps: int) -> list[int]:
    """t_S > ... > t_1 = round(T - i T / S) - 1 for i = 0..S-1 ("trailing" spacing): starts at T - 1."""
    if not 1 <= steps <= T:
        raise UserError(f"steps must be in [1, {T}], got {steps}")
    return [round(T - i * T / steps) - 1 for i in range(steps)]


def previous(T: int, steps: int, t: int) -> int:
    """The timestep after t in the reverse chain; -1 means the clean image x0."""
    ts = timesteps(T, steps)
    i = ts.index(t)
    return ts[i + 1] if i + 1 < len(ts) else -1


def ddpm_step(sched: Schedule, eps: torch.Tensor, t: int, t_prev: int, xt: torch.Tensor,
              noise: torch.Tensor | None, variance: str = "beta", clip_x0: bool = False):
    """x_{t-1} = mu(x_t, t) + sigma_t z,  mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t)
    (Ho et al. 2020, eq. 11 / Algorithm 2). sigma_t^2 = beta_t (Ho et al. sec. 3.2), or
    the posterior's beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t (Ho et al. eq. 7).
    No noise is added on the last step, the one to x0 (t_prev = -1; Algorithm 2's z = 0 at t = 1): t = 0 in the
    full chain, t = t_1 in a strided one. (diffusers' DDPMScheduler adds noise wherever t > 0, so its
    "fixed_large" variance, beta_t = 1 - alpha_bar_t there, left a strided chain's x0 noisy: 1 step gave pure
    noise, 10 steps a garment under grain.) Returns (x_{t-1}, x0_hat), both (B, C, H, W).

    clip_x0 clamps x0_hat to [-1, 1] and then uses the posterior mean
    mu = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x0_hat + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t
    (Ho et al. eq. 7), which equals the eps form of mu above when nothing is clipped.
    """
    if variance not in VARIANCES:
        raise UserError(f"variance must be one of {', '.join(VARIANCES)}, got {variance!r}")
    a_bar, a_bar_prev = sched.alpha_bar_at(t), sched.alpha_bar_at(t_prev)
    alpha = a_bar / a_bar_prev
    beta = 1 - alpha
    x0 = x0_from_eps(xt, eps, a_bar)
    if clip_x0:
        x0 = x0.clamp(-1, 1)
        mu = (a_bar_prev.sqrt() * beta / (1 - a_bar)) * x0 + (alpha.sqrt() * (1 - a_bar_prev) / (1 - a_bar)) * xt
    else:
        mu = (xt - beta / (1 - a_bar).sqrt() * eps) / alpha.sqrt()
    if t_prev >= 0:
        var = beta if variance == "beta" else ((1 - a_bar_prev) / (1 - a_bar) * beta).clamp_min(1e-20)
        mu = mu + var.sqrt() * noise
    return mu, x0


def ddim_step(sched: Schedule, eps: torch.Tensor, t: int, t_prev: int, xt: torch.Tensor, eta: float = 0.0,
              noise: torch.Tensor | None = None, clip_x0: bool = False):
    """x_{t_prev} = sqrt(alpha_bar_prev) x0_hat + sqrt(1 - alpha_bar_prev - sigma^2) eps + sigma z,
    sigma = eta sqrt((1 - alpha_bar_prev) / (1 - alpha_bar_t)) sqrt(1 - alpha_bar_t / alpha_bar_prev)
    (Song et al. 2021, eq. 12 and 16): eta = 0 is deterministic, eta = 1 is DDPM's beta_tilde variance.
    Returns (x_{t_prev}, x0_hat).

    clip_x0 clamps x0_hat to [-1, 1] and re-derives eps = (x_t - sqrt(alpha_bar_t) x0_hat) / sqrt(1 - alpha_bar_t)
    from the clamped x0_hat (GLIDE's sampler; diffusers' `use_clipped_model_output=True`). Clamping x0_hat
    alone (diffusers' default) makes the two terms of the update disagree; at 1000 steps the mismatch
    compounds into blobs (mean |x_DDIM-1000 - x_DDIM-50| = 0.44 on [-1, 1] on ddpm-fashion, 0.01 with this).
    """
    a_bar, a_bar_prev = sched.alpha_bar_at(t), sched.alpha_bar_at(t_prev)
    x0 = x0_from_eps(xt, eps, a_bar)
    if clip_x0:  # keep eps consistent with the clipped x0_hat, or the clip's error compounds over the steps
        x0 = x0.clamp(-1, 1)
        eps = eps_from_x0(xt, x0, a_bar)
    sigma = eta * ((1 - a_bar_prev) / (1 - a_bar) * (1 - a_bar / a_bar_prev)).sqrt()
    x_prev = a_bar_prev.sqrt() * x0 + (1 - a_bar_prev - sigma ** 2).sqrt() * eps
    if eta > 0:
        x_prev = x_prev + sigma * noise
    return x_prev, x0


EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t, t as (B,)) -> eps_hat


def sample_loop(eps_fn: EpsFn, sched: Schedule, x_T: torch.Tensor, gen: torch.Generator, sampler: str = "ddim",
                steps: int = 50, eta: float = 0.0,
                clip_x0: bool = True) -> Iterator[tuple[int, int, torch.Tensor, torch.Tensor]]:
    """Run the reverse chain from x_T ~ N(0, I), yielding (i, t, x_{t_prev}, x0_hat) after each step.

    ddpm: Ho et al.'s ancestral sampler (steps = T is the original 1000-step chain); ddim: Song et al.
    Noise for each step is drawn from `gen`, so a seed fixes the whole run.
    """
    if sampler not in SAMPLERS:
        raise UserError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    if not 0.0 <= eta <= 1.0:
        raise UserError(f"eta must be in [0, 1], got {eta}")
    xt = x_T
    ts = timesteps(sched.T, steps)
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        eps = eps_fn(xt, torch.full((xt.shape[0],), t, device=xt.device, dtype=torch.long))
        stochastic = (sampler == "ddpm" and t_prev >= 0) or (sampler == "ddim" and eta > 0)
        noise = torch.randn(xt.shape, generator=gen, device=gen.device).to(xt.device) if stochastic else None
        if sampler == "ddpm":
            xt, x0 = ddpm_step(sched, eps, t, t_prev, xt, noise, "beta", clip_x0)
        else:
            xt, x0 = ddim_step(sched, eps, t, t_prev, xt, eta, noise, clip_x0)
        yield i, t, xt, x0


def guidance_limit(interval: float, T: int) -> float | None:
    """Guidance applies where t < interval * T; None when interval is 1 (every step). Checks interval in (0, 1]."""
    if not 0 < interval <= 1:
        raise UserError(f"guidance_interval must be in (0, 1] (guidance for t < interval * T), got {interval}")
    return None if interval == 1 else interval * T


def guided(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, w: float) -> torch.Tensor:
    """Classifier-free guidance (Ho & Salimans 2022, eq. 6, with w = 1 + their w):
        eps_hat = eps(x_t, null) + w (eps(x_t, y) - eps(x_t, null))
    w = 1 is the plain conditional prediction; w > 1 moves further from the unconditional one."""
    return eps_uncond + w * (eps_cond - eps_uncond)


def guided_eps(model: torch.nn.Module, y: torch.Tensor | None, null_label: int, guidance: float,
               t_max: float | None = None) -> EpsFn:
    """Classifier-free guidance: eps = eps(x_t, null) + w (eps(x_t, y) - eps(x_t, null))  (Ho & Salimans
    2022, eq. 6, with w = 1 + their w). w = 1 is the plain conditional model; an unconditional model
    (y is None) ignores w.

    With `t_max`, guidance applies only where t < t_max and the steps above use the plain conditional
    eps(x_t, y) (guidance in a limited interval, Kynkaenniemi et al. 2024): at high noise eps_c - eps_u is
    small next to the two predictions' errors, and x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)
    multiplies what w adds by up to 1/sqrt(alpha_bar_t) (~160 at t = 999, linear schedule). Those steps also
    cost one network call instead of two."""
    if y is None or guidance == 1.0:
        return lambda xt, t: model(xt, t, y)

    def eps_fn(xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        on = torch.ones_like(t, dtype=torch.bool) if t_max is None else t < t_max
        if not bool(on.any()):
            return model(xt, t, y)
        null = torch.full_like(y, null_label)
        eps_c, eps_u = model(torch.cat([xt, xt]), torch.cat([t, t]), torch.cat([y, null])).chunk(2)
        return torch.where(on.view(-1, *[1] * (xt.ndim - 1)), guided(eps_u, eps_c, guidance), eps_c)

    return eps_fn
