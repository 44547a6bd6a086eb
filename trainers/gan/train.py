"""GAN family: config, networks, the alternating training step, sampling.

Training algorithm (Goodfellow et al. 2014, Algorithm 1): each
step makes `n_critic` (Algorithm 1's k) discriminator updates on fresh noise, then one generator
update; the loss comes from the table in `losses.py`. Sampling uses an exponential moving average
of the generator's weights (G_ema).
Deviation: the k discriminator updates of a step reuse that step's real minibatch (fresh noise each
time), where Algorithm 1 samples a new real minibatch for each of them.
"""

from __future__ import annotations

import dataclasses

import torch

from ..core.data import DataConfig, class_labels
from ..core.ema import update_ema
from ..core.errors import UserError
from ..core.images import to_uint8
from . import losses as L
from .models import (
    AutoencoderDiscriminator, Discriminator, Generator, MLPDiscriminator, MLPGenerator, apply_spectral_norm,
    init_weights,
)


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    z_dim: int = 100
    ngf: int = 32
    ndf: int = 32
    loss: str = "non-saturating"  # a key of losses.LOSSES
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5  # DCGAN guideline: Adam with a low beta1
    beta2: float = 0.999
    n_critic: int = 1  # k discriminator steps per generator step
    ema_decay: float = 0.999
    channels_last: bool = True  # DCGAN-32 trains 1.4x faster at batch 64 on a 2-core CPU
    arch: str = "dcgan"  # dcgan | mlp
    n_classes: int = 0  # > 0: conditional GAN on the dataset's labels
    d_cond: str = "concat"  # how a conditional D takes its label: concat (one-hot channels) | projection
    ac_weight: float = 0.0  # > 0: AC-GAN auxiliary classifier on D's features, its class loss weighted so
    mapping_layers: int = 0  # > 0: StyleGAN-style mapping network z -> w with this many layers
    d_norm: str = "auto"  # batch | layer | none | spectral; auto = layer for wgan-gp/dragan, batch otherwise
    gp_lambda: float = 10.0  # weight of the WGAN-GP / DRAGAN gradient penalty
    clip_value: float = 0.01  # WGAN weight clipping range [-c, c]
    dragan_c: float = 0.25  # variance c of DRAGAN's perturbation N(0, c)
    began_gamma: float = 0.5  # BEGAN diversity ratio gamma = E[L(G(z))] / E[L(x)]
    began_lambda_k: float = 0.001

    def validate(self) -> None:
        if self.loss not in L.LOSSES:
            raise UserError(f"--loss={self.loss!r} is not available; choose one of {', '.join(L.LOSSES)}")
        if self.arch not in ("dcgan", "mlp"):
            raise UserError(f"--arch must be dcgan or mlp, got {self.arch!r}")
        if self.arch == "dcgan" and self.image_size not in (32, 64):
            raise UserError(f"--image_size must be 32 or 64 for DCGAN, got {self.image_size}")
        if self.d_cond not in ("concat", "projection"):
            raise UserError(f"--d_cond must be concat or projection, got {self.d_cond!r}")
        if self.ac_weight < 0:
            raise UserError(f"--ac_weight must be >= 0, got {self.ac_weight}")
        if self.ac_weight and (not self.n_classes or self.d_cond != "projection" or self.arch != "dcgan"):
            raise UserError("--ac_weight needs a conditional DCGAN with --d_cond=projection (with concat the "
                            "label is in D's input, and its classifier head would read it back)")
        if self.d_cond == "projection" and self.arch != "dcgan":
            raise UserError("--d_cond=projection needs --arch=dcgan")
        if self.d_norm not in ("auto", "batch", "layer", "none", "spectral"):
            raise UserError(f"--d_norm must be auto, batch, layer, none or spectral, got {self.d_norm!r}")
        if self.n_critic < 1 or not 0 <= self.ema_decay < 1 or self.n_classes < 0 or self.mapping_layers < 0:
            raise UserError("--n_critic must be >= 1, --ema_decay in [0, 1), --n_classes and --mapping_layers >= 0")
        if self.loss == "began" and self.arch != "dcgan":
            raise UserError("--loss=began needs --arch=dcgan (its discriminator is a convolutional autoencoder)")
        if self.loss == "began" and self.n_classes:
            raise UserError("--loss=began is unconditional here: drop --n_classes")

    @property
    def norm(self) -> str:
        if self.d_norm != "auto":
            return self.d_norm
        return "layer" if L.LOSSES[self.loss].penalty else "batch"


def _generator(cfg: Config):
    cls = Generator if cfg.arch == "dcgan" else MLPGenerator
    return cls(cfg.z_dim, cfg.ngf, cfg.channels, cfg.image_size, cfg.n_classes, cfg.mapping_layers)


def build(cfg: Config) -> dict:
    g, g_ema = _generator(cfg), _generator(cfg)
    if cfg.loss == "began":
        d = AutoencoderDiscriminator(cfg.ndf, cfg.channels, cfg.image_size)
    elif cfg.arch == "dcgan":
        d = Discriminator(cfg.ndf, cfg.channels, cfg.image_size, cfg.n_classes, cfg.norm, cfg.d_cond,
                          cfg.n_classes if cfg.ac_weight else 0)
    else:
        d = MLPDiscriminator(cfg.ndf, cfg.channels, cfg.image_size, cfg.n_classes)
    if cfg.arch == "dcgan":
        g.apply(init_weights)
        d.apply(init_weights)
        if getattr(d, "spectral", False):  # after the init: spectral norm reparametrises the initialised weights
            apply_spectral_norm(d)
    g_ema.load_state_dict(g.state_dict())
    g_ema.requires_grad_(False)
    modules = {"G": g, "D": d, "G_ema": g_ema}
    if cfg.channels_last and cfg.arch == "dcgan":
        for m in modules.values():
            m.to(memory_format=torch.channels_last)
    return modules


def optimizers(cfg: Config, modules: dict) -> dict:
    return {
        "G": torch.optim.Adam(modules["G"].parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2)),
        "D": torch.optim.Adam(modules["D"].parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2)),
    }


def _unwrap(module):
    """The module inside a DDP wrapper (BEGAN's k_t buffer lives on the plain module)."""
    return getattr(module, "module", module)


def _noise(cfg: Config, b: int, gen: torch.Generator, device) -> torch.Tensor:
    return torch.randn(b, cfg.z_dim, generator=gen, device=device)


def _d_step(cfg, spec, G, D, x, y, gen) -> dict:
    """One discriminator loss on a real batch and a fresh generated batch (no parameter update here)."""
    with torch.no_grad():
        fake = G(_noise(cfg, x.shape[0], gen, x.device), y)
    if cfg.loss == "began":
        l_real, l_fake = L.began_recon(x, D(x)), L.began_recon(fake, D(fake))
        return {"loss_d": L.began_d_loss(l_real, l_fake, _unwrap(D).k), "l_real": l_real.mean().detach()}
    if cfg.ac_weight:
        # Deviation from AC-GAN: D's classifier learns from real images only; on G's images too
        # (Odena et al. 2017, eq. 2) it rewards G for easily classified images over varied ones
        (d_real, logits), d_fake = D(x, y, logits=True), D(fake, y)
    else:
        d_real, d_fake = D(x, y), D(fake, y)
    loss = spec.d(d_real, d_fake)
    out = {"d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}
    if cfg.ac_weight:
        ac = L.aux_classifier_loss(logits, y)
        loss = loss + cfg.ac_weight * ac
        out["ac_real"] = ac.detach()
    gp = L.penalty(spec.penalty, lambda v: D(v, y), x, fake, gen, cfg.dragan_c ** 0.5)
    if gp is not None:
        loss = loss + cfg.gp_lambda * gp
        out["penalty"] = gp.detach()
    out["loss_d"] = loss
    return out


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    G, D = modules["G"], modules["D"]
    spec = L.LOSSES[cfg.loss]
    x = batch["image"]  # (B, C, H, W) in [-1, 1]
    if cfg.channels_last and cfg.arch == "dcgan":
        x = x.contiguous(memory_format=torch.channels_last)
    y = batch["label"].to(x.device) if cfg.n_classes else None
    b = x.shape[0]

    # (1) Update D k = n_critic times: minimise L_D of the loss table
    for _ in range(cfg.n_critic):
        d = _d_step(cfg, spec, G, D, x, y, gen)
        opts["D"].zero_grad(set_to_none=True)
        accelerator.backward(d["loss_d"])
        opts["D"].step()
        if spec.clip:  # WGAN: keep the critic K-Lipschitz by clipping its weights to [-c, c]
            L.clip_weights(D, cfg.clip_value)

    # (2) Update G on fresh noise: minimise L_G of the loss table
    z = _noise(cfg, b, gen, x.device)
    g_plain = accelerator.unwrap_model(G)
    if g_plain.mapping is not None:  # track E[w] for truncation in W (StyleGAN)
        with torch.no_grad():
            g_plain.w_avg.lerp_(g_plain.map(z).mean(0), 0.005)
    fake = G(z, y)
    out = {"loss_d": d["loss_d"].detach()}
    if cfg.loss == "began":
        l_fake = L.began_recon(fake, D(fake))
        loss_g = l_fake.mean()
        with torch.no_grad():  # k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)
            Dp = _unwrap(D)
            Dp.k.copy_(L.began_k_update(Dp.k, d["l_real"], l_fake.detach(), cfg.began_gamma, cfg.began_lambda_k))
            out.update(k=Dp.k.clone(), l_real=d["l_real"], l_fake=l_fake.detach().mean())
            out["M"] = L.began_convergence(d["l_real"], l_fake.detach(), cfg.began_gamma)
    elif cfg.ac_weight:
        d_fake, logits = D(fake, y, logits=True)
        ac = L.aux_classifier_loss(logits, y)
        loss_g = spec.g(d_fake) + cfg.ac_weight * ac
        out["ac_fake"] = ac.detach()
        out.update({k: v for k, v in d.items() if k != "loss_d"})
    else:
        loss_g = spec.g(D(fake, y))
        out.update({k: v for k, v in d.items() if k != "loss_d"})
    opts["G"].zero_grad(set_to_none=True)
    accelerator.backward(loss_g)
    opts["G"].step()

    update_ema(modules["G_ema"], g_plain, cfg.ema_decay)
    out["loss_g"] = loss_g.detach()
    return out


@torch.no_grad()
def sample(cfg: Config, modules: dict, n: int, gen: torch.Generator, label=None, truncation: float = 1.0,
           batch: int = 500) -> dict:
    """n images from G_ema(z, y), z ~ N(0, I), truncated by psi in W (or Z): uint8 (n, C, H, W)."""
    if not 0 < truncation <= 1:
        raise UserError(f"--truncation must be in (0, 1], got {truncation}")
    g = modules["G_ema"].eval()
    device = next(g.parameters()).device
    z = torch.randn(n, cfg.z_dim, generator=gen, device=gen.device).to(device)
    y = class_labels(cfg.n_classes, n, label, device)
    images = torch.cat([to_uint8(g(z[i:i + batch], None if y is None else y[i:i + batch], truncation))
                        for i in range(0, n, batch)])
    out = {"images": images, "z": z.cpu()}
    if y is not None:
        out["labels"] = y.cpu()
    return out


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """64 samples from fixed noise; a conditional model shows one class per row (8 per class)."""
    if cfg.n_classes:
        g = modules["G_ema"].eval()
        device = next(g.parameters()).device
        n = 8 * cfg.n_classes
        z = torch.randn(n, cfg.z_dim, generator=gen, device=gen.device).to(device)
        with torch.no_grad():
            return to_uint8(g(z, torch.arange(cfg.n_classes, device=device).repeat_interleave(8)))
    return sample(cfg, modules, 64, gen)["images"]


def evaluate(loaded, n: int = 10000, seed: int = 0, **sampling) -> dict:
    """The generators' metrics (`trainers.evaluate.generative_evaluate`) and, for a model with a mapping network,
    the perceptual path length of its walks in Z and in W (`walk.path_length`, Karras et al. 2019, sec. 3.2) in
    the judge's features, over 2000 random walks: lower is smoother."""
    from ..core.metrics import load_classifier
    from ..evaluate import generative_evaluate
    from .walk import path_length

    result = generative_evaluate(loaded, n, seed, **sampling)
    G = loaded.modules["G_ema"]
    if G.mapping is not None and not loaded.cfg.n_classes:
        judge = load_classifier()
        result.update({f"ppl_{space}": round(path_length(G, space, judge, seed=seed), 1) for space in ("z", "w")})
    return result


def monitor(cfg: Config, modules: dict, gen: torch.Generator, n: int = 1000) -> dict:
    """Mode-collapse signal logged at each snapshot: class entropy and FID of n samples."""
    from ..core.metrics import monitor as measure

    return measure(cfg, sample(cfg, modules, n, gen)["images"])
