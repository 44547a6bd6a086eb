"""CycleGAN family: config, data, the training step, translation and evaluation.

Objective (Zhu et al. 2017, eq. 3 and sec. 5.2), generators G_AB, G_BA
and discriminators D_A, D_B, least-squares adversarial losses (Mao et al. 2017):
    L_G = (D_B(G_AB(a)) - 1)^2 + (D_A(G_BA(b)) - 1)^2                         adversarial
          + lambda (|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) - b|_1)            cycle consistency
          + lambda_id (|G_AB(b) - b|_1 + |G_BA(a) - a|_1)                      identity, lambda_id = 0.5 lambda
    L_D_B = 1/2 [(D_B(b) - 1)^2 + D_B(pool(G_AB(a)))^2], and D_A alike.
DualGAN (Yi et al. 2017) writes the same objective with Wasserstein critic terms; CycleGAN's least-squares
terms are what Zhu et al. train with (sec. 4).
"""

from __future__ import annotations

import dataclasses
import functools

import torch

from ..core.data import DataConfig
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
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # times lambda_cycle
    pool_size: int = 50
    lr: float = 2e-4
    beta1: float = 0.5

    def validate(self) -> None:
        if (self.domain_a == "folder") != (self.domain_b == "folder"):
            raise UserError("--domain_a and --domain_b must both be 'folder' (trainA/trainB in --data_dir) or both classes")
        if self.domain_a != "folder":
            class_ids(self.domain_a), class_ids(self.domain_b)
        if self.image_size % 4:
            raise UserError(f"--image_size must be divisible by 4, got {self.image_size}")
        if self.lambda_cycle < 0 or self.lambda_identity < 0 or self.pool_size < 1:
            raise UserError("--lambda_cycle and --lambda_identity must be >= 0 and --pool_size >= 1")


def build(cfg: Config) -> dict:
    return {"G": Generators(cfg.channels, cfg.ngf, cfg.n_blocks),
            "D": Discriminators(cfg.channels, cfg.ndf, cfg.d_layers, cfg.image_size, cfg.pool_size)}


def optimizers(cfg: Config, modules: dict) -> dict:
    return {k: torch.optim.Adam(m.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999)) for k, m in modules.items()}


def dataset(cfg: Config, split: str):
    if split == "test":
        return _test_set(cfg.domain_a, cfg.domain_b, cfg.image_size, cfg.data_dir, cfg.channels)
    return unpaired(cfg.domain_a, cfg.domain_b, split, cfg.image_size, cfg.data_dir, cfg.channels)


@functools.lru_cache(maxsize=4)
def _test_set(domain_a, domain_b, image_size, data_dir, channels):
    return unpaired(domain_a, domain_b, "test", image_size, data_dir, channels)


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    G, D = modules["G"], modules["D"]
    a, b = batch["A"], batch["B"]  # (B, C, H, W) in [-1, 1], unpaired
    lam, lam_id = cfg.lambda_cycle, cfg.lambda_identity * cfg.lambda_cycle

    # (1) Update G_AB, G_BA: adversarial + cycle + identity (D's parameters get gradients but are not stepped)
    fake_b, fake_a = G(a, "AtoB"), G(b, "BtoA")
    loss_adv = losses.g_adversarial(D(fake_b, "B"), D(fake_a, "A"))
    loss_cycle = losses.cycle(a, G(fake_b, "BtoA"), b, G(fake_a, "AtoB"))
    # (the same sum with the B images first: the generators run in the order they always did)
    loss_id = losses.identity(b, G(b, "AtoB"), a, G(a, "BtoA")) if lam_id > 0 else torch.zeros((), device=a.device)
    loss_g = loss_adv + lam * loss_cycle + lam_id * loss_id
    opts["G"].zero_grad(set_to_none=True)
    accelerator.backward(loss_g)
    opts["G"].step()

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


DIRECTIONS = ("AtoB", "BtoA")


@torch.no_grad()
def translate(cfg: Config, modules: dict, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
    """uint8 (N, C, H, W) of one domain -> uint8 translations into the other."""
    if direction not in DIRECTIONS:
        raise UserError(f"--direction must be AtoB or BtoA, got {direction!r}")
    if images.ndim != 4 or images.shape[1:] != (cfg.channels, cfg.image_size, cfg.image_size):
        raise UserError(f"this model takes {cfg.channels}x{cfg.image_size}x{cfg.image_size} images, "
                        f"got {'x'.join(map(str, images.shape[1:]))}")
    G = modules["G"].eval()
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
