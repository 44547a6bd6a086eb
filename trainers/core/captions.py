"""Captioned images made from Fashion-MNIST, offline: "a small red sneaker" (CLIP, latent diffusion).

Each garment is tinted in one of `COLOURS` (rgb = intensity x the colour, every colour at full value so
that max over channels gives the garment's intensity back) and drawn `large` (the whole 32x32 frame,
as Fashion-MNIST itself) or `small` (shrunk to `SMALL` px in the centre of a black frame). The colour,
size and caption template of item i are a pure function of (split, i), so the data set is the same on
every machine and every epoch. Captions name class, colour and size in several templates, and some
leave an attribute out ("a red sneaker", "a small bag"), so a prompt that omits one still means
something. Items: {"image": (3, 32, 32) in [-1, 1], "caption": str, "label", "colour", "size", "index": int}
(the index lets a trainer keep per-image results of frozen networks).
"""

from __future__ import annotations

import colorsys
import functools
import re

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .data import load_dataset

IMAGE_SIZE, SMALL = 32, 20
CLASS_WORDS = ("t-shirt", "trousers", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
COLOURS = {  # name: hue in degrees (saturation and value 1)
    "red": 0, "orange": 30, "yellow": 60, "green": 120, "cyan": 180, "blue": 230, "purple": 275, "pink": 320,
}
SIZES = ("small", "large")
# (template, weight): {s} size, {c} colour, {k} class
TEMPLATES = (("a {s} {c} {k}", 6), ("a photo of a {s} {c} {k}", 2), ("a {c} {k}", 1), ("a {s} {k}", 0.5),
             ("{s} {c} {k}", 1), ("a {k}", 0.25))


def colour_rgb(name: str) -> torch.Tensor:
    """The colour's RGB in [0, 1], (3,)."""
    return torch.tensor(colorsys.hsv_to_rgb(COLOURS[name] / 360.0, 1.0, 1.0), dtype=torch.float32)


def caption(label: int, colour: int, size: int, template: str = "a {s} {c} {k}") -> str:
    return template.format(s=SIZES[size], c=list(COLOURS)[colour], k=CLASS_WORDS[label])


def render(gray01: torch.Tensor, colour: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """Garments (N, 1, 32, 32) in [0, 1], colour and size indices (N,) -> RGB (N, 3, 32, 32) in [0, 1]."""
    small = F.interpolate(gray01, size=(SMALL, SMALL), mode="bilinear", antialias=True, align_corners=False)
    pad = (IMAGE_SIZE - SMALL) // 2
    small = F.pad(small, (pad, IMAGE_SIZE - SMALL - pad, pad, IMAGE_SIZE - SMALL - pad))
    g = torch.where((size == SIZES.index("small")).view(-1, 1, 1, 1), small, gray01)
    rgb = torch.stack([colour_rgb(c) for c in COLOURS])[colour]  # (N, 3)
    return g * rgb.view(-1, 3, 1, 1)


def intensity(rgb01: torch.Tensor) -> torch.Tensor:
    """RGB (N, 3, H, W) in [0, 1] -> the garment's grey intensity (N, 1, H, W): the max over channels."""
    return rgb01.amax(1, keepdim=True)


def as_large(gray01: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """Undo `render`'s shrinking: the centre SMALL px of each small image scaled back to the full frame,
    so the Fashion-MNIST classifier sees every garment at the size it was trained on."""
    pad = (IMAGE_SIZE - SMALL) // 2
    crop = gray01[:, :, pad:pad + SMALL, pad:pad + SMALL]
    big = F.interpolate(crop, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    return torch.where((size == SIZES.index("small")).view(-1, 1, 1, 1), big, gray01)


def dominant_colour(rgb01: torch.Tensor) -> torch.Tensor:
    """Index into `COLOURS` of each image's dominant hue (N,): the hue of the intensity-weighted mean
    colour of its bright pixels, matched to the nearest colour on the hue circle."""
    w = (intensity(rgb01) > 0.15).float() * intensity(rgb01)  # garment pixels, brighter ones count more
    mean = (rgb01 * w).sum((2, 3)) / w.sum((2, 3)).clamp_min(1e-6)  # (N, 3)
    hues = torch.tensor([colorsys.rgb_to_hsv(*m.tolist())[0] * 360 for m in mean])
    ref = torch.tensor(list(COLOURS.values()), dtype=torch.float32)
    d = (hues.view(-1, 1) - ref.view(1, -1)).abs()
    return torch.minimum(d, 360 - d).argmin(1)


def measured_size(rgb01: torch.Tensor) -> torch.Tensor:
    """0 (small) or 1 (large) per image (N,): whether anything bright lies outside the centre SMALL px."""
    pad = (IMAGE_SIZE - SMALL) // 2
    bright = intensity(rgb01)[:, 0] > 0.25
    bright[:, pad + 1:pad + SMALL - 1, pad + 1:pad + SMALL - 1] = False
    return (bright.flatten(1).sum(1) > 8).long()


def attributes(n: int, seed: int) -> dict[str, torch.Tensor]:
    """Colour, size and template indices of items 0..n-1, drawn from `seed` alone."""
    g = torch.Generator().manual_seed(seed)
    weights = torch.tensor([w for _, w in TEMPLATES])
    return {"colour": torch.randint(0, len(COLOURS), (n,), generator=g),
            "size": torch.randint(0, len(SIZES), (n,), generator=g),
            "template": torch.multinomial(weights, n, replacement=True, generator=g)}


class CaptionedFashion(Dataset):
    """Fashion-MNIST garments tinted and sized, with their captions (module docstring)."""

    def __init__(self, split: str = "train", data_dir: str | None = None, n: int | None = None):
        base = load_dataset("fashion-mnist", data_dir=data_dir, split=split, image_size=IMAGE_SIZE, channels=1)
        self.gray, self.labels = base.images[:n], base.labels[:n]  # uint8 (N, 1, 32, 32), (N,)
        self.source = base.source
        self.attr = attributes(len(self.gray), seed={"train": 1, "test": 2}[split])

    def __len__(self) -> int:
        return len(self.gray)

    def captions(self, i: int) -> str:
        label, colour, size = int(self.labels[i]), int(self.attr["colour"][i]), int(self.attr["size"][i])
        return caption(label, colour, size, TEMPLATES[int(self.attr["template"][i])][0])

    def images(self, idx: torch.Tensor) -> torch.Tensor:
        """RGB float (len(idx), 3, 32, 32) in [0, 1]."""
        return render(self.gray[idx].float() / 255, self.attr["colour"][idx], self.attr["size"][idx])

    def __getitem__(self, i: int) -> dict:
        idx = torch.tensor([i])
        return {"image": self.images(idx)[0] * 2 - 1, "caption": self.captions(i), "label": self.labels[i],
                "colour": self.attr["colour"][i], "size": self.attr["size"][i], "index": i}


@functools.lru_cache(maxsize=2)
def captioned(split: str, data_dir: str | None = None) -> CaptionedFashion:
    return CaptionedFashion(split, data_dir)


def vocabulary_prompts() -> list[tuple[str, int, int, int]]:
    """Every (prompt, label, colour, size) of the full template: 10 x 8 x 2 = 160 prompts."""
    return [(caption(k, c, s), k, c, s) for k in range(len(CLASS_WORDS)) for c in range(len(COLOURS))
            for s in range(len(SIZES))]


# the words of the captions: a model trained on them has seen no other
VOCABULARY = frozenset({*(w for k in CLASS_WORDS for w in k.split()), *COLOURS, *SIZES,
                        *(w for t, _ in TEMPLATES for w in re.findall(r"[a-z]+", re.sub(r"\{\w\}", "", t)))})


# What an unknown word does, measured on ldm-fashion-captions (30 DDIM steps, w = 3): one before each of the 160
# vocabulary prompts ("a nice small red t-shirt") drew the garment asked for 0.51 of the time instead of 0.84
# ("shiny": 0.44, "zindlewomp": 0.19) and its colour 0.72 / 0.46 / 0.27 instead of 0.98. Said by the tab and the CLI.
UNKNOWN_WORDS_EFFECT = ("words it never saw pull the image off what the rest asks for: with one in front of each of "
                        "its 160 vocabulary prompts (\"a nice small red t-shirt\"), the garment asked for came out "
                        "about half as often (0.44–0.51 against 0.84) and its colour less often too. Leave them out "
                        "to get what you ask for.")


def unknown_words(prompt) -> list[str]:
    """The prompt's words that no caption holds, in order, once each: a model trained on the captions never saw
    them ("a cat wearing a hat" gives garments; one such word before a garment halves how often it is drawn)."""
    words = re.findall(r"[a-z]+(?:-[a-z]+)?", str(prompt or "").lower())
    # "an" is not in the captions either, but an article changes nothing the model draws: not worth a warning
    return list(dict.fromkeys(w for w in words if w not in VOCABULARY and w != "an"))
