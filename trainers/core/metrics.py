"""Sample-quality metrics measured with the shipped Fashion-MNIST classifier.

FID and KID (torchmetrics) use the classifier's 128-d penultimate features instead of Inception's,
which cannot be downloaded here and were never trained on garments. The numbers are therefore
comparable across this project's models, not with published Inception FIDs.

Class entropy is the mode-collapse signal: H(E_x[p(y|x)]) over generated samples, in nats.
A generator that covers all ten classes evenly scores log 10 = 2.303; one that collapses onto
one class scores near 0.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .errors import UserError
from .images import from_uint8

CLASSIFIER_DIR = Path(__file__).resolve().parents[2] / "checkpoints" / "fashion-classifier"


def classifier_inputs(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float (N, 1, 32, 32) in [-1, 1]: grey, resized as the classifier saw."""
    if images.dtype != torch.uint8:
        raise TypeError(f"expected uint8 images, got {images.dtype}")
    x = images.float()
    if x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    if x.shape[-2:] != (32, 32):
        x = F.interpolate(x, size=(32, 32), mode="bilinear", antialias=True, align_corners=False)
    return from_uint8(x)


class ClassifierFeatures(nn.Module):
    """torchmetrics feature extractor: uint8 images -> the classifier's features (float64-safe)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval()
        self.num_features = net.feature_dim

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.features(classifier_inputs(images))


_CACHE: dict[str, nn.Module] = {}
# the judge the metrics use: the shipped classifier unless `judged_by` names another (a second judge of
# another architecture, to check the first one's verdicts)
_JUDGE: contextvars.ContextVar[Path | None] = contextvars.ContextVar("judge", default=None)


@contextlib.contextmanager
def judged_by(path: str | Path | None):
    """Within this block every metric (FID/KID features, class entropy, class accuracy) uses the classifier
    checkpoint at `path` instead of the shipped one."""
    token = _JUDGE.set(Path(path) if path else None)
    try:
        yield
    finally:
        _JUDGE.reset(token)


def load_classifier(path: str | Path | None = None) -> nn.Module:
    """The judge's network (cached): `path`, else the one `judged_by` chose, else the shipped classifier."""
    from .checkpoint import load_model

    path = Path(path or _JUDGE.get() or CLASSIFIER_DIR)
    key = str(path.resolve())
    if key not in _CACHE:
        if not path.is_dir():
            raise UserError(f"the metrics need the classifier checkpoint {path}; train it with "
                            "`python -m trainers train classifier --out=checkpoints/fashion-classifier`")
        _CACHE[key] = load_model(path).modules["net"]
    return _CACHE[key]


@torch.no_grad()
def class_probs(images: torch.Tensor, net: nn.Module, batch: int = 1000) -> torch.Tensor:
    net.eval()
    return torch.cat([F.softmax(net(classifier_inputs(images[i:i + batch])), 1)
                      for i in range(0, len(images), batch)])


def psnr(out: torch.Tensor, ref: torch.Tensor, max_db: float = 100.0) -> float:
    """Mean over the images of PSNR = 10 log10(MAX^2 / MSE) (dB; MAX = 1 for images scaled to [0, 1]), as
    super-resolution papers report it (Ledig et al. 2017, sec. 3.3); an exact copy reads `max_db`, not infinity.
    uint8 (N, C, H, W)."""
    mse = ((out.float() - ref.float()) / 255).pow(2).flatten(1).mean(1)
    return round(float((10 * torch.log10(1 / mse.clamp_min(10 ** (-max_db / 10)))).mean()), 3)


def ssim(out: torch.Tensor, ref: torch.Tensor) -> float:
    """SSIM (Wang et al. 2004, eq. 13) by torchmetrics, 11-px Gaussian windows, averaged over the images.
    uint8 (N, C, H, W)."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    return round(float(structural_similarity_index_measure(out.float() / 255, ref.float() / 255, data_range=1.0)), 4)


def class_entropy(probs: torch.Tensor) -> float:
    """H(E_x[p(y|x)]) in nats: log(n_classes) when classes are covered evenly, 0 at full collapse."""
    p = probs.double().mean(0)
    return float(-(p * p.clamp_min(1e-12).log()).sum())


def fid_kid(real: torch.Tensor, fake: torch.Tensor, net: nn.Module, batch: int = 1000, kid: bool = True) -> dict:
    """FID and KID of uint8 image sets in the classifier's feature space (torchmetrics).

    FID = ||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^{1/2})  (Heusel et al. 2017, eq. 6);
    KID = unbiased MMD^2 with the cubic kernel (x.y/d + 1)^3  (Binkowski et al. 2018).
    """
    import warnings

    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    warnings.filterwarnings("ignore", message=".*will save all extracted features in buffer.*")

    if len(real) < 2 or len(fake) < 2:
        raise UserError("FID/KID need at least 2 real and 2 generated images")
    feat = ClassifierFeatures(net)
    subset = min(1000, len(real), len(fake))
    # no cross-process sync: the training loop scores on the main process alone (a sync would deadlock)
    metrics = {"fid": FrechetInceptionDistance(feature=feat, normalize=False, sync_on_compute=False)}
    if kid:
        metrics["kid"] = KernelInceptionDistance(feature=feat, subset_size=subset, subsets=50, normalize=False,
                                                 sync_on_compute=False)
    for images, real_flag in ((real, True), (fake, False)):
        for i in range(0, len(images), batch):
            for m in metrics.values():
                m.update(images[i:i + batch], real=real_flag)
    out = {"fid": round(float(metrics["fid"].compute()), 4)}
    if kid:
        kid_mean, kid_std = metrics["kid"].compute()
        out.update(kid=round(float(kid_mean), 6), kid_std=round(float(kid_std), 6))
    return out


def generative_metrics(images: torch.Tensor, real: torch.Tensor, labels: torch.Tensor | None = None,
                       net: nn.Module | None = None) -> dict:
    """FID/KID against `real`, class entropy, and (when `labels` are given) class accuracy."""
    net = net if net is not None else load_classifier()
    probs = class_probs(images, net)
    out = {**fid_kid(real, images, net), "class_entropy": round(class_entropy(probs), 4),
           "class_entropy_max": round(math.log(probs.shape[1]), 4), "n_generated": int(len(images))}
    if labels is not None:
        out["class_accuracy"] = round(float((probs.argmax(1) == labels.to(probs.device)).float().mean()), 4)
    return out


_REAL: dict[tuple, torch.Tensor] = {}


def monitor(cfg, images: torch.Tensor, n_real: int = 1000) -> dict:
    """During training: class entropy and a small-sample FID (vs `n_real` test images) of generated images.

    Only for Fashion-MNIST models while the classifier checkpoint exists; otherwise {}. A small-sample
    FID is biased upwards: compare it across snapshots of one run, not with `evaluate`'s 10k FID.
    """
    if cfg.dataset != "fashion-mnist" or not CLASSIFIER_DIR.is_dir():
        return {}
    from .data import load_dataset

    key = (cfg.data_dir, cfg.image_size, cfg.channels, n_real)
    if key not in _REAL:
        test = load_dataset(cfg.dataset, data_dir=cfg.data_dir, split="test", image_size=cfg.image_size,
                            channels=cfg.channels)
        _REAL[key] = test.images[:n_real]
    net = load_classifier()
    probs = class_probs(images, net)
    return {"class_entropy": round(class_entropy(probs), 4),
            f"fid_{len(images)}": fid_kid(_REAL[key], images, net, kid=False)["fid"]}
