"""The lessons' live views. Each runs the shipped models through the tabs' own functions on a few settings and
returns what the learner sees (an image and a caption) and the facts it measured on that run: a step's
question is checked against those facts, so the answer is what the model just did, not a line of text.

A view declares its settings (`Param`: a slider, a choice or a text) and its facts with their possible values
(the question's choices). A lesson file names the view, its settings and the fact its question asks about;
`playground.lessons` checks those names when it reads the file.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from typing import Callable

import numpy as np
import torch

from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.checkpoint import read_card
from trainers.core.errors import UserError
from trainers.core.images import grid, strip, to_uint8, upscale

from .errors import choice, number
from .models import ModelStore
from .uploads import EXAMPLES, shipped_image
from .views import GRID_WIDTH, font_at, frames_view, titled_strip

CLASSES = tuple(FASHION_MNIST_CLASSES)
YES_NO = ("yes", "no")


@dataclasses.dataclass(frozen=True)
class Param:
    """One setting of a view: kind 'slider' (lo..hi by step), 'choice' (one of choices) or 'text'."""
    kind: str
    label: str
    default: object
    lo: float = 0.0
    hi: float = 1.0
    step: float = 1.0
    choices: tuple = ()

    def parse(self, value):
        """A value from a lesson file, a link or a control -> the view's value, or a UserError naming it."""
        if self.kind == "slider":
            v = number(self.label, value, self.lo, self.hi)
            return int(round(v)) if float(self.step).is_integer() and float(self.lo).is_integer() else float(v)
        if self.kind == "choice":
            return choice(self.label, str(value), list(self.choices))
        from .text2image import MAX_PROMPT_CHARS  # a lesson's texts are prompts: the tabs' limit

        text = str(value).strip()
        if not text or len(text) > MAX_PROMPT_CHARS:
            raise UserError(f"{self.label}: give a text of 1 to {MAX_PROMPT_CHARS} characters")
        return text


@dataclasses.dataclass(frozen=True)
class Shown:
    image: np.ndarray
    caption: str
    facts: dict  # fact name -> one of the view's declared values


@dataclasses.dataclass(frozen=True)
class View:
    name: str
    about: str
    params: dict  # name -> Param
    facts: dict  # name -> its possible values
    run: Callable  # (store, **settings) -> Shown

    def settings(self, given: dict) -> dict:
        """Defaults overridden by `given` (a lesson's step, a link), each checked; unknown names refused."""
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            raise UserError(f"view {self.name!r} has no setting {unknown[0]!r} (it has: {', '.join(self.params)})")
        return {k: p.parse(given.get(k, p.default)) for k, p in self.params.items()}

    def __call__(self, store: ModelStore, given: dict) -> Shown:
        settings = self.settings(given)
        return _shown(self.name, store, tuple(sorted(settings.items())), _versions(store))


def _versions(store: ModelStore) -> tuple:
    """The checkpoints' versions: a retrained model is not served from the cache of the one before."""
    return tuple((name, store.version(name)) for name in store.names())


@functools.lru_cache(maxsize=256)
def _shown(name: str, store: ModelStore, settings: tuple, versions: tuple) -> Shown:
    """A view's run, kept: the views are deterministic (seeded), so a step opened again, or by another learner,
    is served at once (the app computes every step's own settings in the background at start-up)."""
    view = VIEWS[name]
    shown = view.run(store, **dict(settings))
    for k, v in shown.facts.items():  # a view that measures outside its declared values is a bug here
        assert v in view.facts[k], (view.name, k, v)
    return shown


VIEWS: dict[str, View] = {}


def view(name: str, about: str, params: dict, facts: dict):
    def register(fn):
        VIEWS[name] = View(name, about, params, facts, fn)
        return fn
    return register


# ---- shared measurements -------------------------------------------------------------------------------------

def example(name: str) -> np.ndarray:
    """The shipped example image (a Fashion-MNIST test image) of a class, as RGB."""
    k = CLASSES.index(name)
    path = next(EXAMPLES.glob(f"{k}-*.png"))
    return np.asarray(shipped_image(str(path)).convert("RGB"))


def reads(store: ModelStore, images: torch.Tensor) -> list[str]:
    """The shipped classifier's reading of uint8 (N, C, H, W) images (grey intensity, resized to 32 px)."""
    from trainers.core.metrics import class_probs

    judges = store.names("classifier")
    if not judges:
        raise UserError("this lesson needs the shipped classifier checkpoint (fashion-classifier)")
    net = store.get(judges[0], family="classifier").modules["net"]
    return [CLASSES[int(k)] for k in class_probs(images, net).argmax(1)]


def agreement(labels: list[str], wanted: str) -> tuple[float, str]:
    """(the share of `labels` that are `wanted`, what the others were read as: " (the others: 3 Sandal, 1 Bag)",
    most first; "" when all agree). A "0%" alone does not say whether the model drew another garment or nothing."""
    share = float(np.mean([c == wanted for c in labels])) if labels else 0.0
    others = collections.Counter(c for c in labels if c != wanted).most_common()
    if not others:
        return share, ""
    return share, " (the " + ("others" if share else "classifier reads") + ": " + ", ".join(
        f"{k} {name}" for name, k in others) + ")"


def garment_named(prompt) -> list[str]:
    """The one class a prompt names, as [class] (a UserError otherwise), by the captions' words, each matched as a
    whole word: "shirt" inside "t-shirt" counted as a second garment, and "a red t-shirt" was refused."""
    from trainers.core import captions

    from .text2image import garment_words

    named = [CLASSES[captions.CLASS_WORDS.index(word)] for word in garment_words(prompt)]
    if len(named) != 1:
        raise UserError("name one garment in the prompt, in these words: " + ", ".join(captions.CLASS_WORDS))
    return named


def classes_covered(labels: list[str]) -> int:
    return len(set(labels))


def share_bucket(share: float) -> str:
    return "under half" if share < 0.5 else "half to 90%" if share < 0.9 else "over 90%"


SHARES = ("under half", "half to 90%", "over 90%")


def largest_jump(frames: torch.Tensor) -> float:
    """The largest mean-absolute change between consecutive frames, as a share of the whole walk's change."""
    x = frames.float() / 255
    steps = (x[1:] - x[:-1]).abs().flatten(1).mean(1)
    return float(steps.max() / steps.sum().clamp_min(1e-8))


def _stack(rows: list[np.ndarray], gap: int = 10) -> np.ndarray:
    """Images (H, W, 3) one above the other on white, left-aligned."""
    w = max(r.shape[1] for r in rows)
    out = []
    for r in rows:
        out += [np.pad(r, ((0, 0), (0, w - r.shape[1]), (0, 0)), constant_values=255),
                np.full((gap, w, 3), 255, np.uint8)]
    return np.concatenate(out[:-1])


def _big(images: torch.Tensor, nrow: int = 8) -> np.ndarray:
    return upscale(grid(images, nrow=min(nrow, len(images))), 3)


# ---- 1. autoencoders -----------------------------------------------------------------------------------------

@view("ae_denoise", "a denoising autoencoder cleans a noisy garment",
      {"garment": Param("choice", "garment", "Sneaker", choices=CLASSES),
       "noise": Param("slider", "noise std", 0.3, 0.0, 0.9, 0.05)},
      {"same_class": YES_NO})
def ae_denoise(store, garment, noise):
    from . import vae

    noisy, clean = vae.denoise(store, "dae-conv32-fashion", example(garment), noise, 0)
    seen = reads(store, torch.from_numpy(clean).permute(2, 0, 1).unsqueeze(0).contiguous())[0]
    image = titled_strip([noisy, clean], [f"input + noise (std {noise:g})", "the autoencoder's output"])
    return Shown(image, f"The classifier reads the output as **{seen}** (the input was a {garment}).",
                 {"same_class": "yes" if seen == garment else "no"})


SAME = "about the same (within 10%)"  # an answer to "whose in-between frames are closer to real garments?"


@view("ae_vs_vae_walk", "the same two garments interpolated in a plain autoencoder's and a VAE's latent space",
      {"from": Param("choice", "from", "Sneaker", choices=CLASSES),
       "to": Param("choice", "to", "Trouser", choices=CLASSES)},
      {"closer_to_real": ("the autoencoder", "the VAE", SAME)})
def ae_vs_vae_walk(store, **ends):
    from . import vae

    a, b = example(ends["from"]), example(ends["to"])
    walks = {who: vae.walk(store.get(name, "vae"), a, b, 8, "lerp")
             for who, name in (("the autoencoder", "ae-conv16-fashion"), ("the VAE", "vae-conv16-fashion"))}
    far = {who: nearest_real(w[1:-1]) for who, w in walks.items()}
    # the titles name the rows only: the measured distances are the answer, shown with the check (caption)
    rows = [titled_strip([frames_view(w, per_row=6, width=GRID_WIDTH)], [who]) for who, w in walks.items()]
    # within 10% of each other the two rows look alike, as the step's try says of a bag and a boot (3.10 against
    # 2.91): a walk that answered by eye was told "Not this time" on a 6% difference
    closer = SAME if max(far.values()) <= 1.1 * min(far.values()) else min(far, key=far.get)
    said = ("the two are within 10% of each other: about the same" if closer == SAME else
            f"the in-between frames of {closer} are closer to real garments")
    return Shown(_stack(rows), f"{ends['from']} → {ends['to']}, 8 frames on a straight line between the two codes. "
                 "Each in-between frame's pixel distance (L2 over the 32×32 pixels in [0, 1]) to the nearest of 2000 "
                 f"real test garments, averaged: **{far['the autoencoder']:.2f}** for the autoencoder, "
                 f"**{far['the VAE']:.2f}** for the VAE; {said}.", {"closer_to_real": closer})


def nearest_real(frames: torch.Tensor) -> float:
    """Mean over frames (uint8 (N, 1, S, S)) of the L2 distance to the nearest of the 2000 shipped test garments."""
    from . import vae

    images, _ = vae.test_images()
    size = frames.shape[-1]
    real = torch.nn.functional.interpolate(torch.from_numpy(images).float().unsqueeze(1), size=size, mode="bilinear",
                                           antialias=True) / 255
    return float(torch.cdist(frames.float().flatten(1) / 255, real.flatten(1)).min(1).values.mean())


# ---- 2. the VAE ----------------------------------------------------------------------------------------------

@view("vae_map", "a point of the 2-D VAE's latent plane, decoded",
      {"z1": Param("slider", "z1", 0.0, -5.0, 5.0, 0.1), "z2": Param("slider", "z2", 0.0, -5.0, 5.0, 0.1)},
      {"class_there": CLASSES})
def vae_map(store, z1, z2):
    from . import vae
    from trainers.vae.train import decode

    model, _, r = vae._map(store, "vae-2d-fashion")
    px, py = [(v + r) / (2 * r) * (vae.MAP_PX - 1) for v in (z1, -z2)]
    marked = vae.mark_point(vae.latent_map(store, "vae-2d-fashion")[0], px, py)
    x = decode(model.modules, torch.tensor([[float(z1), float(z2)]]))
    seen = reads(store, x)[0]
    image = titled_strip([marked, upscale(strip(x, padding=0), 8)], ["test images' codes, coloured by class",
                                                                       f"decoded at z = ({z1:g}, {z2:g})"])
    return Shown(image, f"The classifier reads the decoded garment as **{seen}**.", {"class_there": seen})


@view("prior_decoded", "the same z ~ N(0, I) decoded by a plain autoencoder and by a VAE",
      {"seed": Param("slider", "seed", 0, 0, 999, 1)},
      {"more_garments": ("the autoencoder", "the VAE")})
def prior_decoded(store, seed):
    from trainers.vae.train import decode

    from . import vae

    images, _ = vae.test_images()
    brightness = torch.from_numpy(images).float().flatten(1).mean(1) / 255
    lo, hi = float(brightness.quantile(0.05)), float(brightness.quantile(0.95))
    out, share = [], {}
    for who, name in (("the autoencoder", "ae-conv16-fashion"), ("the VAE", "vae-conv16-fashion")):
        model = store.get(name, "vae")
        z = torch.randn(16, model.cfg.latent_dim, generator=torch.Generator().manual_seed(seed))
        x = decode(model.modules, z)
        mean = x.float().flatten(1).mean(1) / 255
        share[who] = float(((mean >= lo) & (mean <= hi)).float().mean())
        out.append(titled_strip([_big(x)], [who]))
    best = max(share, key=share.get)
    return Shown(_stack(out), f"16 codes z ~ N(0, I), seed {seed}. A decoding counts as garment-like when its mean "
                 f"brightness lies where 90% of real test garments' do ({lo:.2f} to {hi:.2f}): "
                 f"**{share['the autoencoder']:.0%}** of the autoencoder's, **{share['the VAE']:.0%}** of the VAE's.",
                 {"more_garments": best})


# ---- 3-6. GANs -----------------------------------------------------------------------------------------------

def _gan_samples(store, name: str, n: int, seed: int, label=None, truncation: float = 1.0) -> torch.Tensor:
    from trainers.gan.train import sample

    model = store.get(name, family="gan")
    return sample(model.cfg, model.modules, n, torch.Generator().manual_seed(seed), label=label,
                  truncation=truncation)["images"]


@view("gan_2d", "a tiny GAN learning a ring of eight Gaussians in 2-D",
      {"loss": Param("choice", "loss", "non-saturating", choices=("non-saturating", "minimax")),
       "steps": Param("slider", "training steps", 300, 0, 1500, 50)},
      {"modes": ("0-3", "4-6", "7-8")})
def gan_2d(store, loss, steps):
    from trainers.gan import toy2d

    from . import lab

    game = _trained_2d(loss, steps)
    fake = game.generated()
    modes = game.metrics(fake)["modes_covered"]
    bucket = "0-3" if modes <= 3 else "4-6" if modes <= 6 else "7-8"
    # every one of the samples the measure counts drawn (Train live draws 300 of them, for its frame rate): with
    # 300 of 512 drawn, a circle the measure counts (10 samples) showed about 6 purple points
    counts = toy2d.ring_counts(fake).tolist()
    return Shown(titled_strip([lab.mode_circles(lab.render_plane(game, shown=None), counts)],
                              [f"after {steps} steps ({loss})"]),
                 "Green dots: real data; purple: G(z); the background is D's score (blue: fake, orange: real); "
                 "purple lines: where G's loss pushes each sample; the number beside each circle: G's samples in "
                 f"it. **{modes} of 8** circles hold at least 2% of G's 512 samples (11 or more).", {"modes": bucket})


_LABS: dict = {}  # (loss, steps) -> a trained 2-D lab: a longer run continues the longest shorter one


def _trained_2d(loss: str, steps: int):
    import copy

    from trainers.gan import toy2d

    key = (loss, steps)
    if key not in _LABS:
        done = [s for (l_, s) in _LABS if l_ == loss and s < steps]
        game = copy.deepcopy(_LABS[(loss, max(done))]) if done else toy2d.Lab(toy2d.LabConfig(target="ring", loss=loss))
        game.run(steps - game.step_count)
        if len(_LABS) > 64:
            _LABS.clear()
        _LABS[key] = game
    return _LABS[key]


@view("gan_samples", "samples of a DCGAN trained on Fashion-MNIST",
      {"seed": Param("slider", "seed", 0, 0, 999, 1)},
      {"classes_covered": ("1-5", "6-8", "9-10")})
def gan_samples(store, seed):
    x = _gan_samples(store, "dcgan-ns-fashion", 32, seed)
    labels = reads(store, x)
    k = classes_covered(labels)
    bucket = "1-5" if k <= 5 else "6-8" if k <= 8 else "9-10"
    return Shown(_big(x), f"32 samples, seed {seed}: the classifier finds **{k} of 10** classes among them.",
                 {"classes_covered": bucket})


LOSS_RUNS = {"minimax": "dcgan-minimax-20min-fashion", "non-saturating": "dcgan-ns-20min-fashion",
             "lsgan": "dcgan-lsgan-20min-fashion", "wgan": "dcgan-wgan-20min-fashion",
             "wgan-gp": "dcgan-wgangp-20min-fashion", "hinge": "dcgan-hinge-20min-fashion",
             "dragan": "dcgan-dragan-20min-fashion", "began": "dcgan-began-20min-fashion"}

# why a 20-minute run's samples cover few classes (docs/metrics.md, "the loss table", from the runs' logs and curves):
# a student saw BEGAN's 16 flat grey squares with no word why
FAILED_WHY = {
    "minimax": "the saturating loss: D rejected the early fakes with near certainty, and log(1 − D(G(z))) gave G "
               "almost no gradient (at 9,400 steps too)",
    "began": "its balance variable k_t stayed near 0, so D's autoencoder only learned to rebuild real images and "
             "never pushed back on the fakes: G settled on one image (at 9,400 steps too)",
    "wgan": "weight clipping learns slowly (Gulrajani et al. 2017), and its 5 critic steps per generator step left "
            "it {steps:,} generator steps in 20 minutes",
}
FAILED_BITS = 2.0  # below this, a run's samples cover the classes too unevenly to be called a working GAN


@view("loss_pair", "two losses of the loss table, each trained for the same 20 minutes",
      {"loss_a": Param("choice", "loss A", "minimax", choices=tuple(LOSS_RUNS)),
       "loss_b": Param("choice", "loss B", "non-saturating", choices=tuple(LOSS_RUNS))},
      {"more_classes": ("loss A", "loss B", "the same")})
def loss_pair(store, loss_a, loss_b):
    from trainers.core.metrics import class_entropy, class_probs

    judge = store.get(store.names("classifier")[0], family="classifier").modules["net"]
    rows, bits = [], {}
    for which, loss in (("loss A", loss_a), ("loss B", loss_b)):
        x = _gan_samples(store, LOSS_RUNS[loss], 256, 0)
        bits[which] = class_entropy(class_probs(x, judge)) / np.log(2)
        rows.append(titled_strip([_big(x[:16])], [f"{which}: {loss}"]))
    diff = bits["loss A"] - bits["loss B"]
    more = "the same" if abs(diff) < 0.05 else "loss A" if diff > 0 else "loss B"
    failed = [f" **{loss} fell short in its 20 minutes** ({bits[which]:.2f} bits): "
              + FAILED_WHY[loss].format(steps=int(read_card(store.path(LOSS_RUNS[loss])).get("steps") or 0)) + "."
              for which, loss in (("loss A", loss_a), ("loss B", loss_b)) if bits[which] < FAILED_BITS
              and loss in FAILED_WHY and not (which == "loss B" and loss == loss_a)]
    return Shown(_stack(rows), "16 of 256 samples each; the entropy of the classifier's mean reading of all 256 "
                 "measures how evenly they cover the 10 classes (3.32 bits: all equally): "
                 f"**{bits['loss A']:.2f} bits** for loss A ({loss_a}), **{bits['loss B']:.2f} bits** for loss B "
                 f"({loss_b})." + "".join(failed), {"more_classes": more})


@view("cgan_class", "a conditional GAN asked for one class",
      {"model": Param("choice", "model", "cdcgan-ns-fashion", choices=("cdcgan-ns-fashion", "cdcgan-ac-fashion")),
       "garment": Param("choice", "class", "Dress", choices=CLASSES),
       "seed": Param("slider", "seed", 0, 0, 999, 1)},  # Run again drew the same 32 with no way to draw others
      {"share_right": SHARES})
def cgan_class(store, model, garment, seed):
    x = _gan_samples(store, model, 32, seed, label=CLASSES.index(garment))
    share, rest = agreement(reads(store, x), garment)
    return Shown(_big(x), f"32 samples of {model} (seed {seed}) asked for **{garment}**: the classifier agrees on "
                 f"**{share:.0%}**"
                 f"{rest}.",
                 {"share_right": share_bucket(share)})


@view("truncation", "the StyleGAN mapping network's truncation trick: w = w_avg + psi (w - w_avg)",
      {"psi": Param("slider", "truncation psi", 0.5, 0.1, 1.0, 0.05)},
      {"variety": ("less varied", "about the same", "more varied")})
def truncation(store, psi):
    from trainers.core.metrics import class_entropy, class_probs

    judge = store.get(store.names("classifier")[0], family="classifier").modules["net"]
    rows, bits = [], {}
    for p in (1.0, psi):
        x = _gan_samples(store, "dcgan-mapping-fashion", 256, 0, truncation=p)
        bits[p] = class_entropy(class_probs(x, judge)) / np.log(2)
        rows.append(titled_strip([_big(x[:16])], [f"psi = {p:g}"]))
    diff = bits[psi] - bits[1.0]
    variety = "about the same" if abs(diff) < 0.1 else "more varied" if diff > 0 else "less varied"
    return Shown(_stack(rows), "The same 256 codes z at each ψ; each block shows the first 16 of them. The entropy measures how evenly all "
                 f"256 cover the classes (3.32 bits: all equally): **{bits[1.0]:.2f} bits** at ψ = 1, "
                 f"**{bits[psi]:.2f} bits** at ψ = {psi:g}.", {"variety": variety})


@functools.lru_cache(maxsize=4)
def _path_lengths(store, name: str) -> dict:
    """The model's perceptual path length in Z and in W: its card's (`evaluate`, 2000 walks), the figures the GAN tab
    quotes; else measured here (500 random walks, the shipped judge). Cached per model."""
    from trainers.gan.walk import path_length

    m = read_card(store.root / name).get("metrics", {})
    if "ppl_z" in m and "ppl_w" in m:
        return {"z": float(m["ppl_z"]), "w": float(m["ppl_w"])}

    G = store.get(name, family="gan").modules["G_ema"]
    judge = store.get(store.names("classifier")[0], family="classifier").modules["net"]
    return {space: path_length(G, space, judge, n=500) for space in ("z", "w")}


@view("w_vs_z_walk", "the same two codes walked in Z (a great circle) and in W (a straight line), with each "
      "space's perceptual path length",
      {"seed": Param("slider", "seed of the first garment (the second is seed + 1)", 5, 0, 999, 1)},
      {"smoother": ("Z", "W"), "evener_here": ("Z", "W")})
def w_vs_z_walk(store, seed):
    from trainers.gan import walk

    name = "dcgan-mapping-fashion"
    G = store.get(name, family="gan").modules["G_ema"]
    rows, jumps = [], {}
    for space, path in (("z", "slerp"), ("w", "lerp")):
        # 7 frames of 96 px: the strip fits the live view's column unscaled (10 frames were shrunk to 64 px)
        frames = walk.render(G, walk.walk(walk.seed_codes(G, [seed, seed + 1], space), 7, path), space)
        jumps[space.upper()] = largest_jump(frames)
        # the step sizes are the answer, said with the check: in the titles, the eye had nothing left to judge
        rows.append(titled_strip([upscale(grid(frames, nrow=7), 3)],
                                 [f"in {space.upper()}: " + ("a great circle" if path == "slerp" else "a straight line")]))
    ppl = _path_lengths(store, name)
    smoother = "W" if ppl["w"] < ppl["z"] else "Z"
    return Shown(_stack(rows), f"Your walk in both spaces, 7 frames each. Its largest step is **{jumps['Z']:.0%} of "
                 f"the walk in Z** and **{jumps['W']:.0%} in W**. Over many random walks, the perceptual path length "
                 f"is **{ppl['z']:.0f} in Z** and **{ppl['w']:.0f} in W** (the classifier's features; lower is "
                 "smoother).", {"smoother": smoother, "evener_here": min(jumps, key=jumps.get)})


# ---- 7-8. translation ----------------------------------------------------------------------------------------

@view("pix2pix_outline", "Pix2Pix turns a garment's outline back into a garment",
      {"garment": Param("choice", "garment", "Ankle boot", choices=CLASSES)},
      {"same_class": YES_NO, "mostly_real": YES_NO})
def pix2pix_outline(store, garment):
    from . import translation

    name = "pix2pix-sketches-fashion"
    ran = translation.pix2pix_run(store, name, example(garment), "auto", False, 0, True)
    pair, heat, _ = translation.pix2pix_shown(store, example(garment), True, *ran)
    y, scores = ran[2:]
    seen = translation._read(store, y)
    real = int((scores > 0.5).sum())
    return Shown(titled_strip([pair, heat], ["outline | the generator's garment", "D's patch scores"]),
                 f"The classifier reads the output as **{seen[0]}**; the outline was drawn from a test image of class "
                 f"{garment}. D scores **{real} of its {scores.size} patches** above 0.5, on the real side (mean "
                 f"{scores.mean():.2f}).",
                 {"same_class": "yes" if seen[0] == garment else "no", "mostly_real": YES_NO[real * 2 <= scores.size]})


UNPAIRED = ("cyclegan-sneaker-boot-fashion", "dualgan-sneaker-boot-fashion")


@view("cyclegan_trip", "an unpaired translator's round trip between sneakers and ankle boots (CycleGAN or DualGAN)",
      {"garment": Param("choice", "garment", "Sneaker", choices=("Sneaker", "Ankle boot")),
       "model": Param("choice", "model", UNPAIRED[0], choices=UNPAIRED)},
      {"translated": YES_NO})
def cyclegan_trip(store, garment, model):
    from . import translation

    domain = "A" if garment == "Sneaker" else "B"
    frames, heat, text = translation.cyclegan(store, model, example(garment), domain)
    # "clearly": read as the other class at translation.SURE (80%) or more, as the lesson's question says (a walk
    # was told "Right: no" about a boot read as Sneaker at 65%, under a question that named no threshold)
    return Shown(titled_strip([frames, heat], [f"{model}: x | G(x) | back again | G'(x)", "round-trip error"]), text,
                 {"translated": "yes" if "**Translated**" in text else "no"})


# ---- 9-10. diffusion -----------------------------------------------------------------------------------------

@view("ddpm_forward", "the forward process: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps",
      {"t": Param("slider", "t", 300, 0, 999, 1),
       "schedule": Param("choice", "schedule", "linear", choices=("linear", "cosine"))},
      {"more_of": ("signal", "noise")})
def ddpm_forward(store, t, schedule):
    from . import diffusion

    xt, row, text = diffusion.forward_process(example("Sneaker"), t, schedule)
    alpha_bar = diffusion._schedule(schedule).alpha_bar
    abar = float(alpha_bar[t])
    # the curve the question is read from (a walk saw pure noise at cosine t = 450, where abar_t is 0.57, and had
    # no way to tell from the images alone)
    plot = _curve_at(alpha_bar.numpy(), t, np.asarray(xt).shape[0])
    # short titles (the plot's ran into the row's "t = 0, 50, ..." as one line), and white after the row, whose
    # last tile met the picture's edge and read as cut off
    row = np.pad(np.asarray(row), ((0, 0), (0, 12), (0, 0)), constant_values=255)
    return Shown(titled_strip([xt, plot, row], [f"x_t at t = {t}", f"abar_t ({schedule})", "the same noise at other t"],
                              gap=16),
                 text, {"more_of": "signal" if abar >= 0.5 else "noise"})


def _curve_at(values: np.ndarray, t: int, size: int) -> np.ndarray:
    """A square plot (size px) of values[0..T-1] in [0, 1] against t, a dashed line at 1/2 and a dot at t."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (size, size), "white")
    draw, pad = ImageDraw.Draw(im), 38  # room for 20-px labels: at 13 px they were ~8 px on a 1400-px screen
    span = size - 2 * pad
    x = lambda i: pad + span * i / (len(values) - 1)  # noqa: E731
    y = lambda v: pad + span * (1 - float(v))  # noqa: E731
    draw.rectangle([pad, pad, pad + span, pad + span], outline=(160, 160, 160))
    for k in range(pad, pad + span, 8):  # the 1/2 line, dashed
        draw.line([(k, y(0.5)), (min(k + 4, pad + span), y(0.5))], fill=(120, 120, 120))
    draw.line([(x(i), y(v)) for i, v in enumerate(values)], fill=(76, 120, 168), width=2)
    draw.line([(x(t), pad), (x(t), pad + span)], fill=(245, 133, 24))
    r = 5
    draw.ellipse([x(t) - r, y(values[t]) - r, x(t) + r, y(values[t]) + r], fill=(245, 133, 24))
    font = font_at(20)
    for v in (0, 0.5, 1):
        draw.text((pad - 4, y(v)), f"{v:g}", fill="black", anchor="rm", font=font)
    draw.text((pad, pad + span + 4), "0", fill="black", anchor="lt", font=font)
    draw.text((pad + span, pad + span + 4), str(len(values) - 1), fill="black", anchor="rt", font=font)
    draw.text((pad + span / 2, pad + span + 4), "t", fill="black", anchor="mt", font=font)
    return np.asarray(im)


def _ddpm_run(store, seed: int, steps: int, garment: str, guidance: float, keep: int = 5):
    """(the guesses x̂0 at `keep` steps spread evenly over the run, first and last included, as (t, image); the
    final image). With 50 steps and keep = 5: t = 999, 739, 499, 239, 19 (the middle one halfway)."""
    from trainers.ddpm import train as ddpm_train

    model = store.get("ddpm-fashion", family="ddpm")
    gen = torch.Generator().manual_seed(seed)
    x = ddpm_train.initial_noise(model.cfg, 1, gen)
    y = torch.tensor([CLASSES.index(garment)])
    marks = {min(steps - 1, int(k * steps / max(keep - 1, 1) + 0.5)) for k in range(keep)}
    guesses = []
    for i, t, xt, x0 in ddpm_train.reverse(model.cfg, model.modules, x, gen, y, "ddim", steps, 0.0, guidance):
        if i in marks:
            guesses.append((int(t), to_uint8(x0.clamp(-1, 1))))
    return guesses, to_uint8(xt.clamp(-1, 1))


@view("ddpm_reverse", "the reverse process: the network's guess of x_0 as the noise is taken away",
      {"garment": Param("choice", "class", "Trouser", choices=CLASSES),
       "seed": Param("slider", "seed", 0, 0, 999, 1)},
      {"halfway_same": YES_NO})
def ddpm_reverse(store, garment, seed):
    guesses, final = _ddpm_run(store, seed, 50, garment, 3.0)
    seen = reads(store, torch.cat([g for _, g in guesses] + [final]))
    # the guesses, then the final image the question compares them with (the strip ended at t = 19's guess)
    # at 3x the six fit the lesson's column at 1400 and 800 px unscaled (at 4x the browser shrank their titles)
    tiles = [upscale(strip(g, padding=0), 3) for _, g in guesses] + [upscale(strip(final, padding=0), 3)]
    image = titled_strip(tiles, [f"t = {t}" for t, _ in guesses] + ["final"])
    half = seen[len(guesses) // 2]
    t_half = guesses[len(guesses) // 2][0]
    return Shown(image, f"50 reverse steps, class {garment}. The guess x̂₀ at t = {t_half}"
                 f" reads as **{half}**; the final image as **{seen[-1]}**.",
                 {"halfway_same": "yes" if half == seen[-1] else "no"})


REFERENCE_STEPS, CLOSE = 100, 0.02


@functools.lru_cache(maxsize=16)
def _reference(store, seed: int) -> torch.Tensor:
    return _ddpm_run(store, seed, REFERENCE_STEPS, "Sneaker", 3.0, keep=1)[1]


@view("ddim_steps", f"DDIM: the same x_T with few steps and with {REFERENCE_STEPS}",
      {"steps": Param("slider", "DDIM steps", 10, 2, 100, 1), "seed": Param("slider", "seed", 0, 0, 999, 1)},
      {"close": YES_NO})
def ddim_steps(store, steps, seed):
    _, few = _ddpm_run(store, seed, steps, "Sneaker", 3.0, keep=1)
    many = _reference(store, seed)
    diff = float((few.float() - many.float()).abs().mean() / 255)
    image = titled_strip([upscale(strip(few, padding=0), 6), upscale(strip(many, padding=0), 6)],
                         [f"{steps} steps", f"{REFERENCE_STEPS} steps"])
    return Shown(image, f"Mean absolute difference **{diff:.3f}** (pixels in [0, 1]); under {CLOSE} counts as close.",
                 {"close": "yes" if diff < CLOSE else "no"})


@view("guidance", "classifier-free guidance: eps = eps(x) + w (eps(x, y) - eps(x))",
      {"w": Param("slider", "guidance w", 3.0, 0.0, 6.0, 0.5),
       "garment": Param("choice", "class", "Bag", choices=CLASSES)},
      {"better_than_w0": ("better", "the same", "worse")})
def guidance(store, w, garment):
    from trainers.ddpm import train as ddpm_train

    model = store.get("ddpm-fashion", family="ddpm")
    rows, share, rest = [], {}, {}
    for g in (0.0, w):
        x = ddpm_train.sample(model.cfg, model.modules, 8, torch.Generator().manual_seed(0),
                              label=CLASSES.index(garment), steps=15, guidance=g)["images"]
        share[g], rest[g] = agreement(reads(store, x), garment)
        rows.append(titled_strip([_big(x)], [f"w = {g:g}"]))
    d = share[w] - share[0.0]
    verdict = "the same" if abs(d) < 1 / 16 else "better" if d > 0 else "worse"
    return Shown(_stack(rows), f"8 images each, DDIM 15 steps, the same x_T for both rows. The classifier reads "
                 f"**{share[0.0]:.0%}** as {garment} at w = 0{rest[0.0]}, **{share[w]:.0%}** at w = {w:g}{rest[w]}.",
                 {"better_than_w0": verdict})


# ---- 11-12. CLIP and latent diffusion ------------------------------------------------------------------------

COLOUR_NAMES = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink")


@view("clip_match", "CLIP scores one image against a caption for every garment",
      {"garment": Param("choice", "garment", "Dress", choices=CLASSES),
       "colour": Param("choice", "colour", "red", choices=COLOUR_NAMES)},
      {"best": CLASSES})
def clip_match(store, garment, colour):
    from trainers.core import captions
    from trainers.latent_diffusion.metrics import clip_score

    grey = torch.from_numpy(example(garment)[..., 0].copy()).float()
    grey = torch.nn.functional.interpolate(grey[None, None], size=32, mode="bilinear", antialias=True) / 255
    rgb = captions.render(grey, torch.tensor([list(captions.COLOURS).index(colour)]), torch.tensor([1]))
    image = to_uint8(rgb * 2 - 1)
    texts = [f"a {colour} {w}" for w in captions.CLASS_WORDS]
    clip = store.get(store.names("clip")[0], family="clip")
    scores = clip_score(clip, image.expand(len(texts), -1, -1, -1), texts)
    best = CLASSES[int(scores.argmax())]
    ranked = sorted(zip(captions.CLASS_WORDS, scores.tolist()), key=lambda p: -p[1])
    # as many decimals as part the best two: "shirt 67 · coat 67" read as a tie that marked "coat" wrong
    digits = next((d for d in range(4) if f"{ranked[0][1]:.{d}f}" != f"{ranked[1][1]:.{d}f}"), 3)
    table = " · ".join(f"{word} {s:.{digits}f}" for word, s in ranked[:4])
    return Shown(titled_strip([upscale(strip(image, padding=0), 8)], [f"a {colour} {garment.lower()}"]),
                 f"CLIP scores (100 cos): {table} … The best caption names **{best}**.", {"best": best})


@view("text_to_image", "latent diffusion drawing from a prompt through CLIP's text tower",
      {"prompt": Param("text", "prompt", "a red sneaker"), "w": Param("slider", "guidance w", 4.0, 0.0, 10.0, 0.5)},
      {"share_right": SHARES})
def text_to_image(store, prompt, w):
    from trainers.latent_diffusion.sampling import denoise

    from . import text2image

    named = garment_named(prompt)
    name = "ldm-fashion-captions"
    pipe = text2image.pipeline_for(store, name, None, "ddim")
    prompt = text2image.check_prompt(pipe.tokenizer, prompt)
    for s in denoise(pipe, [prompt] * 8, torch.Generator().manual_seed(0), 20, w,
                     guidance_interval=text2image.guidance_interval_for(store, name, None)):
        images = s.images
    share, rest = agreement(reads(store, images), named[0])
    return Shown(text2image._view(images), f"8 images, DDIM 20 steps, w = {w:g}: the classifier reads **{share:.0%}** "
                 f"of them as {named[0]}{rest}.", {"share_right": share_bucket(share)})


def _unclip(store: ModelStore, family: str) -> str:
    found = store.names(family)
    if not found:
        raise UserError(f"this lesson needs a shipped {family} checkpoint (python -m trainers train {family})")
    return found[0]


@view("unclip_variations", "unCLIP's decoder: a garment's CLIP image embedding decoded from new noise",
      {"garment": Param("choice", "garment", "Sneaker", choices=CLASSES),
       "colour": Param("choice", "colour", "blue", choices=COLOUR_NAMES)},
      {"kept": SHARES})
def unclip_variations(store, garment, colour):
    from PIL import Image

    from . import unclip

    x, made, spread, cos = unclip.make_variations(store, _unclip(store, "unclip_decoder"), Image.fromarray(example(garment)),
                                                  colour, "large", 0, 8, 3.0, 30)
    share, rest = agreement(reads(store, made), garment)
    view = titled_strip([upscale(strip(x, padding=0), 3), _big(made, 4)], ["the image", "8 variations of it"], gap=16)
    return Shown(view, f"The classifier reads **{share:.0%}** of the variations as {garment}{rest}; their mean pairwise "
                 f"distance is {spread:.2f} (RMS, pixels in [-1, 1]) and their embeddings sit at cosine {cos:.2f} to "
                 "the image's.",
                 {"kept": share_bucket(share)})


@view("unclip_prior", "unCLIP's prior and decoder on a prompt, beside the text embedding decoded without a prior",
      {"prompt": Param("text", "prompt", "a red sneaker")},
      {"share_right": SHARES})
def unclip_prior(store, prompt):
    from trainers.core import captions

    from . import unclip

    named = garment_named(prompt)
    with_prior, without, _ = unclip.through_prior(store, _unclip(store, "unclip_decoder"), _unclip(store, "unclip_prior"),
                                                  prompt, 0, 8, 3.0, 30)
    def judged(x: torch.Tensor) -> torch.Tensor:  # a small garment scaled back to the frame, as `evaluate` reads it
        if "small" not in str(prompt).lower().split():
            return x
        grey = captions.intensity(x.float() / 255)
        return to_uint8(captions.as_large(grey, torch.zeros(len(x), dtype=torch.long)) * 2 - 1)

    (share, rest), (share_t, rest_t) = [agreement(reads(store, judged(x)), named[0]) for x in (with_prior, without)]
    view = _stack([titled_strip([_big(with_prior)], ["through the prior"]),
                   titled_strip([_big(without)], ["no prior: the text embedding decoded"])])
    return Shown(view, f"The classifier reads **{share:.0%}** of the prior's images as {named[0]}{rest}, and "
                 f"{share_t:.0%} of those decoded from the text embedding alone{rest_t}.",
                 {"share_right": share_bucket(share)})


# ---- 14. super-resolution ------------------------------------------------------------------------------------

METHODS = ("bicubic", "SRResNet", "SRGAN", "ILVR", "SR3")


def detail(images: torch.Tensor) -> float:
    """Fine detail: the mean size of the differences between neighbouring pixels (the anisotropic total variation
    per pixel, Rudin, Osher & Fatemi 1992): a blur has less than the original, invented noise more."""
    x = images.float() / 255
    return float((x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


@view("superres", "a garment shrunk 4x or 2x and brought back by bicubic, SRResNet, SRGAN and diffusion (ILVR, SR3)",
      {"garment": Param("choice", "garment", "Sneaker", choices=CLASSES),
       "factor": Param("choice", "upscaling factor", "×4: 8 → 32 px", choices=("×4: 8 → 32 px", "×2: 16 → 32 px"))},
      {"closest": METHODS, "most_detail": METHODS})
def superres(store, garment, factor):
    from PIL import Image

    from trainers.core.metrics import psnr

    from . import upscale as U

    _, lr, hr, outputs = U.upscaled(store, Image.fromarray(example(garment)), factor, 0)
    named = {name.split()[0]: out for name, out in outputs}
    # SR3 is trained for one factor (sr3-x4-fashion: x4): at x2 the lesson compares the four others, and says so
    # (it refused x2 with a toast, though its own "Try this" asks for x2)
    methods = [m for m in METHODS if m in named]
    if set(METHODS[:4]) - set(named):
        raise UserError("this lesson needs a SRResNet, a SRGAN and a DDPM of the same size for the factor; "
                        f"found {', '.join(named)}")
    scores = {m: psnr(named[m], hr) for m in methods}
    # detail closest to the original's: too little is a blur, too much is noise
    edges = {m: abs(detail(named[m]) - detail(hr)) for m in methods}
    closest, richest = max(scores, key=scores.get), min(edges, key=edges.get)
    # two rows of 128-px tiles: one row of seven was 96 px each, small for judging invented detail
    shown = [("input", lr), *((m, named[m]) for m in methods), ("original", hr)]
    figure = _stack([titled_strip([upscale(strip(x, padding=0), 128 // x.shape[-1]) for _, x in part],
                                  [t for t, _ in part]) for part in (shown[:4], shown[4:])])
    sr3_factors = sorted({U.scale_label(store.get(n, family="sr3").cfg).split(":")[0] for n in store.names("sr3")})
    no_sr3 = "" if "SR3" in named else (f"No SR3 at this factor: the shipped SR3 upscales {' and '.join(sr3_factors)} "
                                        "only, so the other four are compared. " if sr3_factors else
                                        "No SR3 is shipped, so the other four are compared. ")
    return Shown(figure, no_sr3 + "PSNR against the original: "
                 + ", ".join(f"{m} **{scores[m]:.1f} dB**" for m in methods)
                 + f". Fine detail (the mean difference between neighbouring pixels) {detail(hr):.3f} in the original; "
                 + ", ".join(f"{m} {detail(named[m]):.3f}" for m in methods) + ".",
                 {"closest": closest, "most_detail": richest})


@functools.lru_cache(maxsize=1)
def names() -> tuple[str, ...]:
    return tuple(VIEWS)
