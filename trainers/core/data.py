"""Data sources, offline first.

Fashion-MNIST is looked for in this order:
  1. `--data-dir` (the four IDX files, gzipped or not, or torchvision's `FashionMNIST/raw/` layout);
  2. Debian's `dataset-fashion-mnist` package (`/usr/share/datasets/fashion-mnist`);
  3. torchvision's download, for users with a network.
MNIST and CIFAR-10 use `--data-dir`, then torchvision's download. Any folder of images works
(`ImageFolder` when it has class sub-folders, one class otherwise), and so do the two layouts of
junyanz/pytorch-CycleGAN-and-pix2pix: aligned `A|B` side-by-side images in `<root>/<split>/`,
and unaligned `<root>/<split>A/` + `<root>/<split>B/`.

Every dataset yields dicts: `{"image": (C, H, W) float in [-1, 1], "label": int}` for single
images, `{"A": ..., "B": ...}` for the paired and unpaired layouts.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import shutil
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .errors import DataNotFound, UserError
from .images import from_uint8

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
CACHE_DIR = Path(os.environ.get("PLAYGROUND_DATA_CACHE", "~/.cache/generative-playground")).expanduser()
DATASETS = ("fashion-mnist", "mnist", "cifar10", "folder", "aligned", "unaligned")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_IDX = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """The data fields every family's Config starts with (the loop loads the data from them)."""

    dataset: str = "fashion-mnist"  # one of DATASETS
    data_dir: str | None = None
    image_size: int = 32
    channels: int = 1


def class_labels(n_classes: int, n: int, label=None, device="cpu") -> torch.Tensor | None:
    """Labels for sampling n images: None for an unconditional model; `label` repeated; or, with no
    label, the classes 0, 1, ..., n_classes - 1 cycled."""
    if not n_classes:
        if label is not None:
            raise UserError("this model is unconditional: drop --label")
        return None
    if label is None:
        return torch.arange(n, device=device) % n_classes
    if not 0 <= int(label) < n_classes:
        raise UserError(f"--label must be in [0, {n_classes}), got {label}")
    return torch.full((n,), int(label), dtype=torch.long, device=device)


class ImageTensorDataset(Dataset):
    """Images held in memory as uint8 `(N, C, H, W)`; items are scaled to [-1, 1] on the fly."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes, source: str):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        self.images, self.labels, self.classes, self.source = images, labels.long(), tuple(classes), source

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        return {"image": from_uint8(self.images[i]), "label": self.labels[i]}


def _to_uint8_nchw(images: torch.Tensor, image_size: int, channels: int) -> torch.Tensor:
    """(N, H, W) or (N, H, W, C) uint8 -> (N, channels, image_size, image_size) uint8."""
    x = images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2)
    if x.shape[1] == 3 and channels == 1:  # ITU-R 601 luma, as PIL's convert("L")
        w = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        x = (x.float() * w).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    elif x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-1] != image_size or x.shape[-2] != image_size:
        chunks = []
        for part in x.split(8192):
            y = F.interpolate(part.float(), size=(image_size, image_size), mode="bilinear",
                              antialias=True, align_corners=False)
            chunks.append(y.round().clamp(0, 255).to(torch.uint8))
        x = torch.cat(chunks)
    return x.contiguous()


MAX_INPUT_SIDE = 2048  # the largest image side the CLI resizes to a model's size


def fit_images(images: torch.Tensor, image_size: int, channels: int) -> tuple[torch.Tensor, str | None]:
    """uint8 (N, C, H, W) of any size and 1 or 3 channels -> the model's (N, channels, image_size, image_size),
    converted and resized exactly as training converted and resized its data (ITU-R 601 luma, antialiased
    bilinear). Returns the images and a note saying what was done (None when nothing was)."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise UserError(f"images must be (N, H, W) grey or (N, H, W, 3) RGB, got {tuple(images.shape)}")
    n, c, h, w = images.shape
    if not (n and h and w) or max(h, w) > MAX_INPUT_SIDE:
        raise UserError(f"images must be 1 to {MAX_INPUT_SIDE} px a side, got {h}x{w}")
    if (c, h, w) == (channels, image_size, image_size):
        return images, None
    out = _to_uint8_nchw(images.permute(0, 2, 3, 1) if c == 3 else images[:, 0], image_size, channels)
    return out, (f"resized {c}x{h}x{w} to the model's {channels}x{image_size}x{image_size}, as training resized "
                 f"its data (antialiased bilinear{', grey as ITU-R 601 luma' if c != channels else ''})")


def _find_idx_dir(candidates: list[Path], split: str) -> Path | None:
    names = _IDX[split]
    for d in candidates:
        if all((d / n).exists() or (d / (n + ".gz")).exists() for n in names):
            return d
    return None


def _stage_raw(src: Path, cls_name: str) -> Path:
    """Copy (and un-gzip) the IDX files into `<cache>/data/<key>/<cls_name>/raw/`, torchvision's layout, where `key`
    names the source folder and its files' sizes and times. Staged under one name for every source, a copy made
    from another folder (a test's toy bars, a user's other --data-dir) was read as this one's from then on: the
    live lab trained on 256 bars instead of Fashion-MNIST."""
    import hashlib

    files = [src / f for names in _IDX.values() for n in names for f in (n, n + ".gz") if (src / f).exists()]
    stamp = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    key = hashlib.sha1(repr((str(src.resolve()), stamp)).encode()).hexdigest()[:16]
    root = CACHE_DIR / "data" / key
    raw = root / cls_name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for names in _IDX.values():
        for n in names:
            dst = raw / n
            if dst.exists():
                continue
            plain, gz = src / n, src / (n + ".gz")
            tmp = dst.with_name(f".{n}.{os.getpid()}.tmp")
            if plain.exists():
                shutil.copyfile(plain, tmp)
            elif gz.exists():
                with gzip.open(gz, "rb") as fin, open(tmp, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
            else:
                continue
            os.replace(tmp, dst)
    return root


def _mnist_like(name: str, data_dir: str | None, split: str, download: bool):
    import torchvision.datasets as tvd

    cls = {"fashion-mnist": tvd.FashionMNIST, "mnist": tvd.MNIST}[name]
    candidates: list[Path] = []
    if data_dir:
        d = Path(data_dir).expanduser()
        candidates += [d, d / cls.__name__ / "raw"]
    if name == "fashion-mnist":
        candidates.append(DEBIAN_FASHION_MNIST)
    found = _find_idx_dir(candidates, split)
    if found is not None:
        ds = cls(str(_stage_raw(found, cls.__name__)), train=(split == "train"), download=False)
        return ds.data, ds.targets, ds.classes, str(found)
    looked = [str(c) for c in candidates]
    reason = "download disabled"
    if download:
        root = Path(data_dir).expanduser() if data_dir else CACHE_DIR / "data"
        try:
            ds = cls(str(root), train=(split == "train"), download=True)
            return ds.data, ds.targets, ds.classes, f"torchvision download into {root}"
        except Exception as e:  # torchvision raises RuntimeError/URLError/OSError offline
            reason = f"torchvision's download failed ({type(e).__name__}: {str(e).splitlines()[0][:160]})"
    hint = "apt-get install dataset-fashion-mnist, or " if name == "fashion-mnist" else ""
    raise DataNotFound(
        f"{name} ({split}) not found. Looked for {', '.join(_IDX[split])} (optionally .gz) in: "
        f"{', '.join(looked) or '(no --data-dir given)'}; {reason}. "
        f"Fix: {hint}pass --data-dir=DIR holding the IDX files, or run once with a network."
    )


def _cifar10(data_dir: str | None, split: str, download: bool):
    import torchvision.datasets as tvd

    root = Path(data_dir).expanduser() if data_dir else CACHE_DIR / "data"
    try:
        ds = tvd.CIFAR10(str(root), train=(split == "train"), download=False)
        return torch.from_numpy(ds.data), torch.tensor(ds.targets), ds.classes, str(root)
    except RuntimeError:
        pass
    if download:
        try:
            ds = tvd.CIFAR10(str(root), train=(split == "train"), download=True)
            return torch.from_numpy(ds.data), torch.tensor(ds.targets), ds.classes, f"torchvision download into {root}"
        except Exception as e:
            reason = f"torchvision's download failed ({type(e).__name__}: {str(e).splitlines()[0][:160]})"
    else:
        reason = "download disabled"
    raise DataNotFound(
        f"cifar10 ({split}) not found: looked for {root}/cifar-10-batches-py; {reason}. "
        "Fix: pass --data-dir=DIR holding cifar-10-batches-py, or run once with a network."
    )


def _image_files(d: Path) -> list[Path]:
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _pil_to_tensor(img, image_size: int, channels: int, *, crop: bool = True) -> torch.Tensor:
    """PIL image -> (C, image_size, image_size) float in [-1, 1] (resize shorter side, centre crop)."""
    from torchvision.transforms.v2 import functional as TF

    img = img.convert("L" if channels == 1 else "RGB")
    if crop:
        img = TF.center_crop(TF.resize(img, image_size, antialias=True), [image_size, image_size])
    else:
        img = TF.resize(img, [image_size, image_size], antialias=True)
    return TF.to_dtype(TF.pil_to_tensor(img), torch.float32, scale=True) * 2.0 - 1.0


def _open(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise UserError(f"cannot read image {path}: {e}") from None


class FolderDataset(Dataset):
    """A folder of images: class sub-folders (as torchvision's ImageFolder) or one flat folder."""

    def __init__(self, root: Path, image_size: int, channels: int):
        self.image_size, self.channels, self.source = image_size, channels, str(root)
        subdirs = sorted(d for d in root.iterdir() if d.is_dir() and _image_files(d))
        if subdirs:
            from torchvision.datasets import ImageFolder

            folder = ImageFolder(str(root), is_valid_file=lambda p: Path(p).suffix.lower() in IMAGE_EXTENSIONS)
            self.samples = [(Path(p), y) for p, y in folder.samples]
            self.classes = tuple(folder.classes)
        else:
            self.samples = [(p, 0) for p in _image_files(root)]
            self.classes = (root.name,)
        if not self.samples:
            raise DataNotFound(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found in {root} or its sub-folders")

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        path, y = self.samples[i]
        return {"image": _pil_to_tensor(_open(path), self.image_size, self.channels), "label": y}


class AlignedDataset(Dataset):
    """junyanz's aligned layout: each file is A and B side by side (`A|B`), split down the middle."""

    def __init__(self, root: Path, split: str, image_size: int, channels: int):
        d = root / split if (root / split).is_dir() else root
        self.files = _image_files(d) if d.is_dir() else []
        if not self.files:
            raise DataNotFound(f"aligned A|B dataset: no images in {root / split} or {root}")
        self.image_size, self.channels, self.source = image_size, channels, str(d)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        img = _open(self.files[i])
        w, h = img.size
        a, b = img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w, h))
        return {
            "A": _pil_to_tensor(a, self.image_size, self.channels, crop=False),
            "B": _pil_to_tensor(b, self.image_size, self.channels, crop=False),
        }


class UnalignedDataset(Dataset):
    """junyanz's unaligned layout: `<split>A/` and `<split>B/`; B is paired by a fixed permutation."""

    def __init__(self, root: Path, split: str, image_size: int, channels: int, seed: int = 0):
        da, db = root / f"{split}A", root / f"{split}B"
        if not (da.is_dir() and db.is_dir()):
            raise DataNotFound(f"unaligned dataset: expected folders {da} and {db}")
        self.a, self.b = _image_files(da), _image_files(db)
        if not self.a or not self.b:
            raise DataNotFound(f"unaligned dataset: {da} has {len(self.a)} images, {db} has {len(self.b)}")
        self.perm_b = torch.randperm(len(self.b), generator=torch.Generator().manual_seed(seed)).tolist()
        self.image_size, self.channels, self.source = image_size, channels, str(root)

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, i: int) -> dict:
        a = _open(self.a[i % len(self.a)])
        b = _open(self.b[self.perm_b[i % len(self.b)]])
        return {"A": _pil_to_tensor(a, self.image_size, self.channels),
                "B": _pil_to_tensor(b, self.image_size, self.channels)}


def load_dataset(
    name: str,
    *,
    data_dir: str | None = None,
    split: str = "train",
    image_size: int = 32,
    channels: int = 1,
    download: bool = True,
) -> Dataset:
    """Load one of `DATASETS`; raise `DataNotFound` naming every place looked at."""
    if split not in ("train", "test"):
        raise UserError(f"split must be 'train' or 'test', got {split!r}")
    if channels not in (1, 3):
        raise UserError(f"channels must be 1 or 3, got {channels}")
    if name in ("fashion-mnist", "mnist", "cifar10"):
        if name == "cifar10":
            images, labels, classes, source = _cifar10(data_dir, split, download)
        else:
            images, labels, classes, source = _mnist_like(name, data_dir, split, download)
        return ImageTensorDataset(_to_uint8_nchw(images, image_size, channels), labels, classes, source)
    if name in ("folder", "aligned", "unaligned"):
        if not data_dir:
            raise DataNotFound(f"--dataset={name} needs --data-dir=DIR (a folder of images)")
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise DataNotFound(f"--data-dir={data_dir} is not a folder")
        if name == "folder":
            return FolderDataset(root, image_size, channels)
        if name == "aligned":
            return AlignedDataset(root, split, image_size, channels)
        return UnalignedDataset(root, split, image_size, channels)
    raise UserError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
