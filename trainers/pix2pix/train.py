"""Pix2Pix family: config, data, the training step, translation and evaluation.

Objective (Isola et al. 2017, eq. 4):
    G* = arg min_G max_D  L_cGAN(G, D) + lambda L_L1(G)
    L_cGAN = E_{x,y}[log D(x, y)] + E_x[log(1 - D(x, G(x)))],   L_L1 = E_{x,y}[||y - G(x)||_1]
with x the input (A), y the target (B), lambda = 100. D's loss is halved (as the paper's code does, to
slow D relative to G); G uses the non-saturating form -log D(x, G(x)) of the adversarial term.
"""

from __future__ import annotations

import dataclasses
import functools

import torch

from ..core.data import DataConfig
from ..core.ema import add_twin, update_ema
from ..core.errors import UserError
from ..core.images import from_uint8, to_uint8
from ..core.pairs import EDGE_OPERATORS, HELD_OUT_STYLES, PAIRINGS, TRAINING_STYLES, edge_map, paired
from . import losses
from .models import PatchDiscriminator, UNetGenerator, init_weights


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    pairing: str = "edges"  # edges | sketches | silhouette (made from Fashion-MNIST) | aligned (junyanz A|B in --data_dir)
    sketch_styles: str = ",".join(TRAINING_STYLES)  # the edge operators `sketches` draws its training sketches with
    sketch_drawings: int = 1  # each training garment drawn this many times (style, thickness, gaps), one per read
    ngf: int = 32
    ndf: int = 32
    d_layers: int = 2  # PatchGAN depth: 2 at 32 px (6x6 patches of 22 px), 3 at 64 px and up
    dropout: float = 0.5
    lambda_l1: float = 100.0
    lr: float = 2e-4
    beta1: float = 0.5
    channels_last: bool = True  # 1.6x faster at batch 64 on a 2-core CPU
    # > 0: keep G_ema, an exponential moving average of G's weights (Polyak averaging, Karras et al. 2018,
    # sec. C.1), which translates in G's place; 0 (no average) is what checkpoints from before it were trained with
    ema_decay: float = 0.0

    def validate(self) -> None:
        if self.pairing not in PAIRINGS:
            raise UserError(f"--pairing must be one of {', '.join(PAIRINGS)}, got {self.pairing!r}")
        styles = self.styles()
        if not styles or set(styles) - set(EDGE_OPERATORS) or set(styles) & set(HELD_OUT_STYLES):
            allowed = ", ".join(o for o in EDGE_OPERATORS if o not in HELD_OUT_STYLES)
            raise UserError(f"--sketch_styles takes edge operators from {allowed} (comma-separated; "
                            f"{', '.join(HELD_OUT_STYLES)} are held out for evaluation), got {self.sketch_styles!r}")
        if not 1 <= self.sketch_drawings <= 8:
            raise UserError(f"--sketch_drawings must be 1 to 8, got {self.sketch_drawings}")
        if self.image_size < 16 or self.image_size & (self.image_size - 1):
            raise UserError(f"--image_size must be a power of two >= 16, got {self.image_size}")
        if not 0 <= self.ema_decay < 1:
            raise UserError(f"--ema_decay must be in [0, 1) (0: no average), got {self.ema_decay}")
        if self.lambda_l1 < 0 or not 0 <= self.dropout < 1 or not 1 <= self.d_layers <= 5:
            raise UserError("--lambda_l1 >= 0, --dropout in [0, 1) and --d_layers in [1, 5] are required")

    def styles(self) -> tuple:
        return tuple(s.strip() for s in self.sketch_styles.split(",") if s.strip())


def build(cfg: Config) -> dict:
    g = UNetGenerator(cfg.channels, cfg.channels, cfg.ngf, cfg.image_size, cfg.dropout)
    d = PatchDiscriminator(2 * cfg.channels, cfg.ndf, cfg.d_layers)
    g.apply(init_weights)
    d.apply(init_weights)
    modules = {"G": g, "D": d}
    if cfg.channels_last:
        for m in modules.values():
            m.to(memory_format=torch.channels_last)
    if cfg.ema_decay > 0:
        add_twin(modules, "G")
    return modules


def optimizers(cfg: Config, modules: dict) -> dict:
    return {k: torch.optim.Adam(modules[k].parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999)) for k in ("G", "D")}


def dataset(cfg: Config, split: str):
    if split == "test":  # built once per process: the snapshots and the evaluation reuse it
        return _test_set(cfg.pairing, cfg.image_size, cfg.data_dir, cfg.channels, cfg.styles())
    return paired(cfg.pairing, split, cfg.image_size, cfg.data_dir, cfg.channels, styles=cfg.styles(),
                  drawings=cfg.sketch_drawings)


@functools.lru_cache(maxsize=4)
def _test_set(pairing: str, image_size: int, data_dir: str | None, channels: int, styles: tuple):
    return paired(pairing, "test", image_size, data_dir, channels, styles=styles)


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    G, D = modules["G"], modules["D"]
    x, y = batch["A"], batch["B"]  # (B, C, H, W) in [-1, 1]: input and target
    if cfg.channels_last:
        x, y = x.contiguous(memory_format=torch.channels_last), y.contiguous(memory_format=torch.channels_last)
    fake = G(x)

    # (1) Update D: maximise log D(x, y) + log(1 - D(x, G(x)))  (halved)
    d_real, d_fake = D(torch.cat([x, y], 1)), D(torch.cat([x, fake.detach()], 1))
    loss_d = losses.d_loss(d_real, d_fake)
    opts["D"].zero_grad(set_to_none=True)
    accelerator.backward(loss_d)
    opts["D"].step()

    # (2) Update G: minimise -log D(x, G(x)) + lambda ||y - G(x)||_1
    loss_g, loss_gan, loss_l1 = losses.g_loss(D(torch.cat([x, fake], 1)), y, fake, cfg.lambda_l1)
    opts["G"].zero_grad(set_to_none=True)
    accelerator.backward(loss_g)
    opts["G"].step()
    if "G_ema" in modules:
        update_ema(modules["G_ema"], accelerator.unwrap_model(G), cfg.ema_decay)
    return {"loss_d": loss_d.detach(), "loss_g_gan": loss_gan.detach(), "l1": loss_l1.detach(),
            "d_real": torch.sigmoid(d_real).mean().detach(), "d_fake": torch.sigmoid(d_fake).mean().detach()}


def _check(cfg: Config, images: torch.Tensor) -> None:
    if images.ndim != 4 or images.shape[1:] != (cfg.channels, cfg.image_size, cfg.image_size):
        raise UserError(f"this model takes {cfg.channels}x{cfg.image_size}x{cfg.image_size} images, "
                        f"got {'x'.join(map(str, images.shape[1:]))}")


@torch.no_grad()
def translate(cfg: Config, modules: dict, images: torch.Tensor, direction: str = "AtoB", noise: bool = True,
              seed: int = 0) -> torch.Tensor:
    """uint8 inputs (N, C, H, W) -> uint8 outputs. noise=True keeps the generator's dropout on, as the paper
    samples at test time (a seed fixes it); False gives the deterministic mean-field output."""
    if direction != "AtoB":
        raise UserError("Pix2Pix translates one way: --direction=AtoB (train another model for B -> A)")
    _check(cfg, images)
    G = modules.get("G_ema", modules["G"]).eval()  # the average, where the run kept one
    if noise:
        for m in G.modules():
            if isinstance(m, torch.nn.Dropout):
                m.train()
    device = next(G.parameters()).device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # nn.Dropout draws from the global RNG
        out = torch.cat([to_uint8(G(from_uint8(images[i:i + 500]).to(device))) for i in range(0, len(images), 500)])
    G.eval()
    return out


@torch.no_grad()
def patch_scores(cfg: Config, modules: dict, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
    """D's probability that each patch of (input, output) is a real pair: (N, P, P) in [0, 1]."""
    _check(cfg, inputs)
    _check(cfg, outputs)
    D = modules["D"].eval()
    xy = torch.cat([from_uint8(inputs), from_uint8(outputs)], 1).to(next(D.parameters()).device)
    return torch.sigmoid(D(xy))[:, 0].cpu()


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """Eight fixed test inputs, their targets, and G's outputs (rows of 8: input, output, target, ...)."""
    test = dataset(cfg, "test")
    idx = torch.arange(16) * max(1, len(test) // 16)
    items = [test[int(i)] for i in idx]
    x = to_uint8(torch.stack([it["A"] for it in items]))
    y = to_uint8(torch.stack([it["B"] for it in items]))
    out = translate(cfg, modules, x, noise=False)
    return torch.cat([x[:8], out[:8], y[:8], x[8:], out[8:], y[8:]])


@torch.no_grad()
def evaluate(loaded, n: int = 10000, seed: int = 0, **_) -> dict:
    """On held-out pairs: L1, PSNR and SSIM of G(x) against y, and FID of the outputs vs the targets."""
    from ..core import metrics

    cfg, modules = loaded.cfg, loaded.modules
    test = dataset(cfg, "test")
    n = min(n, len(test))
    x = to_uint8(torch.stack([test[i]["A"] for i in range(n)]))
    y = to_uint8(torch.stack([test[i]["B"] for i in range(n)]))
    out = translate(cfg, modules, x, noise=False)
    mse = ((out.float() - y.float()) / 255).pow(2).mean().item()
    result = {"test_l1": round(((out.float() - y.float()) / 255).abs().mean().item(), 5),
              "test_psnr_db": round(10 * torch.log10(torch.tensor(1 / mse)).item(), 3),
              "test_ssim": metrics.ssim(out, y), "n_test": n, "dropout_at_test": False}
    if cfg.pairing != "aligned" and cfg.channels == 1:
        net = metrics.load_classifier()
        result.update({f"output_{k}": v for k, v in metrics.fid_kid(y, out, net).items()})
        if cfg.pairing in ("edges", "sketches"):
            result.update(sketch_class_kept(cfg, modules, y, test.labels[:n], net))
    return result


def sketch_class_kept(cfg: Config, modules: dict, garments: torch.Tensor, labels: torch.Tensor, net) -> dict:
    """Share of translations the judge `net` puts in the source garment's class, for clean sketches drawn by
    each edge operator: those a `sketches` pairing can train on, and HELD_OUT_STYLES that no model here trains
    on (Canny, Roberts); beside it, the judge's accuracy on the real garments (the bar)."""
    from ..core import metrics

    def kept(images: torch.Tensor) -> float:
        return round(float((metrics.class_probs(images, net).argmax(1) == labels).float().mean()), 4)

    x01 = garments.float() / 255
    out = {"real_class_accuracy": kept(garments)}
    for style in EDGE_OPERATORS:  # the training styles and the held-out ones
        out[f"class_kept_{style}"] = kept(translate(cfg, modules, to_uint8(edge_map(x01, operator=style) * 2 - 1),
                                                    noise=False))
    return out
