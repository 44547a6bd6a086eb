"""SRGAN family: config, data, the training step, upscaling and evaluation.

Objective (Ledig et al. 2017, eq. 3): G minimises l_SR = l_X + lambda_adv l_Gen, D maximises
log D(I_HR) + log(1 - D(G(I_LR))) (eq. 2). I_LR is I_HR shrunk by r with the antialiased resize that the CLI
and the app apply to a user's images (`core.data.fit_images`), so a low-resolution image a user brings is
made the way the training inputs were.

Two stages, as in the paper (sec. 3.2): SRResNet is G trained on l_MSE alone (`--lambda_adv=0
--lambda_content=0`); SRGAN starts from it (`--init_from`, which carries the parent's config) with the feature
and adversarial terms turned back on (`--lambda_content=1 --lambda_adv=0.005`).
"""

from __future__ import annotations

import copy
import dataclasses
import functools

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..core.data import DataConfig, fit_images, load_dataset
from ..core.errors import UserError
from ..core.images import from_uint8, to_uint8
from . import losses
from .models import Discriminator, Generator


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    scale: int = 4  # r: 8 -> 32 px at 4, 16 -> 32 px at 2
    ngf: int = 64
    n_blocks: int = 8
    ndf: int = 32
    lambda_pixel: float = 1.0  # l_MSE's weight in l_X
    lambda_content: float = 1.0  # the classifier-feature term's weight in l_X (0: SRResNet)
    # l_Gen's weight (eq. 3; 0: SRResNet, no D step). The paper's 1e-3 weighs it against a VGG loss rescaled by
    # 1/12.75; ours weighs it against a pixel term on [-1, 1] images and the classifier-feature term. 5e-3 was chosen
    # from the losses' sizes at the start of the run (pixel ~0.02, feature ~0.15, -log D ~0.7), not tuned
    lambda_adv: float = 5e-3
    lr: float = 1e-4
    beta1: float = 0.9

    @property
    def input_size(self) -> int:
        """The side of the low-resolution images G takes."""
        return self.image_size // self.scale

    def validate(self) -> None:
        if self.scale not in (2, 4, 8):
            raise UserError(f"--scale must be 2, 4 or 8, got {self.scale}")
        if self.image_size % 8 or self.image_size // self.scale < 4:
            raise UserError(f"--image_size must be a multiple of 8 and at least 4 x --scale, got {self.image_size}")
        if min(self.lambda_pixel, self.lambda_content, self.lambda_adv) < 0 or not self.lambda_pixel + self.lambda_content:
            raise UserError("the loss weights must be >= 0, with --lambda_pixel or --lambda_content above 0")
        if self.channels != 1 and self.lambda_content:
            raise UserError("the content loss uses the grey Fashion-MNIST classifier: --channels=1, or --lambda_content=0")


def build(cfg: Config) -> dict:
    return {"G": Generator(cfg.channels, cfg.scale, cfg.ngf, cfg.n_blocks),
            "D": Discriminator(cfg.channels, cfg.ndf, cfg.image_size)}


def optimizers(cfg: Config, modules: dict) -> dict:
    return {k: torch.optim.Adam(m.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999)) for k, m in modules.items()}


def shrink(cfg: Config, hr: torch.Tensor) -> torch.Tensor:
    """uint8 I_HR (N, C, S, S) -> uint8 I_LR (N, C, S/r, S/r): the degradation G learns to undo."""
    return fit_images(hr, cfg.input_size, cfg.channels)[0]


def bicubic(cfg: Config, lr: torch.Tensor) -> torch.Tensor:
    """uint8 I_LR -> uint8 bicubic upsampling to the model's output size: the baseline every method is measured against.
    Cubic convolution (Keys 1981, eq. 15) with a = -0.75, as torch and OpenCV use (Keys' own choice is -0.5)."""
    up = F.interpolate(lr.float(), size=(cfg.image_size, cfg.image_size), mode="bicubic", align_corners=False)
    return up.round().clamp(0, 255).to(torch.uint8)


class SuperResolutionPairs(Dataset):
    """(I_LR, I_HR) pairs held as uint8, with the garment's label (for the class-accuracy metric)."""

    def __init__(self, lr: torch.Tensor, hr: torch.Tensor, labels: torch.Tensor, source: str):
        self.a, self.b, self.labels, self.source = lr, hr, labels, source

    def __len__(self) -> int:
        return len(self.b)

    def __getitem__(self, i: int) -> dict:
        return {"A": from_uint8(self.a[i]), "B": from_uint8(self.b[i]), "label": self.labels[i]}


def dataset(cfg: Config, split: str):
    return _pairs(cfg.dataset, cfg.data_dir, split, cfg.image_size, cfg.channels, cfg.scale)


@functools.lru_cache(maxsize=2)  # built once per process: the previews and the evaluation reuse the test set
def _pairs(name: str, data_dir: str | None, split: str, image_size: int, channels: int, scale: int):
    hr = load_dataset(name, data_dir=data_dir, split=split, image_size=image_size, channels=channels)
    images = getattr(hr, "images", None)
    if images is None:  # a folder: read it once into memory
        items = [hr[i] for i in range(len(hr))]
        images = to_uint8(torch.stack([it["image"] for it in items]))
        labels = torch.tensor([int(it.get("label", 0)) for it in items])
    else:
        labels = hr.labels
    cfg = Config(image_size=image_size, channels=channels, scale=scale)
    lr = torch.cat([shrink(cfg, images[i:i + 8192]) for i in range(0, len(images), 8192)])
    return SuperResolutionPairs(lr, images, labels, f"{hr.source} (shrunk {scale}x -> original)")


@functools.lru_cache(maxsize=1)
def _phi(device: str) -> torch.nn.Module:
    """phi of eq. 5: the shipped classifier's first two convolutional blocks, frozen."""
    from ..core import metrics

    body = metrics.load_classifier(metrics.CLASSIFIER_DIR).body
    # a copy: the judge itself is cached and shared, and must stay where it is and as it is
    phi = copy.deepcopy(torch.nn.Sequential(*list(body)[:2])).to(device).eval()
    return phi.requires_grad_(False)


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    G, D = modules["G"], modules["D"]
    lr, hr = batch["A"], batch["B"]  # (B, C, s, s) and (B, C, S, S) in [-1, 1]
    sr = G(lr)
    out = {}

    # (1) Update D: maximise log D(I_HR) + log(1 - D(G(I_LR)))  (eq. 2)
    if cfg.lambda_adv:
        d_real, d_fake = D(hr), D(sr.detach())
        loss_d = losses.d_loss(d_real, d_fake)
        opts["D"].zero_grad(set_to_none=True)
        accelerator.backward(loss_d)
        opts["D"].step()
        out.update(loss_d=loss_d.detach(), d_real=torch.sigmoid(d_real).mean().detach(),
                   d_fake=torch.sigmoid(d_fake).mean().detach())

    # (2) Update G: minimise l_X + lambda_adv (-log D(G(I_LR)))  (eq. 3), l_X = l_MSE + lambda_content l_phi
    mse = losses.pixel_mse(hr, sr)
    content = cfg.lambda_pixel * mse
    if cfg.lambda_content:
        feat = losses.feature_mse(_phi(str(hr.device)), hr, sr)
        content = content + cfg.lambda_content * feat
        out["feature_mse"] = feat.detach()
    loss_g = losses.g_loss(D(sr), content, cfg.lambda_adv) if cfg.lambda_adv else content
    opts["G"].zero_grad(set_to_none=True)
    accelerator.backward(loss_g)
    opts["G"].step()
    out.update(loss_g=loss_g.detach(), mse=mse.detach())
    return out


def _check(cfg: Config, images: torch.Tensor) -> None:
    s = cfg.input_size
    if images.ndim != 4 or images.shape[1:] != (cfg.channels, s, s):
        raise UserError(f"this model upscales {cfg.channels}x{s}x{s} images, got {'x'.join(map(str, images.shape[1:]))}")


@torch.no_grad()
def translate(cfg: Config, modules: dict, images: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
    """uint8 I_LR (N, C, s, s) -> uint8 G(I_LR) (N, C, S, S)."""
    if direction != "AtoB":
        raise UserError("a super-resolution model upscales one way: --direction=AtoB")
    _check(cfg, images)
    G = modules["G"].eval()
    device = next(G.parameters()).device
    return torch.cat([to_uint8(G(from_uint8(images[i:i + 500]).to(device))) for i in range(0, len(images), 500)])


def preview_rows(cfg: Config, upscale) -> torch.Tensor:
    """Eight fixed test images in four rows: I_LR (drawn at the output size, nearest), bicubic, upscale(I_LR), I_HR."""
    test = dataset(cfg, "test")
    idx = torch.arange(8) * (len(test) // 8)
    lr, hr = test.a[idx], test.b[idx]
    nearest = F.interpolate(lr, size=(cfg.image_size, cfg.image_size), mode="nearest")
    return torch.cat([nearest, bicubic(cfg, lr), upscale(lr), hr])


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """The rows of `preview_rows` with G(I_LR)."""
    return preview_rows(cfg, lambda lr: translate(cfg, modules, lr))


MLP_JUDGE = "fashion-classifier-mlp"  # the second judge: not in the content loss, another architecture


@torch.no_grad()
def evaluate(loaded, n: int = 10000, seed: int = 0, diffusion: str = "", diffusion_steps: int = 50, **_) -> dict:
    """On held-out test images, for bicubic and for G: PSNR and SSIM against I_HR (fidelity), FID against I_HR
    and the garment's class read by both judges (what a viewer recognises). The CNN judge's features are in
    the content loss (phi), so its verdicts flatter G; the MLP judge's are not. `--judge` replaces the CNN judge. `diffusion` (a DDPM checkpoint
    of the output size) adds ILVR's upscaling of the same images (`ddpm/superres.py`, seeded by `seed`)."""
    cfg, modules = loaded.cfg, loaded.modules
    test = dataset(cfg, "test")
    n = min(n, len(test))
    lr, hr, labels = test.a[:n], test.b[:n], test.labels[:n]
    outputs = {"bicubic": bicubic(cfg, lr), "model": translate(cfg, modules, lr)}  # "model": this checkpoint's G
    if diffusion:
        from ..core.checkpoint import load_model
        from ..ddpm.superres import upscale_images

        ddpm = load_model(diffusion)
        if ddpm.family != "ddpm":
            raise UserError(f"--diffusion {diffusion} is a {ddpm.family!r} checkpoint, not a DDPM")
        outputs["ilvr"] = upscale_images(ddpm, lr, cfg.image_size, diffusion_steps, seed)
    return score(cfg, hr, labels, outputs)


def score(cfg, hr: torch.Tensor, labels: torch.Tensor, outputs: dict[str, torch.Tensor]) -> dict:
    """The super-resolution metrics of each method's uint8 `outputs[name]` of the held-out originals `hr`: PSNR and
    SSIM against them, FID (the CNN judge's features) and the class read by both judges, keyed `<name>_<metric>`,
    beside the judges' accuracy on `hr` itself. Shared with the SR3 family (`ddpm/sr3.py`)."""
    from ..core import metrics

    judges = {"cnn": metrics.load_classifier(),  # the shipped CNN, or the one `--judge` names
              "mlp": metrics.load_classifier(metrics.CLASSIFIER_DIR.parent / MLP_JUDGE)}
    result: dict = {"n_test": len(hr), "input_size": cfg.input_size, "output_size": cfg.image_size}
    for judge, net in judges.items():
        result[f"real_class_accuracy_{judge}"] = _accuracy(hr, labels, net)
    for name, images in outputs.items():
        result[f"{name}_psnr_db"] = metrics.psnr(images, hr)
        result[f"{name}_ssim"] = metrics.ssim(images, hr)
        result[f"{name}_fid"] = round(metrics.fid_kid(hr, images, judges["cnn"], kid=False)["fid"], 3)
        for judge, net in judges.items():
            result[f"{name}_class_accuracy_{judge}"] = _accuracy(images, labels, net)
    return result


def _accuracy(images: torch.Tensor, labels: torch.Tensor, net) -> float:
    from ..core import metrics

    return round(float((metrics.class_probs(images, net).argmax(1) == labels).float().mean()), 4)
