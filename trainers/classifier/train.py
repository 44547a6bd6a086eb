"""Classifier family: cross-entropy training of `SmallCNN`; evaluation reports test accuracy and
the data floor (FID/KID of 10k real training images against the test set, in its features)."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from ..core.data import DataConfig, load_dataset
from ..core.errors import UserError
from ..core.images import from_uint8
from .models import MLP, SmallCNN


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    n_classes: int = 10
    arch: str = "cnn"  # cnn (SmallCNN, the shipped judge) | mlp (the second judge)
    width: int = 32
    feature_dim: int = 128
    dropout: float = 0.3
    lr: float = 2e-3
    weight_decay: float = 1e-4
    augment: bool = True  # random horizontal flips and 2-px shifts

    def validate(self) -> None:
        if self.image_size != 32:
            raise UserError("the classifier is built for --image_size=32")
        if self.arch not in ("cnn", "mlp"):
            raise UserError(f"--arch must be cnn or mlp, got {self.arch!r}")


def build(cfg: Config) -> dict:
    cls = SmallCNN if cfg.arch == "cnn" else MLP
    return {"net": cls(cfg.channels, cfg.width, cfg.feature_dim, cfg.n_classes, cfg.dropout)}


def optimizers(cfg: Config, modules: dict) -> dict:
    return {"net": torch.optim.AdamW(modules["net"].parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)}


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a shift of up to 2 px (zero padding = background), per image."""
    b = x.shape[0]
    flip = torch.rand(b, generator=gen, device=x.device) < 0.5
    x = torch.where(flip.view(b, 1, 1, 1), x.flip(-1), x)
    pad = F.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2, b), generator=gen, device=x.device).tolist()
    return torch.stack([pad[i, :, dy[i]:dy[i] + x.shape[2], dx[i]:dx[i] + x.shape[3]] for i in range(b)])


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    x, y = batch["image"], batch["label"]
    if cfg.augment:
        x = _augment(x, gen)
    # cross-entropy: -log softmax(f(x))_y
    loss = F.cross_entropy(modules["net"](x), y)
    opts["net"].zero_grad(set_to_none=True)
    accelerator.backward(loss)
    opts["net"].step()
    return {"loss": loss.detach()}


@torch.no_grad()
def predict(net, images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """float images in [-1, 1] (N, C, 32, 32) -> class probabilities (N, n_classes)."""
    net.eval()
    return torch.cat([F.softmax(net(images[i:i + batch]), dim=1) for i in range(0, len(images), batch)])


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """Eight test images per predicted class, one row per class: what the classifier calls each class."""
    test = load_dataset(cfg.dataset, data_dir=cfg.data_dir, split="test", image_size=32, channels=cfg.channels)
    x = test.images[:2000]
    pred = predict(modules["net"], from_uint8(x)).argmax(1)
    rows = []
    for k in range(cfg.n_classes):
        idx = (pred == k).nonzero().flatten()[:8]
        row = x[idx]
        if len(row) < 8:
            row = torch.cat([row, torch.full((8 - len(row), *x.shape[1:]), 255, dtype=torch.uint8)])
        rows.append(row)
    return torch.cat(rows)


def evaluate(loaded, n: int = 10000, seed: int = 0, **_) -> dict:
    """Test accuracy, and the data floor: FID/KID of `n` real training images vs the test set."""
    from ..core import metrics

    cfg = loaded.cfg
    test = load_dataset(cfg.dataset, data_dir=cfg.data_dir, split="test", image_size=32, channels=cfg.channels)
    train = load_dataset(cfg.dataset, data_dir=cfg.data_dir, split="train", image_size=32, channels=cfg.channels)
    probs = predict(loaded.modules["net"], from_uint8(test.images))
    acc = (probs.argmax(1) == test.labels).float().mean().item()
    idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n]
    floor = metrics.fid_kid(train.images[idx], test.images, loaded.modules["net"])
    return {"test_accuracy": round(acc, 4), "n_test": len(test),
            **{f"data_floor_{k}": v for k, v in floor.items()}, "data_floor_n_real": int(len(idx))}
