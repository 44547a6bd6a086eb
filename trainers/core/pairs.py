"""Image-to-image data made from Fashion-MNIST, offline (Pix2Pix and CycleGAN), and the users' own layouts.

Paired (A -> B): `edges` (a sketch-like Sobel edge map: dark lines on white, random line thickness and gaps,
so hand-drawn sketches work), `sketches` (the same, each drawn by one of several styles: by default Sobel,
a thick morphological gradient, or the outer contour alone) and `silhouette` (the garment's filled shape, white on black) -> the garment.
Unpaired: two domains of Fashion-MNIST classes (sneakers <-> ankle boots by default), so the shipped
classifier can tell whether a translation reached the other domain. `aligned` / `unaligned` read
junyanz's `A|B` and `trainA/trainB` folders (`core/data.py`).
Items are {"A": (C, H, W), "B": (C, H, W)} in [-1, 1].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .data import FASHION_MNIST_CLASSES, load_dataset
from .errors import UserError
from .images import from_uint8

PAIRINGS = ("edges", "sketches", "silhouette", "aligned")
_SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _conv(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    r = k.shape[-1] // 2
    return F.conv2d(F.pad(x, (r, r, r, r), mode="replicate"), k.to(x))


def _gradient(x01: torch.Tensor) -> torch.Tensor:
    """(d/dx, d/dy) by Sobel's 3x3 derivative kernels: (N, 2, H, W)."""
    return _conv(x01, torch.stack([_SOBEL, _SOBEL.T]).unsqueeze(1))


def sobel(x01: torch.Tensor) -> torch.Tensor:
    """|grad x| by Sobel's 3x3 derivative kernels."""
    return _gradient(x01).pow(2).sum(1, keepdim=True).sqrt()


def morphological_gradient(x01: torch.Tensor) -> torch.Tensor:
    """Dilation minus erosion over 3x3: thick lines on both sides of an edge, like a felt-tip pen."""
    return F.max_pool2d(x01, 3, 1, 1) + F.max_pool2d(-x01, 3, 1, 1)


def roberts(x01: torch.Tensor) -> torch.Tensor:
    """Roberts' cross (1963): the two diagonal differences of each 2x2 block."""
    p = F.pad(x01, (0, 1, 0, 1), mode="replicate")
    return ((p[..., :-1, :-1] - p[..., 1:, 1:]).pow(2) + (p[..., 1:, :-1] - p[..., :-1, 1:]).pow(2)).sqrt()


def _blur(x01: torch.Tensor, sigma: float) -> torch.Tensor:
    """A 5x5 Gaussian blur of standard deviation `sigma` px."""
    t = torch.arange(-2, 3.0)
    g1 = torch.exp(-t ** 2 / (2 * sigma ** 2))
    g1 = g1 / g1.sum()
    return _conv(x01, (g1[:, None] * g1[None]).view(1, 1, 5, 5))


def marr_hildreth(x01: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Marr & Hildreth (1980): the zero crossings of the Laplacian of the Gaussian-blurred image, thin closed
    lines; the response is the Laplacian's jump across the crossing (to its right or below)."""
    lap = _conv(_blur(x01, sigma), torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3))
    p = F.pad(lap, (0, 1, 0, 1), mode="replicate")
    jumps = [torch.where(lap * n < 0, (lap - n).abs(), torch.zeros_like(lap)) for n in (p[..., :-1, 1:], p[..., 1:, :-1])]
    return torch.maximum(*jumps)


def canny(x01: torch.Tensor, low: float = 0.5, high: float = 1.0, sigma: float = 0.8) -> torch.Tensor:
    """Canny (1986): Gaussian blur, Sobel gradient, non-maximum suppression across the edge, then hysteresis
    (weak edges kept where they connect to strong ones). Returns 1 on the (1-px) edges, 0 elsewhere."""
    grad = _gradient(_blur(x01, sigma))
    mag = grad.pow(2).sum(1, keepdim=True).sqrt()
    sector = ((torch.atan2(grad[:, 1:], grad[:, :1]) % math.pi + math.pi / 8) // (math.pi / 4)).long() % 4
    h, w = mag.shape[-2:]
    pad = F.pad(mag, (1, 1, 1, 1))
    keep = torch.zeros_like(mag, dtype=torch.bool)
    for s, (dy, dx) in enumerate(((0, 1), (1, 1), (1, 0), (1, -1))):  # the two neighbours along the gradient
        ahead, behind = pad[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w], pad[..., 1 - dy:1 - dy + h, 1 - dx:1 - dx + w]
        keep |= (sector == s) & (mag >= ahead) & (mag >= behind)
    weak, strong = keep & (mag > low), keep & (mag > high)
    for _ in range(4):
        strong = weak & (F.max_pool2d(strong.float(), 3, 1, 1) > 0)
    return strong.float()


def silhouette(x01: torch.Tensor, threshold: float = 0.05) -> torch.Tensor:
    """The garment's filled shape: 1 where any ink is, 0 elsewhere (holes closed by a 3x3 closing)."""
    mask = (x01 > threshold).float()
    return -F.max_pool2d(-F.max_pool2d(mask, 3, 1, 1), 3, 1, 1)  # dilate, then erode


def outline(x01: torch.Tensor) -> torch.Tensor:
    """Only the garment's outer contour (its silhouette minus the silhouette eroded): what a person draws."""
    s = silhouette(x01)
    return s + F.max_pool2d(-s, 3, 1, 1)


# edge operators -> (response, the threshold above which a pixel is ink). The `sketches` pairing trains on
# TRAINING_STYLES unless told others (pix2pix's --sketch_styles); HELD_OUT_STYLES are for evaluation only, so
# that it measures sketches unlike the training ones.
EDGE_OPERATORS = {"sobel": (sobel, 1.2), "morphological": (morphological_gradient, 0.45),
                  "outline": (outline, 0.5), "marr_hildreth": (marr_hildreth, 0.05),
                  "roberts": (roberts, 0.25), "canny": (canny, 0.5)}
TRAINING_STYLES = ("sobel", "morphological", "outline")
HELD_OUT_STYLES = ("canny", "roberts")


def edge_map(x01: torch.Tensor, gen: torch.Generator | None = None, threshold: float | None = None,
             operator: str | tuple = "sobel") -> torch.Tensor:
    """Garments (N, 1, H, W) in [0, 1] -> sketches in [0, 1]: 0 (ink) where the edge operator's response
    exceeds its threshold (Sobel: a garment's outline against the black background gives about 4 x its
    brightness), 1 (paper) elsewhere. With several operators, each sketch draws one at random (by `gen`).
    With `gen`, each sketch also gets a random line thickness (1 or 2 px) and 0-3 gaps, like a hand drawing."""
    names = (operator,) if isinstance(operator, str) else tuple(operator)
    ink = torch.stack([(EDGE_OPERATORS[o][0](x01) > (threshold or EDGE_OPERATORS[o][1])).float() for o in names])
    if len(names) > 1:
        pick = torch.randint(len(names), (len(x01),), generator=gen)
        ink = ink[pick, torch.arange(len(x01))]
    else:
        ink = ink[0]
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


def sketch(x01: torch.Tensor, pairing: str, gen: torch.Generator | None = None,
           styles: tuple = TRAINING_STYLES) -> torch.Tensor:
    """The A side of a Fashion-MNIST pairing for garments `x01`: `edges` (Sobel), `sketches` (one of
    `styles` each, drawn by `gen`; Sobel without it) or `silhouette`."""
    if pairing == "silhouette":
        return silhouette(x01)
    # without `gen` (a user's garment in the app or the CLI) one style, the same every call: Sobel's edges
    return edge_map(x01, gen, operator="sobel" if pairing == "edges" or gen is None else tuple(styles))


class PairedTensorDataset(Dataset):
    """Precomputed (A, B) pairs held as uint8 tensors. With `redraws` (R, N, C, H, W), other drawings of the
    same A sides, each item's A is one of the 1 + R drawings at random (torch's global generator), so a
    garment is seen in several sketch styles, thicknesses and gaps over the epochs."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor, source: str,
                 redraws: torch.Tensor | None = None):
        self.a, self.b, self.labels, self.source, self.redraws = a, b, labels, source, redraws

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, i: int) -> dict:
        a = self.a[i]
        if self.redraws is not None and (r := int(torch.randint(len(self.redraws) + 1, ()))):
            a = self.redraws[r - 1, i]
        return {"A": from_uint8(a), "B": from_uint8(self.b[i]), "label": self.labels[i]}


def paired(pairing: str, split: str, image_size: int, data_dir: str | None = None, channels: int = 1,
           seed: int = 0, styles: tuple = TRAINING_STYLES, drawings: int = 1) -> Dataset:
    """The A -> B pairs of `pairing` (one of PAIRINGS) for `split`; `sketches` draws each in one of `styles`,
    `drawings` times over (each item then reads one of its drawings at random)."""
    if pairing == "aligned":
        return load_dataset("aligned", data_dir=data_dir, split=split, image_size=image_size, channels=channels)
    if pairing not in PAIRINGS:
        raise UserError(f"pairing must be one of {', '.join(PAIRINGS)}, got {pairing!r}")
    garments = load_dataset("fashion-mnist", data_dir=data_dir, split=split, image_size=image_size, channels=1)
    x01 = garments.images.float() / 255
    gen = torch.Generator().manual_seed(seed + (0 if split == "train" else 1))
    a = torch.stack([torch.cat([sketch(x01[i:i + 5000], pairing, gen, styles) for i in range(0, len(x01), 5000)])
                     for _ in range(max(1, drawings))])
    a = (a * 255).round().to(torch.uint8)
    return PairedTensorDataset(a[0], garments.images, garments.labels, f"{garments.source} ({pairing} -> garment)",
                               a[1:] if len(a) > 1 else None)


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
        return {"A": from_uint8(self.a[i % len(self.a)]),
                "B": from_uint8(self.b[self.perm_b[i % len(self.b)]])}


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
