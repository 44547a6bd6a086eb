"""Super-resolution with a trained DDPM and no retraining: ILVR (Choi et al. 2021, "ILVR: Conditioning Method for
Denoising Diffusion Probabilistic Models", Algorithm 1).

Symbols as in `diffusion.py`. phi_N = up(down(.)) is a low-pass filter: shrink N times, enlarge back. y is an
original whose shrunk version y_LR = down(y) is all we are given. At each reverse step t -> t' (a respaced chain,
as in `samplers.py`):

    x'_{t'} ~ p_theta(x_{t'} | x_t)                                                 (the unconditional step)
    y_{t'}  ~ q(y_{t'} | y) = N(sqrt(alpha_bar_t') y, (1 - alpha_bar_t') I)         (Ho et al. 2020, eq. 4)
    x_{t'}  = phi_N(y_{t'}) + x'_{t'} - phi_N(x'_{t'})                             (ILVR eq. 7)

The low frequencies come from the given image, the high ones from the model. Since down is linear,
phi_N(y_{t'}) = sqrt(alpha_bar_t') up(y_LR) + sqrt(1 - alpha_bar_t') phi_N(eps): y itself is never needed.
At the last step (t' = -1) phi_N(y) = up(y_LR), so the result shrinks back to (nearly) the given image.
down is the antialiased bilinear resize that made the training pairs (`core.data.fit_images`, before rounding);
up is bilinear.

Deviation from the issue's SR3 (Saharia et al. 2021), which trains a DDPM conditioned on the low-resolution image
by concatenation: ILVR conditions the shipped unconditional DDPM at sampling time, as RePaint does for holes.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from ..core.errors import UserError
from .samplers import ddpm_step, timesteps


def down(x: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, size, size), antialiased bilinear (the degradation the pairs were made with)."""
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def up(x: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def low_pass(x: torch.Tensor, small: int) -> torch.Tensor:
    """phi_N(x) = up(down(x)): what survives shrinking to `small` px."""
    return up(down(x, small), x.shape[-1])


@torch.no_grad()
def ilvr(eps_fn, sched, low: torch.Tensor, size: int, gen: torch.Generator, steps: int = 50
         ) -> Iterator[tuple[int, int, torch.Tensor, torch.Tensor]]:
    """Upscale `low` (N, C, s, s) in [-1, 1] to (N, C, size, size): yields (i, t, x_{t'}, x0_hat) after each step.
    `eps_fn(x_t, t)` is the (unconditional) network; noise comes from `gen`, so a seed fixes the whole run."""
    small = low.shape[-1]
    if low.ndim != 4 or low.shape[-2] != small or not 1 < small < size:
        raise UserError(f"the small image must be square and smaller than {size} px, got {tuple(low.shape)}")

    def randn():
        return torch.randn((len(low), low.shape[1], size, size), generator=gen, device=gen.device).to(low.device)

    guide = up(low, size)  # up(y_LR)
    ts = timesteps(sched.T, steps)
    x = randn()  # x_T ~ N(0, I)
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        eps = eps_fn(x, torch.full((len(x),), t, device=x.device, dtype=torch.long))
        x_model, x0_hat = ddpm_step(sched, eps, t, t_prev, x, randn() if t_prev >= 0 else None, "beta_tilde", clip_x0=True)
        if t_prev >= 0:  # phi_N(y_{t'}) with y_{t'} ~ q(y_{t'} | y)
            a_bar_prev = sched.alpha_bar_at(t_prev)
            y_low = a_bar_prev.sqrt() * guide + (1 - a_bar_prev).sqrt() * low_pass(randn(), small)
        else:
            y_low = guide
        x = y_low + x_model - low_pass(x_model, small)  # eq. 7
        yield i, t, x, (guide + x0_hat - low_pass(x0_hat, small)).clamp(-1, 1)


def upscale_images(loaded, low: torch.Tensor, size: int, steps: int = 50, seed: int = 0,
                   batch: int = 250) -> torch.Tensor:
    """uint8 small images (N, C, s, s) -> uint8 (N, C, size, size) by ILVR with a loaded DDPM, unconditionally."""
    from ..core.images import from_uint8, to_uint8
    from .train import guided_eps, schedule_for

    cfg, net = loaded.cfg, loaded.modules["unet_ema"].eval()
    if size != cfg.image_size or low.shape[1] != cfg.channels:
        raise UserError(f"this DDPM makes {cfg.channels}x{cfg.image_size}x{cfg.image_size} images, not "
                        f"{low.shape[1]}x{size}x{size}")
    device = next(net.parameters()).device
    gen = torch.Generator(device).manual_seed(seed)
    sched, out = schedule_for(cfg, device), []
    eps_fn = guided_eps(net, None, cfg.n_classes, 0.0, None)
    for i in range(0, len(low), batch):
        for _, _, x, _ in ilvr(eps_fn, sched, from_uint8(low[i:i + batch]).to(device), size, gen, steps):
            pass
        out.append(to_uint8(x))
    return torch.cat(out)
