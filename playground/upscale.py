"""Sub-tab "Upscale" of "Inpaint & upscale": a garment shrunk to 8 or 16 px and brought back to 32 px by bicubic
interpolation and by the shipped super-resolution models (SRResNet: the pixel loss alone; SRGAN: a classifier's
features and a discriminator, trainers/srgan; ILVR: the pixel DDPM steered by the small image, no training; SR3:
a DDPM trained with the small image concatenated, trainers/ddpm/sr3.py), side by side and enlarged, each with its PSNR, its SSIM and what
two judges read in it. Handlers are plain functions (store, image, labels) -> arrays and Markdown."""

from __future__ import annotations

from pathlib import Path

import gradio as gr  # at module level: the gallery handler's gr.SelectData annotation must resolve
import numpy as np
import torch

from trainers.core import metrics
from trainers.core.checkpoint import read_card
from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.errors import UserError
from trainers.core.images import upscale as enlarge
from trainers.ddpm import sr3
from trainers.ddpm.superres import upscale_images
from trainers.srgan import train as S

from .errors import number, user_errors
from .models import ModelStore
from .page import LATEX
from .uploads import check_uploads, example_paths, image_to_grey, shipped_image, unlike_note, usable_image
from .views import titled_strip
from .wiring import TabParts, wire

TILE = 96  # px of each enlarged image: 3x a 32-px output, 12x an 8-px input (six fit the 720-px column at 1400 px)
DIFFUSION_STEPS = 50  # ILVR's and SR3's reverse steps: about a second each for one image on 2 cores
ILVR, SR3 = "ILVR (diffusion, no training)", "SR3 (diffusion, trained)"


def scale_label(cfg) -> str:
    return f"×{cfg.scale}: {cfg.input_size} → {cfg.image_size} px"


def scales(store: ModelStore) -> list[str]:
    """The upscaling factors a shipped model offers, largest first, as the radio shows them."""
    found = {(cfg.scale, scale_label(cfg)) for cfg in (store.get(n, family="srgan").cfg for n in store.names("srgan"))}
    return [label for _, label in sorted(found, reverse=True)]


def method(cfg) -> str:
    """What a super-resolution checkpoint was trained with, in a few words."""
    return "SRGAN" if cfg.lambda_adv else "SRResNet (feature loss)" if cfg.lambda_content else "SRResNet (pixel loss)"


def models_for(store: ModelStore, label: str) -> list[str]:
    """The checkpoints that upscale by the factor `label` names: SRResNet before SRGAN (less to more generative)."""
    names = [n for n in store.names("srgan") if scale_label(store.get(n, family="srgan").cfg) == label]
    if not names:
        raise UserError(f"no super-resolution model upscales {str(label)[:40]!r}; choose one of: "
                        f"{', '.join(scales(store)) or '(none shipped)'}")
    return sorted(names, key=lambda n: bool(store.get(n, family="srgan").cfg.lambda_adv))


def sr3_for(store: ModelStore, label: str) -> list[str]:
    """The SR3 checkpoints that upscale by the factor `label` names."""
    return [n for n in store.names("sr3") if scale_label(store.get(n, family="sr3").cfg) == label]


def example(index: int):
    paths = example_paths()
    if not 0 <= int(index) < len(paths):
        raise UserError(f"example index must be in [0, {len(paths)})")
    return shipped_image(paths[int(index)])


def tile(grey: torch.Tensor) -> np.ndarray:
    """uint8 (1, 1, s, s) -> (TILE, TILE, 3), each pixel a square block, so the pixels themselves are seen."""
    arr = grey[0, 0].numpy()
    return enlarge(np.repeat(arr[..., None], 3, -1), TILE // arr.shape[0])


def _reading(probs: torch.Tensor) -> str:
    p, k = probs.max(0)
    return f"{FASHION_MNIST_CLASSES[int(k)]} {float(p):.0%}"


def diffusion_model(store: ModelStore, cfg) -> str | None:
    """The first DDPM that makes grey images of the upscaled size (ILVR's column), if one is shipped."""
    return next((n for n in store.names("ddpm") if (store.get(n, family="ddpm").cfg.image_size,
                                                    store.get(n, family="ddpm").cfg.channels) == (cfg.image_size, 1)),
                None)


def upscaled(store: ModelStore, image, factor: str, seed: int = 0) -> tuple:
    """An image -> (the models' config, the small image, the original or None, [(method, result)]), all uint8
    (1, 1, H, W): bicubic, each model, then ILVR with a DDPM where one makes images of the output size, then SR3 where
    one upscales by this factor. An image
    larger than the models' input is taken as the original: made grey at the output size, then shrunk as
    training shrank its images. One no larger than the input is taken as the small image itself, with no original
    to measure against. `seed` draws ILVR's and SR3's noise."""
    names = models_for(store, factor)
    models = [store.get(n, family="srgan") for n in names]
    cfg = models[0].cfg
    picture = usable_image(image)
    small = max(picture.size) <= cfg.input_size
    hr = None if small else torch.from_numpy(image_to_grey(picture, cfg.image_size)).view(1, 1, cfg.image_size, -1)
    lr = torch.from_numpy(image_to_grey(picture, cfg.input_size)).view(1, 1, cfg.input_size, -1) if small \
        else S.shrink(cfg, hr)
    outputs = [("bicubic", S.bicubic(cfg, lr))] + [(method(m.cfg), S.translate(m.cfg, m.modules, lr)) for m in models]
    ddpm = diffusion_model(store, cfg)
    if ddpm:
        outputs.append((ILVR, upscale_images(store.get(ddpm, family="ddpm"), lr, cfg.image_size, DIFFUSION_STEPS,
                                             seed)))
    for name in sr3_for(store, factor)[:1]:
        m = store.get(name, family="sr3")
        outputs.append((SR3, sr3.translate(m.cfg, m.modules, lr, steps=DIFFUSION_STEPS, seed=seed)))
    return cfg, lr, hr, outputs


@user_errors
def upscale(store: ModelStore, image, factor: str, seed=0) -> tuple[np.ndarray, str]:
    """An image -> (the strip: small input | bicubic | each model | ILVR with a DDPM | SR3 | original, a Markdown table
    of each method's PSNR and SSIM against the original and both judges' readings); see `upscaled`."""
    seed = number("seed", seed, 0, 2**63 - 1, integer=True)
    cfg, lr, hr, outputs = upscaled(store, image, factor, seed)
    tiles = [tile(lr)] + [tile(out) for _, out in outputs] + ([tile(hr)] if hr is not None else [])
    # the methods' short names over the tiles (the table under them says what each is): long ones shrank every title
    titles = ["input"] + [name.split(" (")[0] for name, _ in outputs] + \
        (["original"] if hr is not None else [])
    strip = titled_strip(tiles, titles)

    judges = {"CNN judge": metrics.load_classifier(store.path("fashion-classifier")),
              "MLP judge": metrics.load_classifier(store.path(S.MLP_JUDGE))}  # in no loss (the CNN's blocks are phi)
    rows = [("original", hr)] if hr is not None else []
    rows += outputs
    head = "| | PSNR | SSIM | " + " | ".join(judges) + " |\n|---|---|---|" + "---|" * len(judges)
    lines = []
    for name, out in rows:
        fidelity = ("—", "—") if hr is None or name == "original" else \
            (f"{metrics.psnr(out, hr):.1f} dB", f"{metrics.ssim(out, hr):.3f}")
        readings = [_reading(metrics.class_probs(out, net)[0]) for net in judges.values()]
        lines.append(f"| **{name}** | {fidelity[0]} | {fidelity[1]} | " + " | ".join(readings) + " |")
    note = (f"The image is no larger than the models' {cfg.input_size}-px input: it was upscaled as it is, so there "
            "is no original to measure against." if hr is None else
            f"The image was made grey at {cfg.image_size} px (the original), shrunk {cfg.scale}x to {cfg.input_size} px "
            "as training shrank its images (the input), and brought back by each method. PSNR and SSIM compare each with the original (higher is "
            "closer); both judges say which garment each looks like. The CNN judge's features are in SRGAN's loss, "
            "the MLP judge's are not.")
    note += (" As in every tab, a picture on a light background is made light on black first, as Fashion-MNIST's "
             "garments are.")
    # a transparent upload scored 100 dB and "Bag 83%" with no word (a walk): the classifier's note
    note = unlike_note((hr if hr is not None else lr)[0, 0].numpy(),
                       "The models and the judges read it as a garment all the same.") + note
    if not any(name == SR3 for name, _ in outputs):  # a walk at x2 looked for the SR3 tile and found no word why
        note += (f" No SR3 tile: no SR3 model for ×{cfg.scale} is shipped "
                 f"(`python -m trainers train sr3 --scale {cfg.scale}` trains one).")
    return strip, note + "\n\n" + head + "\n" + "\n".join(lines)


def input_label(store: ModelStore, factor: str | None) -> str:
    """The image box's name, with the size below which an upload is enlarged as it is at this factor: a walk gave a
    16-px image at ×4, "a small image to enlarge", and saw it taken as an original and shrunk to 8 px."""
    if not factor or factor not in scales(store):
        return "the original (or a small image to enlarge)"
    cfg = store.get(models_for(store, factor)[0], family="srgan").cfg
    # one line: on two, the box's fixed height cut the image's foot off at 1400 px
    return f"the original (or ≤ {cfg.input_size} px: enlarged as it is)"


def stale() -> tuple[None, str]:
    """What the strip and its table show once the image or the factor changed: nothing, until Upscale is pressed."""
    return None, "*Press **Upscale** for this image and factor.*"


def held_out(store: ModelStore) -> str:
    """Each model's held-out numbers from its card (written by `python -m trainers evaluate`): per factor, bicubic,
    each model (SRResNet before SRGAN), ILVR and SR3, in the order of the strip. Bicubic and ILVR are scored by every
    model's evaluation on the same images; the first card that has them gives their row."""
    lines = ["| method | PSNR (dB) | SSIM | FID | class right (MLP judge) |", "|---|---|---|---|---|"]
    real, n = None, None
    for label in scales(store):
        names = models_for(store, label)
        cards = {name: read_card(store.path(name)).get("metrics", {}) for name in names}
        scored = [m for m in cards.values() if "model_psnr_db" in m]
        rows = [("bicubic", f"bicubic {label}", next((m for m in scored), None))]
        rows += [("model", f"{method(store.get(name, family='srgan').cfg)} `{name}`", cards[name]) for name in names]
        rows.append(("ilvr", f"ILVR {label}", next((m for m in scored if "ilvr_psnr_db" in m), None)))
        rows += [("model", f"SR3 `{name}`", read_card(store.path(name)).get("metrics", {}))
                 for name in sr3_for(store, label)]
        for key, shown, m in rows:
            if m is None or f"{key}_psnr_db" not in m:
                if key == "model":
                    lines.append(f"| {shown} | (no held-out metrics in its card: run `python -m trainers evaluate "
                                 f"checkpoints/{shown.split('`')[1]}`) | | | |")
                continue
            real, n = m.get("real_class_accuracy_mlp", real), m.get("n_test", n)
            lines.append(f"| {shown} | {m[f'{key}_psnr_db']:.2f} | {m[f'{key}_ssim']:.3f} | {m[f'{key}_fid']:.2f} | "
                         f"{m[f'{key}_class_accuracy_mlp']:.1%} |")
    where = f"On {n} held-out test garments" if n else "On the held-out test garments"
    return (f"{where}, each shrunk and brought back" + (f"; the MLP judge reads the originals right {real:.1%} of "
                                                         "the time" if real else "") + ":\n\n" + "\n".join(lines))


EXPLANATION = r"""
**Super-resolution: one small image, five answers.** The small image $I^{LR}$ is the original $I^{HR}$ shrunk $r$ times. Many originals shrink to the same small image, so bringing one back is a guess.

**Bicubic** interpolation weighs each 4×4 neighbourhood by a cubic kernel (Keys 1981, here with $a = -0.75$ as torch and OpenCV use): smooth, never invents detail.

**SRResNet** is a network $G$ trained on the pixel loss alone (Ledig et al. 2017, eq. 4):
$$l_{MSE} = \frac{1}{r^2WH}\sum_{x,y}\big(I^{HR}_{x,y} - G(I^{LR})_{x,y}\big)^2 .$$
Its best guess is the *average* of the originals that fit, so it scores well on PSNR and looks soft.

**SRGAN** trades some of that for detail a viewer expects (eq. 3, 5, 6):
$$l^{SR} = l_X + \lambda\, l_{Gen},\qquad l_{Gen} = -\log D(G(I^{LR})),$$
$$l_X = l_{MSE} + \big\|\phi(I^{HR}) - \phi(G(I^{LR}))\big\|^2 .$$
$\phi$ are a network's feature maps (the paper's VGG; here the shipped classifier's first two blocks, since no VGG weights exist offline), and the discriminator $D$ tells real originals from upscaled ones. The generator sees only the small image and adds pixels with sub-pixel convolutions (a convolution to $4C$ channels, then a pixel shuffle to twice the side).

**Diffusion (ILVR**, Choi et al. 2021, eq. 7) needs no training for this: the shipped DDPM denoises as usual, and after each step the low frequencies of its $x_{t-1}$ are swapped for those of the small image, noised to the same step:
$$x_{t-1} = \phi_N(y_{t-1}) + x'_{t-1} - \phi_N(x'_{t-1}),$$
$$\phi_N = \text{enlarge}\circ\text{shrink},\qquad y_{t-1}\sim q(y_{t-1}\mid y).$$
The model invents only what shrinking threw away, so each seed gives another garment that shrinks to the same small image.

**Diffusion (SR3**, Saharia et al. 2021, eq. 6) is trained for it: a DDPM whose U-Net sees the small image, enlarged by bicubic interpolation, concatenated with $x_t$ along the channels,
$$\min_\theta\ \mathbb{E}\,\big\|\epsilon - \epsilon_\theta\big([x_t,\ \text{bicubic}(I^{LR})],\ t\big)\big\|^2 .$$
Ours started from the shipped DDPM with the new input channels at zero, so it began as that DDPM and learned to look at the condition. The notes' rule: an image condition is concatenated, a class or text goes through cross-attention.

**The trade-off** (Blau & Michaeli 2018): PSNR and SSIM reward the average, FID and a judge's reading reward looking like a real garment; no method wins both.
"""


def build(store: ModelStore, parts: TabParts) -> None:
    """The sub-tab's controls, wired into the enclosing tab's `parts`."""
    offered = scales(store)
    first = offered[0] if offered else None
    start = example(7)  # a sneaker: its sole's lines are what 8 px loses
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("### Upscale: bring a shrunk garment back\n**Try first:** press *Upscale* (a sneaker shrunk "
                        "to 8 px), then pick another garment or choose ×2; compare the PSNR column with what you see.")
            picks = gr.Gallery([(example(i), FASHION_MNIST_CLASSES[int(Path(p).stem.split("-", 1)[0])])
                                for i, p in enumerate(example_paths())],
                               columns=5, height=335, label="click a garment", allow_preview=False,
                               elem_classes="picker")
            with gr.Row():
                # PNG both ways and the upload's own mode: the default WebP changed a garment's pixels on its way back
                # (the same settings gave 21.6 dB at the opening and 21.5 after a press), and RGB flattened a drawing
                # on a transparent canvas onto black
                image = gr.Image(start, type="pil", label=input_label(store, first),
                                 sources=["upload", "clipboard"], height=220, elem_id="sr-input", format="png",
                                 image_mode=None)
                with gr.Column():
                    factor = gr.Radio(offered, value=first, label="upscaling factor")
                    seed = gr.Number(0, label="seed (the diffusion's noise)", precision=0, minimum=0)
                    go = gr.Button("Upscale", variant="primary")
            # its name shown: with none, the strip sat under an empty bar of icons (a walk)
            strip = gr.Image(label="the small input, each method's answer at 32 px, and the original",
                             interactive=False, format="png", elem_id="sr-strip")
            table = gr.Markdown(elem_id="sr-table")
            gr.Markdown(held_out(store) if offered else "No super-resolution model is shipped: train one with "
                        "`python -m trainers train srgan`.", elem_id="sr-held-out")
        with gr.Column(scale=2):
            gr.Markdown(EXPLANATION, latex_delimiters=LATEX)

    def pick(evt: gr.SelectData):
        return example(evt.index)

    picks.select(pick, None, image, api_name=False, show_progress="hidden")
    check_uploads(image)
    # the strip and its table were made for the image and factor before: a walk uploaded a boot and read the
    # sneaker's numbers under it
    image.change(stale, None, [strip, table], api_name=False, show_progress="hidden")
    factor.change(lambda f: (*stale(), gr.Image(label=input_label(store, f))), factor, [strip, table, image],
                  api_name=False, show_progress="hidden")
    if first:
        wire(go.click, "upscale", {"image": image, "factor": factor, "seed": seed},
             lambda *a: upscale(store, *a), [strip, table], parts, opening={"image": start})
