"""SR3 family: super-resolution by a DDPM conditioned on the low-resolution image by concatenation (Saharia et al.
2021, "Image Super-Resolution via Iterative Refinement").

The condition is the small image I_LR enlarged to the output size by bicubic interpolation, x_up = bicubic(I_LR),
concatenated with x_t along the channels (sec. 2.4). Training (eq. 6, in Ho et al.'s discrete-time form):
t ~ U{0, ..., T-1}, eps ~ N(0, I), x_t = sqrt(alpha_bar_t) I_HR + sqrt(1 - alpha_bar_t) eps, and minimise
|| eps_theta([x_t, x_up], t) - eps ||^2. Sampling runs the ordinary reverse chain (`samplers.sample_loop`) with
the same x_up beside every x_t, so one seed fixes the whole result. Symbols: see `diffusion.py`.

Deviations, stated: SR3 conditions on a continuous noise level gamma and samples from a tuned 100-step schedule;
this is Ho et al.'s discrete t with the shipped DDPM's linear schedule, sampled by DDIM (or DDPM). The pairs are
the SRGAN family's (`srgan/train.py`: I_HR shrunk by `core.data.fit_images`, the resize the CLI applies to a
user's images), and so is the evaluation (`srgan.train.score`). `--init_from` a pixel DDPM of the same U-Net
(ddpm-fashion) starts from its weights with the condition's input channels at zero, so the first step is that
DDPM, unconditioned (as Stable Diffusion's inpainting model grew from Stable Diffusion).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from ..core.errors import UserError
from ..core.images import from_uint8, to_uint8
from ..srgan import train as S
from . import train as D
from .diffusion import q_sample
from .models import UNet
from .samplers import sample_loop


@dataclasses.dataclass(frozen=True)
class Config(D.Config):
    scale: int = 4  # r: 8 -> 32 px at 4, 16 -> 32 px at 2

    @property
    def input_size(self) -> int:
        """The side of the low-resolution images the model takes."""
        return self.image_size // self.scale

    def validate(self) -> None:
        super().validate()
        if self.scale not in (2, 4, 8) or self.image_size // self.scale < 4:
            raise UserError(f"--scale must be 2, 4 or 8, leaving at least 4 px, got {self.scale} at {self.image_size} px")
        if self.n_classes:
            raise UserError("an SR3 model is conditioned on the small image, not a class: --n_classes=0")


def _unet(cfg: Config) -> UNet:
    return UNet(cfg.channels, cfg.base, cfg.mults, cfg.blocks, cfg.attn_res, cfg.image_size, 0, cfg.dropout,
                cond_channels=cfg.channels)


def build(cfg: Config) -> dict:
    unet, ema = _unet(cfg), _unet(cfg)
    ema.load_state_dict(unet.state_dict())
    ema.requires_grad_(False)
    return {"unet": unet, "unet_ema": ema}


optimizers = D.optimizers
for_inference = D.for_inference


def init_from(cfg: Config, modules: dict, parent) -> dict[str, str]:
    """`--init_from` a pixel DDPM with the same U-Net: its EMA weights into `unet` and `unet_ema`. The input
    convolution gains the condition's channels, at zero; a class-conditional DDPM's "no label" embedding is folded
    into the time MLP's last bias (emb = MLP(t) + E[null] exactly), so the new network starts as that DDPM's
    unconditional eps(x_t)."""
    if parent.family != "ddpm":
        raise UserError(f"--init_from={parent.path} holds a {parent.family!r} model; SR3 starts from its own "
                        "checkpoints or a pixel DDPM's")
    pc = parent.cfg
    same = ("channels", "image_size", "base", "mults", "blocks", "attn_res", "schedule", "T")
    differ = [k for k in same if getattr(pc, k) != getattr(cfg, k)]
    if differ:
        raise UserError(f"--init_from={parent.path} differs in {', '.join('--' + k for k in differ)} "
                        f"({', '.join(str(getattr(pc, k)) for k in differ)}): give the same values")
    source = dict(parent.modules["unet_ema"].state_dict())
    w = source["inp.weight"]
    source["inp.weight"] = torch.cat([w, torch.zeros_like(w)[:, :cfg.channels]], 1)
    null = source.pop("label_emb.weight", None)
    if null is not None:
        source["time_mlp.2.bias"] = source["time_mlp.2.bias"] + null[pc.n_classes]
    for name in ("unet", "unet_ema"):
        modules[name].load_state_dict(source)
    unet = f"{parent.path}: unet_ema (condition channels at zero" + (", no-label embedding in the bias)" if null is
                                                                      not None else ")")
    return {"unet": unet, "unet_ema": unet}


def dataset(cfg: Config, split: str):
    """(I_LR as "A", I_HR as "B", label) pairs: the SRGAN family's."""
    return S.dataset(cfg, split)


def condition(cfg: Config, low: torch.Tensor) -> torch.Tensor:
    """x_up = bicubic(I_LR): (N, C, s, s) in [-1, 1] -> (N, C, S, S), the input concatenated with x_t."""
    up = F.interpolate(low, size=(cfg.image_size, cfg.image_size), mode="bicubic", align_corners=False)
    return up.clamp(-1, 1)


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    unet = modules["unet"]
    x0, low = batch["B"], batch["A"]  # I_HR (B, C, S, S) and I_LR (B, C, s, s) in [-1, 1]
    b, device = x0.shape[0], x0.device
    sched = D.schedule_for(cfg, device)
    t = torch.randint(0, cfg.T, (b,), generator=gen, device=gen.device).to(device)
    eps = torch.randn(x0.shape, generator=gen, device=gen.device).to(device)
    xt = q_sample(sched, x0, t, eps)  # x_t = sqrt(alpha_bar_t) I_HR + sqrt(1 - alpha_bar_t) eps
    # minimise || eps - eps_theta([x_t, bicubic(I_LR)], t) ||^2  (eq. 6)
    loss = F.mse_loss(unet(xt, t, cond=condition(cfg, low)), eps)
    return D.optimise(loss, opts, modules, accelerator, cfg.grad_clip, cfg.ema_decay)


@torch.no_grad()
def reverse(cfg: Config, modules: dict, low: torch.Tensor, gen: torch.Generator, sampler: str = "ddim",
            steps: int | None = None, eta: float = 0.0):
    """The reverse chain for I_LR (N, C, s, s) in [-1, 1], from x_T ~ N(0, I) drawn from `gen`, yielding
    (i, t, x_t, x0_hat) per step."""
    _check_float(cfg, low)
    net = modules["unet_ema"].eval()
    cond = condition(cfg, low)
    x_T = torch.randn(cond.shape, generator=gen, device=gen.device).to(low.device)
    steps = cfg.sample_steps if steps is None else int(steps)
    yield from sample_loop(lambda xt, t: net(xt, t, cond=cond), D.schedule_for(cfg, low.device), x_T, gen,
                           sampler, steps, eta)


def _check_float(cfg: Config, low: torch.Tensor) -> None:
    s = cfg.input_size
    if low.ndim != 4 or tuple(low.shape[1:]) != (cfg.channels, s, s):
        raise UserError(f"this model upscales {cfg.channels}x{s}x{s} images, got {'x'.join(map(str, low.shape[1:]))}")


@torch.no_grad()
def translate(cfg: Config, modules: dict, images: torch.Tensor, direction: str = "AtoB", steps: int = 0,
              seed: int = 0, sampler: str = "ddim", batch: int = 250) -> torch.Tensor:
    """uint8 I_LR (N, C, s, s) -> uint8 (N, C, S, S) by the reverse chain: `steps` DDIM (or DDPM) steps, 0 for the
    config's, from noise seeded by `seed`."""
    if direction != "AtoB":
        raise UserError("a super-resolution model upscales one way: --direction=AtoB")
    if not 0 <= int(steps) <= cfg.T:
        raise UserError(f"--steps must be in [1, {cfg.T}] (0: the model's {cfg.sample_steps}), got {steps}")
    device = next(modules["unet_ema"].parameters()).device
    gen = torch.Generator(device).manual_seed(int(seed))
    out = []
    for i in range(0, len(images), batch):
        low = from_uint8(images[i:i + batch]).to(device)
        for _, _, x, _ in reverse(cfg, modules, low, gen, sampler, int(steps) or None):
            pass
        out.append(to_uint8(x))
    if not out:
        raise UserError("no images to upscale")
    return torch.cat(out)


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """SRGAN's preview rows (I_LR, bicubic, the model's upscaling, I_HR), its noise drawn from `gen`."""
    seed = int(torch.randint(0, 2 ** 31, (1,), generator=gen, device=gen.device))
    return S.preview_rows(cfg, lambda lr: translate(cfg, modules, lr, seed=seed))


@torch.no_grad()
def evaluate(loaded, n: int = 1000, seed: int = 0, steps: int = 0, sampler: str = "ddim", **_) -> dict:
    """On the first n held-out test images, for bicubic and the model (seeded by `seed`): the super-resolution
    metrics of `srgan.train.score` (PSNR, SSIM, FID, both judges' class accuracy)."""
    cfg = loaded.cfg
    test = dataset(cfg, "test")
    n = min(n, len(test))
    lr, hr, labels = test.a[:n], test.b[:n], test.labels[:n]
    outputs = {"bicubic": S.bicubic(cfg, lr), "model": translate(cfg, loaded.modules, lr, steps=steps, seed=seed,
                                                                  sampler=sampler)}
    return {**S.score(cfg, hr, labels, outputs), "sampler": sampler, "steps": int(steps) or cfg.sample_steps}
