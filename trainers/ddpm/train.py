"""DDPM family: config, the training step, sampling (DDPM / DDIM, classifier-free guidance), evaluation.

Training (Ho et al. 2020, Algorithm 1): take x0 from the data,
t ~ U{0, ..., T-1}, eps ~ N(0, I); form x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps and
minimise ||eps_theta(x_t, t, y) - eps||^2. With classes, the label is replaced by the "no label" token
with probability p_uncond, so one network learns both eps(x_t, y) and eps(x_t) for guidance
(Ho & Salimans 2022). Sampling uses an exponential moving average of the weights (unet_ema).
Symbols: see `diffusion.py`.
"""

from __future__ import annotations

import dataclasses
import functools

import torch
import torch.nn.functional as F

from ..core.data import DataConfig, class_labels
from ..core.ema import update_ema, warmed_decay
from ..core.errors import UserError
from ..core.images import to_uint8
from .diffusion import SCHEDULES, Schedule, q_sample
from .models import UNet
from .samplers import guidance_limit, guided_eps, sample_loop


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    schedule: str = "linear"  # linear (beta 1e-4 -> 0.02) | cosine
    T: int = 1000
    base: int = 32  # U-Net width at full resolution
    mults: tuple[int, ...] = (1, 2, 2)  # width multipliers per resolution (32, 16, 8)
    blocks: int = 1  # residual blocks per resolution
    attn_res: tuple[int, ...] = (8,)  # resolutions with self-attention
    dropout: float = 0.1
    n_classes: int = 0  # > 0: class-conditional, with classifier-free guidance
    p_uncond: float = 0.1  # probability of dropping the label in training
    lr: float = 2e-4
    grad_clip: float = 1.0
    ema_decay: float = 0.999  # reached after warm-up: decay_k = min(ema_decay, (1 + k) / (10 + k))
    sample_steps: int = 50  # DDIM steps for snapshots and evaluation
    guidance: float = 1.0  # guidance scale w for snapshots and evaluation
    # guidance only for t < guidance_interval * T (1 = every step, as Ho & Salimans). Guiding the high-noise steps
    # wrecks a small U-Net's samples: ddpm-fashion (which sets 0.3) at w = 3, DDIM 50, 100 samples: class accuracy
    # 0.28 guided everywhere, 0.94 for t < 300, 0.77 for t < 500 (0.85 unguided); see `samplers.guided_eps`
    guidance_interval: float = 1.0

    def validate(self) -> None:
        if self.schedule not in SCHEDULES:
            raise UserError(f"--schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.T < 2 or not 1 <= self.sample_steps <= self.T:
            raise UserError(f"--T must be >= 2 and --sample_steps in [1, T], got T={self.T}, steps={self.sample_steps}")
        if self.image_size % 2 ** (len(self.mults) - 1):
            raise UserError(f"--image_size {self.image_size} must be divisible by 2^{len(self.mults) - 1} "
                            f"for {len(self.mults)} U-Net levels")
        if self.base % 8 or self.base < 8:
            raise UserError(f"--base must be a positive multiple of 8 (GroupNorm groups), got {self.base}")
        if not 0 <= self.p_uncond < 1 or not 0 <= self.ema_decay < 1 or self.n_classes < 0:
            raise UserError("--p_uncond and --ema_decay must be in [0, 1), --n_classes >= 0")
        if not 0 <= self.guidance <= 20 or not 0 <= self.dropout < 1 or not 0 < self.lr <= 1 or self.grad_clip < 0:
            raise UserError(f"--guidance must be in [0, 20], --dropout in [0, 1), --lr in (0, 1], --grad_clip >= 0; got "
                            f"{self.guidance}, {self.dropout}, {self.lr}, {self.grad_clip}")
        guidance_limit(self.guidance_interval, self.T)  # checks it
        if not self.mults or min(self.mults) < 1 or self.blocks < 1:
            raise UserError(f"--mults must be positive integers (e.g. 1,2,2) and --blocks >= 1, got {self.mults}")
        sizes = [self.image_size // 2 ** i for i in range(len(self.mults))]
        if any(r not in sizes for r in self.attn_res):
            raise UserError(f"--attn_res must be among the U-Net's resolutions {sizes}, got {list(self.attn_res)}")


def _unet(cfg: Config) -> UNet:
    return UNet(cfg.channels, cfg.base, cfg.mults, cfg.blocks, cfg.attn_res, cfg.image_size, cfg.n_classes,
                cfg.dropout)


def build(cfg: Config) -> dict:
    unet, ema = _unet(cfg), _unet(cfg)
    ema.load_state_dict(unet.state_dict())
    ema.requires_grad_(False)
    return {"unet": unet, "unet_ema": ema}


def optimizers(cfg: Config, modules: dict) -> dict:
    return {"unet": torch.optim.Adam(modules["unet"].parameters(), lr=cfg.lr)}


def for_inference(cfg: Config, modules: dict) -> None:
    """channels_last weights: a guided reverse step (batch 2) takes 0.7-0.83x the time on 2 CPU cores (oneDNN's
    NHWC convolutions; bench row "ddpm.reverse_step channels_last"), outputs equal to ~2e-6. Training keeps the
    default layout: there channels_last barely helps a U-Net (0.94x the time at batch 64 on one thread, ~1.09x
    faster on 2 cores)."""
    for m in modules.values():
        if next(m.parameters()).device.type == "cpu":  # measured on the CPU only
            m.to(memory_format=torch.channels_last)


@functools.lru_cache(maxsize=8)
def schedule(kind: str, T: int, device: str = "cpu") -> Schedule:
    return Schedule(kind, T).to(device)


def schedule_for(cfg: Config, device) -> Schedule:
    return schedule(cfg.schedule, cfg.T, str(torch.device(device)))


def drop_labels(y: torch.Tensor, p: float, null_label: int, gen: torch.Generator) -> torch.Tensor:
    """Each label becomes the "no label" token with probability p (classifier-free guidance training)."""
    drop = torch.rand(y.shape, generator=gen, device=gen.device).to(y.device) < p
    return torch.where(drop, torch.full_like(y, null_label), y)


def ema_update(ema: torch.nn.Module, model: torch.nn.Module, opt: torch.optim.Optimizer, ema_decay: float) -> None:
    """The EMA of the U-Net (`core/ema.py`), its decay warmed up over the optimiser's first steps, so a short
    run's average does not stay near the initial (zero-output) network."""
    update_ema(ema, model, warmed_decay(ema_decay, float(next(iter(opt.state.values()))["step"])))


def optimise(loss: torch.Tensor, opts: dict, modules: dict, accelerator, grad_clip: float, ema_decay: float) -> dict:
    """One optimisation step of the diffusion families: backpropagate `loss`, clip the gradient norm of every
    trained module together (skipped when `grad_clip` is 0), step each optimiser `opts[name]` and move its EMA
    twin `modules[name + "_ema"]`. Returns the logged values: the loss and, when clipped, the norm before it."""
    for o in opts.values():
        o.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    params = [p for name in opts for p in modules[name].parameters()]
    grad_norm = accelerator.clip_grad_norm_(params, grad_clip) if grad_clip > 0 else None
    for name, o in opts.items():
        o.step()
        ema_update(modules[f"{name}_ema"], accelerator.unwrap_model(modules[name]), o, ema_decay)
    out = {"loss": loss.detach()}
    if grad_norm is not None:
        out["grad_norm"] = torch.as_tensor(grad_norm).detach()
    return out


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    unet = modules["unet"]
    x0 = batch["image"]  # (B, C, H, W) in [-1, 1]
    b, device = x0.shape[0], x0.device
    sched = schedule_for(cfg, device)
    # Algorithm 1: t ~ U{0..T-1}, eps ~ N(0, I), x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps
    t = torch.randint(0, cfg.T, (b,), generator=gen, device=gen.device).to(device)
    eps = torch.randn(x0.shape, generator=gen, device=gen.device).to(device)
    xt = q_sample(sched, x0, t, eps)
    y = drop_labels(batch["label"].to(device), cfg.p_uncond, cfg.n_classes, gen) if cfg.n_classes else None
    # minimise || eps - eps_theta(x_t, t, y) ||^2
    loss = F.mse_loss(unet(xt, t, y), eps)
    return optimise(loss, opts, modules, accelerator, cfg.grad_clip, cfg.ema_decay)


@torch.no_grad()  # on a generator, torch sets and restores grad mode around every resume (Gradio threads)
def reverse(cfg: Config, modules: dict, x_T: torch.Tensor, gen: torch.Generator, y: torch.Tensor | None = None,
            sampler: str = "ddim", steps: int | None = None, eta: float = 0.0, guidance: float | None = None,
            guidance_interval: float | None = None):
    """The reverse chain from x_T with the EMA network, yielding (i, t, x_t, x0_hat) per step; x0_hat is
    clipped to [-1, 1] at each step (diffusers' default `clip_sample`). Guidance w applies for
    t < guidance_interval * T (both default to the config's)."""
    steps = cfg.sample_steps if steps is None else int(steps)
    guidance = cfg.guidance if guidance is None else float(guidance)
    if not 0 <= guidance <= 20:
        raise UserError(f"guidance must be in [0, 20], got {guidance}")
    net = modules["unet_ema"].eval()
    sched = schedule_for(cfg, x_T.device)
    eps_fn = guided_eps(net, y, cfg.n_classes, guidance, guidance_t_max(cfg, guidance_interval))
    yield from sample_loop(eps_fn, sched, x_T, gen, sampler, steps, eta)


def guidance_t_max(cfg: Config, guidance_interval: float | None = None) -> float | None:
    """Guidance applies for t < this (None: every step), from `guidance_interval` (default: the config's)."""
    return guidance_limit(cfg.guidance_interval if guidance_interval is None else float(guidance_interval), cfg.T)


def initial_noise(cfg: Config, n: int, gen: torch.Generator, device="cpu") -> torch.Tensor:
    """x_T ~ N(0, I), (n, C, H, W)."""
    return torch.randn(n, cfg.channels, cfg.image_size, cfg.image_size, generator=gen, device=gen.device).to(device)


@torch.no_grad()
def sample(cfg: Config, modules: dict, n: int, gen: torch.Generator, label=None, sampler: str = "ddim",
           steps: int | None = None, eta: float = 0.0, guidance: float | None = None,
           guidance_interval: float | None = None, batch: int = 250) -> dict:
    """n images from the reverse chain: uint8 (n, C, H, W); with classes, labels cycle 0..n_classes-1
    unless `label` is given."""
    device = next(modules["unet_ema"].parameters()).device
    y_all = class_labels(cfg.n_classes, n, label, device)
    images = []
    for i in range(0, n, batch):
        x = initial_noise(cfg, min(batch, n - i), gen, device)
        y = None if y_all is None else y_all[i:i + len(x)]
        for _, _, x, _ in reverse(cfg, modules, x, gen, y, sampler, steps, eta, guidance, guidance_interval):
            pass
        images.append(to_uint8(x))
    out = {"images": torch.cat(images)}
    if y_all is not None:
        out["labels"] = y_all.cpu()
    return out


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """64 samples from fixed noise (DDIM, `sample_steps`); a conditional model shows 8 per class, a class
    per row."""
    if cfg.n_classes:
        labels = torch.arange(cfg.n_classes).repeat_interleave(8)
        device = next(modules["unet_ema"].parameters()).device
        x = initial_noise(cfg, len(labels), gen, device)
        for _, _, x, _ in reverse(cfg, modules, x, gen, labels.to(device)):
            pass
        return to_uint8(x)
    return sample(cfg, modules, 64, gen)["images"]


def monitor(cfg: Config, modules: dict, gen: torch.Generator, n: int = 1000) -> dict:
    """Class entropy and FID of at most 250 samples per snapshot: each sample costs `sample_steps` network
    calls, so the small-sample FID (biased upwards) is only for comparing snapshots of one run."""
    from ..core.metrics import monitor as measure

    return measure(cfg, sample(cfg, modules, min(n, 250), gen)["images"])


def sampling_settings(cfg: Config) -> dict:
    """How `sample` draws by default (recorded with the evaluation's metrics)."""
    return {"sampler": "ddim", "steps": cfg.sample_steps, "eta": 0.0,
            **({"guidance": cfg.guidance, "guidance_interval": cfg.guidance_interval} if cfg.n_classes else {})}
