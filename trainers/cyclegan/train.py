"""CycleGAN family: config, data, the training step, translation and evaluation.

Objective (Zhu et al. 2017, eq. 3 and sec. 5.2), generators G_AB, G_BA
and discriminators D_A, D_B, least-squares adversarial losses (Mao et al. 2017):
    L_G = (D_B(G_AB(a)) - 1)^2 + (D_A(G_BA(b)) - 1)^2                         adversarial
          + lambda (|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) - b|_1)            cycle consistency
          + lambda_id (|G_AB(b) - b|_1 + |G_BA(a) - a|_1)                      identity, lambda_id = 0.5 lambda
    L_D_B = 1/2 [(D_B(b) - 1)^2 + D_B(pool(G_AB(a)))^2], and D_A alike.
CycleGAN's least-squares terms are what Zhu et al. train with (sec. 4).

`--loss=dualgan` trains the same networks as DualGAN (Yi et al. 2017, eqs. 1-3 and Algorithm 1):
    L_D_B = D_B(G_AB(a)) - D_B(b), and D_A alike; critic weights clipped to [-c, c] after each step
    L_G = -D_B(G_AB(a)) - D_A(G_BA(b)) + lambda (|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) - b|_1)
with RMSProp (lr 5e-5), n_critic critic steps per generator step, and neither identity term nor history
pool (the paper has neither; both stay available as options).
Deviations from DualGAN: CycleGAN's ResNet generators and instance-norm PatchGANs instead of its U-Net and
batch-norm PatchGAN, no dropout noise z; lambda_U = lambda_V = --lambda_cycle, default 10, below the
paper's [100, 1000] (for 256-px images): in 3-minute runs at 32 px, lambda 1-10 put 93-98% of translations
in the target class, 30 about 80%, 100 or 1000 none (the translations were noise that still carried the
input, so the cycle loss stayed low); the n_critic critic steps of a step reuse that step's batch, where
Algorithm 1 draws a fresh one for each.
"""

from __future__ import annotations

import dataclasses
import functools

import torch

from ..core.data import DataConfig
from ..core.ema import add_twin, update_ema
from ..core.errors import UserError
from ..core.images import from_uint8, to_uint8
from ..core.pairs import class_ids, unpaired
from . import losses
from .models import Discriminators, Generators


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    domain_a: str = "Sneaker"  # Fashion-MNIST class names joined by '+', or 'folder' (junyanz trainA/trainB)
    domain_b: str = "Ankle boot"
    ngf: int = 32
    n_blocks: int = 6
    ndf: int = 32
    d_layers: int = 2
    # None below: the value of LOSS_DEFAULTS[loss] (config.json records the value used)
    lambda_cycle: float | None = None  # lsgan 10; dualgan's lambda_U = lambda_V
    lambda_identity: float | None = None  # times lambda_cycle; lsgan 0.5, dualgan 0
    pool_size: int | None = None  # history pool of fakes per critic; lsgan 50, dualgan 0 (none)
    lr: float | None = None  # lsgan: Adam 2e-4; dualgan: RMSProp 5e-5
    beta1: float = 0.5  # Adam's (lsgan)
    loss: str = "lsgan"  # lsgan (CycleGAN, Zhu et al.) | dualgan (Wasserstein critics, Yi et al.)
    n_critic: int | None = None  # critic steps per generator step; lsgan 1, dualgan 2
    clip_value: float = 0.01  # dualgan: critic weights clipped to [-c, c]
    # > 0: keep G_ema, an exponential moving average of both generators' weights (the DCGANs' Polyak averaging,
    # Karras et al. 2018, sec. C.1), which translates in place of G; 0 (no average) is what checkpoints from
    # before it was added were trained with
    ema_decay: float = 0.0

    def __post_init__(self) -> None:
        for k, v in LOSS_DEFAULTS.get(self.loss, {}).items():
            if getattr(self, k) is None:
                object.__setattr__(self, k, v)

    def validate(self) -> None:
        if self.loss not in LOSS_DEFAULTS:
            raise UserError(f"--loss must be one of {', '.join(LOSS_DEFAULTS)}, got {self.loss!r}")
        if (self.domain_a == "folder") != (self.domain_b == "folder"):
            raise UserError("--domain_a and --domain_b must both be 'folder' (trainA/trainB in --data_dir) or both classes")
        if self.domain_a != "folder":
            class_ids(self.domain_a), class_ids(self.domain_b)
        if not 0 <= self.ema_decay < 1:
            raise UserError(f"--ema_decay must be in [0, 1) (0: no average), got {self.ema_decay}")
        if self.image_size % 4:
            raise UserError(f"--image_size must be divisible by 4, got {self.image_size}")
        if self.lambda_cycle < 0 or self.lambda_identity < 0 or self.lr <= 0:
            raise UserError("--lambda_cycle and --lambda_identity must be >= 0 and --lr > 0")
        if self.loss == "lsgan" and (self.pool_size < 1 or self.n_critic != 1):
            raise UserError("--loss=lsgan (CycleGAN) needs --pool_size >= 1 and --n_critic=1 "
                            f"(got {self.pool_size} and {self.n_critic})")
        if self.loss == "dualgan" and (self.pool_size < 0 or self.n_critic < 1 or self.clip_value <= 0):
            raise UserError("--loss=dualgan needs --pool_size >= 0 (0: no pool), --n_critic >= 1 and --clip_value > 0 "
                            f"(got {self.pool_size}, {self.n_critic} and {self.clip_value})")


# What a None field of Config means, by --loss. CycleGAN: Zhu et al. 2017, sec. 4 and 5.2. DualGAN: RMSProp at
# 5e-5, no identity term, no pool (Yi et al. 2017, Algorithm 1 and sec. 3); n_critic in the paper's 2-4;
# lambda 10 measured at 32 px (module docstring), not the paper's [100, 1000].
LOSS_DEFAULTS = {
    "lsgan": {"lambda_cycle": 10.0, "lambda_identity": 0.5, "pool_size": 50, "lr": 2e-4, "n_critic": 1},
    "dualgan": {"lambda_cycle": 10.0, "lambda_identity": 0.0, "pool_size": 0, "lr": 5e-5, "n_critic": 2},
}


def build(cfg: Config) -> dict:
    modules = {"G": Generators(cfg.channels, cfg.ngf, cfg.n_blocks),
               "D": Discriminators(cfg.channels, cfg.ndf, cfg.d_layers, cfg.image_size, cfg.pool_size)}
    if cfg.ema_decay > 0:
        add_twin(modules, "G")
    return modules


def optimizers(cfg: Config, modules: dict) -> dict:
    if cfg.loss == "dualgan":  # a momentum-based optimiser (Adam) can destabilise a clipped critic (Yi et al. 2017)
        return {k: torch.optim.RMSprop(modules[k].parameters(), lr=cfg.lr) for k in ("G", "D")}
    return {k: torch.optim.Adam(modules[k].parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999)) for k in ("G", "D")}


def dataset(cfg: Config, split: str):
    if split == "test":
        return _test_set(cfg.domain_a, cfg.domain_b, cfg.image_size, cfg.data_dir, cfg.channels)
    return unpaired(cfg.domain_a, cfg.domain_b, split, cfg.image_size, cfg.data_dir, cfg.channels)


@functools.lru_cache(maxsize=4)
def _test_set(domain_a, domain_b, image_size, data_dir, channels):
    return unpaired(domain_a, domain_b, "test", image_size, data_dir, channels)


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    step = dualgan_step if cfg.loss == "dualgan" else cyclegan_step
    out = step(cfg, modules, opts, batch, gen, accelerator)
    if "G_ema" in modules:  # after the one generator update of either step
        update_ema(modules["G_ema"], accelerator.unwrap_model(modules["G"]), cfg.ema_decay)
    return out


def cyclegan_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    """One iteration of CycleGAN (Zhu et al. 2017): one generator step, then one step of both discriminators."""
    G, D = modules["G"], modules["D"]
    a, b = batch["A"], batch["B"]  # (B, C, H, W) in [-1, 1], unpaired

    # (1) Update G_AB, G_BA: adversarial + cycle + identity (D's parameters get gradients but are not stepped)
    fake_b, fake_a, loss_adv, loss_cycle, loss_id = generator_step(cfg, G, D, a, b, losses.g_adversarial, opts,
                                                                   accelerator)

    # (2) Update D_A, D_B on real images vs fakes drawn from the history pools
    d_plain = accelerator.unwrap_model(D)
    pooled_b, pooled_a = d_plain.from_pool(fake_b, "B", gen), d_plain.from_pool(fake_a, "A", gen)
    loss_d_b = losses.d_loss(D(b, "B"), D(pooled_b, "B"))
    loss_d_a = losses.d_loss(D(a, "A"), D(pooled_a, "A"))
    opts["D"].zero_grad(set_to_none=True)
    accelerator.backward(loss_d_a + loss_d_b)
    opts["D"].step()
    return {"loss_g_adv": loss_adv.detach(), "cycle": loss_cycle.detach(), "identity": loss_id.detach(),
            "loss_d_a": loss_d_a.detach(), "loss_d_b": loss_d_b.detach()}


def generator_step(cfg: Config, G, D, a: torch.Tensor, b: torch.Tensor, adversarial, opts: dict, accelerator):
    """One update of both generators, for either objective: L_G = L_adv + λ L_cyc + λ_id L_identity (CycleGAN, Zhu
    et al. 2017, eq. 3 and sec. 5.2; DualGAN, Yi et al. 2017, eq. 3, with its own `adversarial` term). Returns
    (G_AB(a), G_BA(b), L_adv, L_cyc, L_identity)."""
    lam, lam_id = cfg.lambda_cycle, cfg.lambda_identity * cfg.lambda_cycle
    fake_b, fake_a = G(a, "AtoB"), G(b, "BtoA")
    loss_adv = adversarial(D(fake_b, "B"), D(fake_a, "A"))
    loss_cycle = losses.cycle(a, G(fake_b, "BtoA"), b, G(fake_a, "AtoB"))
    loss_id = losses.identity(b, G(b, "AtoB"), a, G(a, "BtoA")) if lam_id > 0 else torch.zeros((), device=a.device)
    opts["G"].zero_grad(set_to_none=True)
    accelerator.backward(loss_adv + lam * loss_cycle + lam_id * loss_id)
    opts["G"].step()
    return fake_b, fake_a, loss_adv, loss_cycle, loss_id


def dualgan_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    """One iteration of DualGAN's Algorithm 1 (Yi et al. 2017): n_critic critic steps, then one generator step."""
    G, D = modules["G"], modules["D"]
    a, b = batch["A"], batch["B"]  # (B, C, H, W) in [-1, 1], unpaired

    # (1) Update D_A, D_B n_critic times: minimise D(G(x)) - D(real) per domain (eqs. 1-2), then clip to [-c, c]
    with torch.no_grad():
        fake_b, fake_a = G(a, "AtoB"), G(b, "BtoA")
    if cfg.pool_size:
        d_plain = accelerator.unwrap_model(D)
        fake_b, fake_a = d_plain.from_pool(fake_b, "B", gen), d_plain.from_pool(fake_a, "A", gen)
    for _ in range(cfg.n_critic):
        loss_d_b = losses.d_loss_dualgan(D(b, "B"), D(fake_b, "B"))
        loss_d_a = losses.d_loss_dualgan(D(a, "A"), D(fake_a, "A"))
        opts["D"].zero_grad(set_to_none=True)
        accelerator.backward(loss_d_a + loss_d_b)
        opts["D"].step()
        losses.clip_weights(D, cfg.clip_value)

    # (2) Update G_AB, G_BA: -D_B(G_AB(a)) - D_A(G_BA(b)) + lambda L_cyc (eq. 3) (+ identity, off by default)
    _, _, loss_adv, loss_cycle, loss_id = generator_step(cfg, G, D, a, b, losses.g_adversarial_dualgan, opts,
                                                         accelerator)
    # loss_d_* are the last critic step's, before its update: -loss_d estimates the Wasserstein-1 distance
    return {"loss_g_adv": loss_adv.detach(), "cycle": loss_cycle.detach(), "identity": loss_id.detach(),
            "loss_d_a": loss_d_a.detach(), "loss_d_b": loss_d_b.detach()}


DIRECTIONS = ("AtoB", "BtoA")


@torch.no_grad()
def translate(cfg: Config, modules: dict, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
    """uint8 (N, C, H, W) of one domain -> uint8 translations into the other."""
    if direction not in DIRECTIONS:
        raise UserError(f"--direction must be AtoB or BtoA, got {direction!r}")
    if images.ndim != 4 or images.shape[1:] != (cfg.channels, cfg.image_size, cfg.image_size):
        raise UserError(f"this model takes {cfg.channels}x{cfg.image_size}x{cfg.image_size} images, "
                        f"got {'x'.join(map(str, images.shape[1:]))}")
    G = modules.get("G_ema", modules["G"]).eval()  # the average, where the run kept one
    device = next(G.parameters()).device
    return torch.cat([to_uint8(G(from_uint8(images[i:i + 500]).to(device), direction))
                      for i in range(0, len(images), 500)])


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """Rows of 8: test A, A -> B, A -> B -> A, test B, B -> A, B -> A -> B."""
    test = dataset(cfg, "test")
    a = to_uint8(torch.stack([test[i]["A"] for i in range(8)]))
    b = to_uint8(torch.stack([test[i]["B"] for i in range(8)]))
    ab, ba = translate(cfg, modules, a, "AtoB"), translate(cfg, modules, b, "BtoA")
    return torch.cat([a, ab, translate(cfg, modules, ab, "BtoA"), b, ba, translate(cfg, modules, ba, "AtoB")])


@torch.no_grad()
def evaluate(loaded, n: int = 10000, seed: int = 0, **_) -> dict:
    """Held-out images of each domain: share of translations the shipped classifier puts in the target
    domain's classes, cycle-reconstruction L1, and FID of the translations vs real images of that domain."""
    from ..core import metrics

    cfg, modules = loaded.cfg, loaded.modules
    test = dataset(cfg, "test")
    if hasattr(test, "a") and isinstance(test.a, torch.Tensor):  # Fashion-MNIST classes, held as uint8
        a, b = test.a[:n], test.b[:n]
    else:  # junyanz testA/testB folders
        a = to_uint8(torch.stack([test[i]["A"] for i in range(min(n, len(test.a)))]))
        b = to_uint8(torch.stack([test[i]["B"] for i in range(min(n, len(test.b)))]))
    ab, ba = translate(cfg, modules, a, "AtoB"), translate(cfg, modules, b, "BtoA")
    aba, bab = translate(cfg, modules, ab, "BtoA"), translate(cfg, modules, ba, "AtoB")
    out = {"n_test_a": len(a), "n_test_b": len(b),
           "cycle_l1_a": round(((aba.float() - a.float()) / 255).abs().mean().item(), 5),
           "cycle_l1_b": round(((bab.float() - b.float()) / 255).abs().mean().item(), 5)}
    if cfg.domain_a != "folder":
        net = metrics.load_classifier()
        for name, images, target, real in (("a_to_b", ab, cfg.domain_b, b), ("b_to_a", ba, cfg.domain_a, a)):
            pred = metrics.class_probs(images, net).argmax(1)
            out[f"{name}_in_target_class"] = round(float(torch.isin(pred, torch.tensor(class_ids(target))).float().mean()), 4)
            out[f"{name}_fid"] = metrics.fid_kid(real, images, net, kid=False)["fid"]
        for name, images, own in (("a", a, cfg.domain_a), ("b", b, cfg.domain_b)):  # the classifier on real images
            pred = metrics.class_probs(images, net).argmax(1)
            out[f"real_{name}_in_own_class"] = round(float(torch.isin(pred, torch.tensor(class_ids(own))).float().mean()), 4)
    return out
