"""Image-to-image data made from Fashion-MNIST, offline (Pix2Pix and CycleGAN), and the users' own layouts.

Paired (A -> B): `edges` (a sketch-like edge map: dark lines on white, random line thickness and gaps, so
hand-drawn sketches work) and `silhouette` (the garment's filled shape, white on black) -> the garment.
Unpaired: two domains of Fashion-MNIST classes (sneakers <-> ankle boots by default), so the shipped
classifier can tell whether a translation reached the other domain. `aligned` / `unaligned` read
junyanz's `A|B` and `trainA/trainB` folders (`core/data.py`).
Items are {"A": (C, H, W), "B": (C, H, W)} in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .data import FASHION_MNIST_CLASSES, load_dataset
from .errors import UserError

PAIRINGS = ("edges", "silhouette", "aligned")
_SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def edge_map(x01: torch.Tensor, gen: torch.Generator | None = None, threshold: float = 1.2) -> torch.Tensor:
    """Garments (N, 1, H, W) in [0, 1] -> sketches in [0, 1]: 0 (ink) where the Sobel gradient magnitude
    exceeds `threshold` (a garment's outline against the black background gives about 4 x its brightness),
    1 (paper) elsewhere. With `gen`, each sketch gets a random line thickness (1 or 2 px) and 0-3 gaps,
    like a hand drawing."""
    k = torch.stack([_SOBEL, _SOBEL.T]).unsqueeze(1).to(x01)  # (2, 1, 3, 3): d/dx, d/dy
    g = F.conv2d(F.pad(x01, (1, 1, 1, 1), mode="replicate"), k)
    ink = (g.pow(2).sum(1, keepdim=True).sqrt() > threshold).float()  # (N, 1, H, W)
    if gen is not None:
        n, _, h, w = ink.shape
        thick = torch.rand(n, generator=gen) < 0.5
        ink = torch.where(thick.view(-1, 1, 1, 1), F.max_pool2d(F.pad(ink, (0, 1, 0, 1)), 2, 1), ink)
        for _ in range(3):
            keep = torch.rand(n, generator=gen) < 0.5  # each of three gaps is cut with probability 1/2
            size = torch.randint(2, 6, (n,), generator=gen)
            top, left = torch.randint(0, h - 5, (n,), generator=gen), torch.randint(0, w - 5, (n,), generator=gen)
            ys, xs = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
            box = ((ys >= top.view(-1, 1, 1)) & (ys < (top + size).view(-1, 1, 1))
                   & (xs >= left.view(-1, 1, 1)) & (xs < (left + size).view(-1, 1, 1)) & keep.view(-1, 1, 1))
            ink = ink * (~box).unsqueeze(1).float()
    return 1.0 - ink


def silhouette(x01: torch.Tensor, threshold: float = 0.05) -> torch.Tensor:
    """The garment's filled shape: 1 where any ink is, 0 elsewhere (holes closed by a 3x3 closing)."""
    mask = (x01 > threshold).float()
    return -F.max_pool2d(-F.max_pool2d(mask, 3, 1, 1), 3, 1, 1)  # dilate, then erode


class PairedTensorDataset(Dataset):
    """Precomputed (A, B) pairs held as uint8 tensors."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor, source: str):
        self.a, self.b, self.labels, self.source = a, b, labels, source

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> dict:
        return {"A": self.a[i].float() / 127.5 - 1, "B": self.b[i].float() / 127.5 - 1, "label": self.labels[i]}


def paired(pairing: str, split: str, image_size: int, data_dir: str | None = None, channels: int = 1,
           seed: int = 0) -> Dataset:
    """The A -> B pairs of `pairing` (one of PAIRINGS) for `split`."""
    if pairing == "aligned":
        return load_dataset("aligned", data_dir=data_dir, split=split, image_size=image_size, channels=channels)
    if pairing not in PAIRINGS:
        raise UserError(f"pairing must be one of {', '.join(PAIRINGS)}, got {pairing!r}")
    garments = load_dataset("fashion-mnist", data_dir=data_dir, split=split, image_size=image_size, channels=1)
    x01 = garments.images.float() / 255
    gen = torch.Generator().manual_seed(seed + (0 if split == "train" else 1))
    a = torch.cat([edge_map(x01[i:i + 5000], gen) if pairing == "edges" else silhouette(x01[i:i + 5000])
                   for i in range(0, len(x01), 5000)])
    return PairedTensorDataset((a * 255).round().to(torch.uint8), garments.images, garments.labels,
                               f"{garments.source} ({pairing} -> garment)")


class UnpairedClassDataset(Dataset):
    """Domain A = images of some classes, domain B = images of others; B is drawn by a fixed permutation."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes_a, classes_b, seed: int, source: str):
        in_a, in_b = torch.isin(labels, torch.tensor(classes_a)), torch.isin(labels, torch.tensor(classes_b))
        self.a, self.b = images[in_a], images[in_b]
        if not len(self.a) or not len(self.b):
            raise UserError(f"no images of classes {classes_a} or {classes_b}")
        self.perm_b = torch.randperm(len(self.b), generator=torch.Generator().manual_seed(seed))
        self.source = source

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, i: int) -> dict:
        return {"A": self.a[i % len(self.a)].float() / 127.5 - 1,
                "B": self.b[self.perm_b[i % len(self.b)]].float() / 127.5 - 1}


def class_ids(names: str) -> list[int]:
    """'Sneaker' or 'Sneaker+Sandal' -> class indices of Fashion-MNIST."""
    out = []
    for name in names.split("+"):
        if name not in FASHION_MNIST_CLASSES:
            raise UserError(f"unknown Fashion-MNIST class {name!r}; choose from {', '.join(FASHION_MNIST_CLASSES)}")
        out.append(FASHION_MNIST_CLASSES.index(name))
    return out


def unpaired(domain_a: str, domain_b: str, split: str, image_size: int, data_dir: str | None = None,
             channels: int = 1, seed: int = 0) -> Dataset:
    """Unpaired domains: Fashion-MNIST classes (`domain_a`/`domain_b` are class names joined by '+'),
    or junyanz's trainA/trainB under `data_dir` when both domains are 'folder'."""
    if domain_a == domain_b == "folder":
        return load_dataset("unaligned", data_dir=data_dir, split=split, image_size=image_size, channels=channels)
    a, b = class_ids(domain_a), class_ids(domain_b)
    if set(a) & set(b):
        raise UserError("the two domains share a class")
    ds = load_dataset("fashion-mnist", data_dir=data_dir, split=split, image_size=image_size, channels=1)
    return UnpairedClassDataset(ds.images, ds.labels, a, b, seed, f"{ds.source} ({domain_a} <-> {domain_b})")
