"""GAN family: config, networks, the alternating training step, sampling.

Training algorithm (seed 004, "GAN training algorithm"; Goodfellow et al. 2014, Algorithm 1):
for each step, `n_critic` discriminator updates on fresh noise, then one generator update.
Sampling uses an exponential moving average of the generator's weights (G_ema).
Deviation: the `n_critic` D updates reuse the step's real batch (fresh noise each time).
"""

from __future__ import annotations

import dataclasses

import torch

from ..core.data import DataConfig
from ..core.errors import UserError
from ..core.images import to_uint8
from .losses import LOSSES
from .models import Discriminator, Generator, init_weights


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    z_dim: int = 100
    ngf: int = 32
    ndf: int = 32
    loss: str = "non-saturating"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5  # DCGAN guideline: Adam with a low beta1
    beta2: float = 0.999
    n_critic: int = 1  # k discriminator steps per generator step
    ema_decay: float = 0.999
    channels_last: bool = True  # 1.4x faster on CPU for this network (shared/FACTS.md)

    def validate(self) -> None:
        if self.loss not in LOSSES:
            raise UserError(f"--loss={self.loss!r} is not available; choose one of {', '.join(LOSSES)}")
        if self.image_size not in (32, 64):
            raise UserError(f"--image_size must be 32 or 64, got {self.image_size}")
        if self.n_critic < 1 or not 0 <= self.ema_decay < 1:
            raise UserError("--n_critic must be >= 1 and --ema_decay in [0, 1)")


def build(cfg: Config) -> dict:
    g = Generator(cfg.z_dim, cfg.ngf, cfg.channels, cfg.image_size)
    d = Discriminator(cfg.ndf, cfg.channels, cfg.image_size)
    g.apply(init_weights)
    d.apply(init_weights)
    g_ema = Generator(cfg.z_dim, cfg.ngf, cfg.channels, cfg.image_size)
    g_ema.load_state_dict(g.state_dict())
    g_ema.requires_grad_(False)
    modules = {"G": g, "D": d, "G_ema": g_ema}
    if cfg.channels_last:
        for m in modules.values():
            m.to(memory_format=torch.channels_last)
    return modules


def optimizers(cfg: Config, modules: dict) -> dict:
    return {
        "G": torch.optim.Adam(modules["G"].parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2)),
        "D": torch.optim.Adam(modules["D"].parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2)),
    }


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """theta_ema <- decay * theta_ema + (1 - decay) * theta; buffers (BatchNorm stats) are copied."""
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    G, D = modules["G"], modules["D"]
    d_loss_fn, g_loss_fn = LOSSES[cfg.loss]
    x = batch["image"]  # (B, C, H, W) in [-1, 1]
    if cfg.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    b = x.shape[0]

    # (1) Update D: minimise L_D = -E[log D(x)] - E[log(1 - D(G(z)))], k = n_critic times
    for _ in range(cfg.n_critic):
        z = torch.randn(b, cfg.z_dim, generator=gen, device=x.device)
        with torch.no_grad():
            fake = G(z)
        d_real, d_fake = D(x), D(fake)
        loss_d = d_loss_fn(d_real, d_fake)
        opts["D"].zero_grad(set_to_none=True)
        accelerator.backward(loss_d)
        opts["D"].step()

    # (2) Update G: minimise L_G (the loss table's G column) on fresh noise
    z = torch.randn(b, cfg.z_dim, generator=gen, device=x.device)
    d_gen = D(G(z))
    loss_g = g_loss_fn(d_gen)
    opts["G"].zero_grad(set_to_none=True)
    accelerator.backward(loss_g)
    opts["G"].step()

    update_ema(modules["G_ema"], accelerator.unwrap_model(G), cfg.ema_decay)
    return {
        "loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
        "D_real": torch.sigmoid(d_real.detach()).mean(), "D_fake": torch.sigmoid(d_fake.detach()).mean(),
    }


@torch.no_grad()
def sample(cfg: Config, modules: dict, n: int, gen: torch.Generator, label=None, truncation: float = 1.0,
           batch: int = 500) -> dict:
    """n images from G_ema(z), z ~ N(0, I) scaled by `truncation` (psi): uint8 (n, C, H, W)."""
    if label is not None:
        raise UserError("this GAN is unconditional: drop --label")
    if not 0 < truncation <= 1:
        raise UserError(f"--truncation must be in (0, 1], got {truncation}")
    g = modules["G_ema"].eval()
    device = next(g.parameters()).device
    z = torch.randn(n, cfg.z_dim, generator=gen, device=gen.device).to(device) * truncation
    images = torch.cat([to_uint8(g(z[i:i + batch])) for i in range(0, n, batch)])
    return {"images": images, "z": z.cpu()}


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    return sample(cfg, modules, 64, gen)["images"]
