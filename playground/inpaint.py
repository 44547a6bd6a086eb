"""Tab "Inpaint & upscale", sub-tab "Inpaint": paint a hole over a garment and watch it filled, step by step: by a pixel
DDPM with no retraining (the known pixels replaced at every step, or RePaint's resampling, trainers/ddpm/inpaint.py),
or by a latent diffusion model trained to inpaint, which a prompt steers (trainers/latent_diffusion/inpaint.py). Handlers are plain
functions (store, names, numbers, an editor's value) -> arrays and export paths; `fill` is a generator that
Gradio streams."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import gradio as gr  # at module level: the gallery handler's gr.SelectData annotation must resolve
import numpy as np
import torch

from trainers.core.captions import COLOURS, render
from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.errors import NothingGiven, UserError
from trainers.core.images import from_uint8, gif_bytes, to_uint8, upscale
from trainers.ddpm import inpaint as I
from trainers.ddpm import train as ddpm_train
from trainers.latent_diffusion import inpaint as LI
from trainers.latent_diffusion.sampling import guides

from . import upscale as upscale_tab
from .errors import number, refusal, user_errors
from .exports import export_file
from .page import LATEX
from .text2image import vocabulary_note
from .uploads import (example_paths, image_to_grey, open_upload, picture, shipped_image, unlike_note, upload_button,
                      uploaded_part, usable_image)
from .views import LIVE_UPDATE_S, LiveUpdates, count, tiles, titled_strip
from .wiring import TabParts, wire
from .models import ModelStore

ANY_CLASS = "(any: unconditional)"
PAINTED = "painted with the brush"
LATENT = "latent + prompt"
METHODS = ("replace", "RePaint", LATENT)
SIZE, CANVAS = 32, 256  # the shipped model's pixels; the editor shows them 8x
UPDATES, MIN_UPDATE_S, MAX_GIF_FRAMES = 50, LIVE_UPDATE_S, 40
# the hole, shown as red and pale checks over the image: the brush's red, and a pattern no garment has (solid red,
# it could not be told from a garment drawn red, the latent method's default colour)
HOLE, HOLE_LIGHT, CHECK = np.array([230, 60, 60], np.uint8), np.array([255, 220, 220], np.uint8), 16


def example(index: int) -> np.ndarray:
    """The index-th shipped test garment, 8x enlarged (CANVAS px), as the editor's background."""
    paths = example_paths()
    if not 0 <= int(index) < len(paths):
        raise UserError(f"example index must be in [0, {len(paths)})")
    grey = image_to_grey(shipped_image(paths[int(index)]), SIZE)
    return upscale(np.repeat(grey[..., None], 3, -1), CANVAS // SIZE)


def read_editor(value, mask_kind: str, seed: int, size: int = SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """An editor's value -> (x0 (1, 1, size, size) in [-1, 1], mask of known pixels (1, 1, size, size)): the image is the
    editor's background; the hole is what the brush painted (any stroke covering a quarter of a model pixel), or
    one of the mask shapes."""
    from PIL import Image

    if not isinstance(value, dict) or value.get("background") is None:
        raise NothingGiven("no image: click a garment above or upload one")
    background = usable_image(value["background"])  # a 1x1 upload is refused, not filled
    # the picture without the transparent bands the editor's square canvas adds around an upload of another shape
    # (flattened, they read as black bars, and a photo on white was not made light on black)
    picture = uploaded_part(value, background)
    grey = image_to_grey(picture, size)
    x0 = from_uint8(torch.from_numpy(grey).view(1, 1, size, size))
    if mask_kind != PAINTED:
        return x0, I.make_mask(mask_kind, 1, size, torch.Generator().manual_seed(seed))
    bw, bh = background.size
    left, top = (bw - picture.width) / 2, (bh - picture.height) / 2  # the picture's place in the canvas
    if picture.size != background.size:
        left, top = value["background"].getchannel("A").getbbox()[:2]
    painted = np.zeros((size, size))
    for layer in value.get("layers") or []:
        if layer is None:
            continue
        alpha = layer.convert("RGBA").getchannel("A")
        # the layer covers the canvas (scaled to it, centred); the model sees the picture letterboxed into a
        # square (`image_to_grey`): keep the strokes over that square, unpainted beyond the canvas
        scale = min(alpha.width / bw, alpha.height / bh)
        ox, oy = (alpha.width - bw * scale) / 2, (alpha.height - bh * scale) / 2
        half = max(picture.size) * scale / 2
        cx, cy = ox + (left + picture.width / 2) * scale, oy + (top + picture.height / 2) * scale
        alpha = alpha.crop((round(cx - half), round(cy - half), round(cx + half), round(cy + half)))
        alpha = alpha.resize((size, size), Image.Resampling.BOX)
        painted = np.maximum(painted, np.asarray(alpha, np.float64) / 255)
    hole = painted > 0.25
    if not hole.any():
        raise NothingGiven("nothing painted: paint over the part to fill in with the brush, or choose a mask shape")
    if hole.all():
        raise UserError("the paint covers the whole image: leave some of the garment for the model to keep")
    return x0, torch.from_numpy(~hole).float().view(1, 1, size, size)


def colour_picture(value, size: int) -> torch.Tensor | None:
    """The editor's picture as the latent model's training images are, uint8 (1, 3, size, size), when it is one: a
    coloured garment on a dark background (Text to image's, say), letterboxed on black as `read_editor`'s grey is.
    None for anything else (a grey garment, a photo on white), which the latent method draws in the prompt's colour.
    A red sneaker taken from Text to image went in as a dim grey one (red is dark in grey) and came out near black."""
    from PIL import Image

    picture = np.asarray(uploaded_part(value, usable_image(value["background"])).convert("RGB"), np.int16)
    border = np.concatenate([picture[0], picture[-1], picture[:, 0], picture[:, -1]])
    chroma = picture.max(-1) - picture.min(-1)
    if np.median(border.max(-1)) > 40 or (chroma > 60).mean() < 0.02:
        return None
    h, w = picture.shape[:2]
    square = Image.new("RGB", (max(h, w), max(h, w)), (0, 0, 0))
    square.paste(Image.fromarray(picture.astype(np.uint8)), ((max(h, w) - w) // 2, (max(h, w) - h) // 2))
    small = np.asarray(square.resize((size, size), Image.Resampling.LANCZOS))
    return torch.from_numpy(small.copy()).permute(2, 0, 1)[None]


def shown_hole(x0: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """What the model keeps (x0: (1, 1 or 3, H, W) in [-1, 1]), with the hole in red and pale checks (H, W, 3), at
    the editor's size."""
    rgb = to_uint8(x0)[0].permute(1, 2, 0).numpy()
    rgb = np.repeat(rgb, 3, -1) if rgb.shape[-1] == 1 else rgb
    k = CANVAS // rgb.shape[0]
    view = upscale(rgb, k).copy()
    hole = upscale(np.ascontiguousarray(mask[0, 0].numpy() < 0.5), k)
    view[hole] = _checks(view.shape[:2])[hole]
    return view


def _checks(size: tuple[int, int]) -> np.ndarray:
    """The hole's pattern at every pixel of a view of `size`: CHECK-px squares of HOLE and HOLE_LIGHT."""
    y, x = np.indices(size)
    return np.where((((y // CHECK) + (x // CHECK)) % 2 == 0)[..., None], HOLE, HOLE_LIGHT)


def in_hole(view: np.ndarray) -> np.ndarray:
    """Where `shown_hole`'s view shows the hole (H, W) bool."""
    return np.all(view == _checks(view.shape[:2]), -1)


def _view(x: torch.Tensor) -> np.ndarray:
    return upscale(np.repeat(to_uint8(x.clamp(-1, 1))[0, 0].numpy()[..., None], 3, -1), CANVAS // x.shape[-1])


def _view_rgb(images: torch.Tensor) -> np.ndarray:
    """uint8 (1, 3, H, W) -> (CANVAS, CANVAS, 3)."""
    return upscale(images[0].permute(1, 2, 0).numpy(), CANVAS // images.shape[-1])


def tint(prompt: str) -> str:
    """The colour the garment is drawn in for the latent model, which learned coloured garments: the first colour
    the prompt names, or red."""
    words = str(prompt or "").lower().replace(",", " ").split()
    return next((w for w in words if w in COLOURS), "red")


def latent_model(store: ModelStore, name: str | None = None):
    """The latent inpainting model `name`, or the first shipped one when `name` is not one (a pixel DDPM's name,
    as the checkpoint box held before the method changed)."""
    names = store.names("ldm_inpaint")
    if not names:
        raise UserError("no latent inpainting model is shipped: train one with `python -m trainers train ldm_inpaint`")
    return store.get(name if name in names else names[0], family="ldm_inpaint")


def method_view(store: ModelStore, method: str, name: str | None):
    """The controls that apply to `method`: the checkpoint box lists its models (pixel DDPMs, or latent inpainting
    models), keeping the one chosen when it still applies; r only for RePaint; the class for the pixel methods, the
    prompt for the latent one."""
    latent = method == LATENT
    names = store.names("ldm_inpaint" if latent else "ddpm")
    return (gr.Slider(visible=method == "RePaint"),
            gr.Dropdown(choices=names, value=name if name in names else (names[0] if names else None),
                        label="checkpoint (latent inpainting)" if latent else "checkpoint (pixel DDPM)"),
            gr.Dropdown(visible=not latent), gr.Textbox(visible=latent))


def fill_latent(store: ModelStore, name: str | None, editor, mask_kind: str, steps: int, guidance: float, seed: int,
                prompt: str):
    """The latent method's stream, as `fill` yields it: the garment drawn in the prompt's colour, its hole filled for
    the prompt; x_t and x0_hat are the decoded latents (x0_hat with the kept pixels put back)."""
    model = latent_model(store, name)
    prompt = str(prompt or "").strip()[:200]
    if not prompt:  # unprompted, the model filled a red sneaker's centre with a blue square
        raise UserError("name the garment the picture should be once filled, e.g. \"a red sneaker\": the latent "
                        "method follows a prompt")
    x0, mask = read_editor(editor, mask_kind, seed, model.cfg.image_size)
    image = colour_picture(editor, model.cfg.image_size)
    if image is None:  # a grey garment: drawn in the prompt's colour, as the model's training images were
        colour = tint(prompt)
        image = to_uint8(render(x0 * 0.5 + 0.5, torch.tensor([list(COLOURS).index(colour)]), torch.tensor([1])) * 2 - 1)
        # "(the garment drawn red)" for a prompt that named no colour read as a misreading of the prompt
        drawn = f"the garment drawn {colour}" + ("" if colour in prompt.lower() else ": the prompt names no colour")
        title = f"drawn {colour}"
    else:
        drawn, title = "the garment in its own colours", "original"
    holes = 1 - mask
    hole = shown_hole(from_uint8(image), mask)
    # the words the model never saw, as Text to image says them ("a glittery unicorn sneaker" went by unremarked)
    words = vocabulary_note(None, prompt)
    words = words + "\n\n" if words else ""
    yield hole, gr.skip(), gr.skip(), None, f"{words}starting: {count(steps, 'step')}, {drawn} ...", None
    pipe = LI.make_pipeline(model.cfg, model.modules)
    keep = set(np.linspace(0, steps - 1, min(MAX_GIF_FRAMES, steps)).round().astype(int).tolist())
    frames, live = [], LiveUpdates(steps, UPDATES, MIN_UPDATE_S)
    gen = torch.Generator().manual_seed(seed)
    decoded = None
    for i, t, z, z0_hat in LI.fill(pipe, image, holes, [prompt], gen, steps, guidance):
        if i == steps:  # the last: z_0 and the decoded image
            decoded = z0_hat
            break
        if i in keep or live.due(i):
            a = _view_rgb(LI.decode(pipe, z))
            b = _view_rgb(LI.paste(LI.decode(pipe, z0_hat), image, holes))
            if i in keep:
                frames.append(np.concatenate([a, np.full((a.shape[0], 8, 3), 255, np.uint8), b], 1))
            if live.due(i):
                yield hole, a, b, None, f"step {i + 1}/{steps} (t = {t}){live.left(i)}", None
                live.shown()
    filled = LI.paste(decoded, image, holes)
    result = titled_strip([_view_rgb(image), hole, _view_rgb(filled)],
                          [title, "kept (the hole: red checks)", f"filled: {prompt}"[:40]])
    gif = export_file(gif_bytes(frames, 80), "inpaint", ".gif")
    yield (hole, _view_rgb(decoded), _view_rgb(filled), result,
           unlike(x0) + words + f"done: {count(steps, 'step')}, latent inpainting ({model.name}) for \"{prompt}\" ({drawn}), "
           f"{steps * (2 if guides(guidance) else 1)} network calls in {live.elapsed():.1f} s", gif)


def unlike(x0: torch.Tensor) -> str:
    """The note, over a fill's last line, on a picture unlike the data (`unlike_data`: a photo on a busy ground, an
    empty one), "" for a garment: the models fill anything as if it were one."""
    return unlike_note(to_uint8(x0)[0, 0].numpy(), "The model fills it as a garment all the same.")


def cleared() -> tuple:
    """The views of the last fill once the image changed (picked or taken): empty, until Fill is pressed again (the
    old sneaker's x_t and result stayed beside the new image's hole)."""
    return None, None, None, "*A new image: press **Fill the hole**.*", None


def picked(gallery, index) -> np.ndarray:
    """The picker's image `index` (a shipped garment, or one taken from another tab) for the editor."""
    if not gallery or not 0 <= int(index) < len(gallery):
        raise UserError("that picture is gone from the picker: click another")
    item = gallery[int(index)][0]  # the file Gradio keeps for it (an array where a test hands one)
    return np.asarray(usable_image(open_upload(item) if isinstance(item, (str, Path)) else item).convert("RGB"))


def prompt_for(prompt, caption) -> str | None:
    """The latent method's prompt once a garment captioned `caption` (a class name) is picked: its garment word
    swapped for the picked one's ("a red sneaker" -> "a red dress"), None where there is nothing to swap. The model
    learnt captions of whole garments; "a red bag" over a sneaker drew a bag's part in the sneaker (a walk)."""
    from trainers.core.captions import CLASS_WORDS

    from .text2image import garment_words

    if caption not in FASHION_MNIST_CLASSES:
        return None
    named = garment_words(prompt)
    word = CLASS_WORDS[FASHION_MNIST_CLASSES.index(caption)]
    if len(named) != 1 or named[0] == word:
        return None
    return re.sub(rf"(?<![\w-]){re.escape(named[0])}(?![\w-])", word, str(prompt), count=1, flags=re.IGNORECASE)


EXAMPLES = "Fashion-MNIST: the ten garments the picker opens with"


def examples() -> list:
    """The picker's opening: the shipped test garments, captioned by class name."""
    return [(example(i), FASHION_MNIST_CLASSES[int(Path(p).stem.split("-", 1)[0])])
            for i, p in enumerate(example_paths())]


@user_errors
def take(labels: list[str], label: str, *pictures) -> tuple:
    """Another tab's picture (`label`, one of `labels`, the values in `pictures`) cut into its images
    (`views.tiles`), or the shipped garments back (EXAMPLES): -> (the picker showing them, the editor holding the
    first, what was taken)."""
    if label == EXAMPLES:  # a walk took another tab's images and found no way back to the garments but a reload
        shown = examples()
        return shown, shown[0][0], "The ten Fashion-MNIST garments are back: the first is in the editor."
    if label not in labels:
        raise UserError(f"choose one of: {', '.join([EXAMPLES, *labels])}")
    value = pictures[labels.index(label)]
    if value is None:
        raise UserError(f"“{label}” shows nothing yet: make it in its tab first, then take it")
    found = tiles(np.asarray(usable_image(value).convert("RGB")))
    if not found:
        raise UserError(f"“{label}” holds no image to take")
    return ([(t, f"{label.split(':')[0]} {k + 1}") for k, t in enumerate(found)], found[0],
            f"Took {count(len(found), 'image')} from *{label}*: the first is in the editor; click another above.")


def preview(store: ModelStore, name: str, editor, mask_kind: str, seed):
    """The hole the next fill will use, shown as soon as the image, the hole's shape or the seed (random strokes)
    changes: a walk chose "half image" and saw the old centre box until it pressed Fill. Nothing changes while
    the settings cannot make a hole (no image yet, a seed being typed): Fill says why. With the brush chosen and
    nothing (or everything) painted, the picture shows with no hole: the centre box stayed, as if it would be filled."""
    try:
        seed = number("seed", seed, 0, 2**63 - 1, integer=True)
        size = store.get(name).cfg.image_size
        try:
            return shown_hole(*read_editor(editor, mask_kind, seed, size))
        except UserError:
            if mask_kind != PAINTED:
                raise
            x0, _ = read_editor(editor, "centre box", seed, size)  # the picture alone
            return shown_hole(x0, torch.ones_like(x0))
    except UserError:  # a CheckpointError too
        return gr.skip()


def brush_used(editor, mask_kind: str):
    """The hole's choice once the user has painted on the editor: "painted with the brush" (else left as it is)."""
    import gradio as gr

    layers = editor.get("layers") if isinstance(editor, dict) else None
    painted = any(layer is not None and layer.convert("RGBA").getchannel("A").getbbox() is not None
                  for layer in layers or [])
    return PAINTED if painted and mask_kind != PAINTED else gr.skip()


@user_errors
def fill(store: ModelStore, name: str, editor, mask_kind: str, method: str, resample, steps, class_name,
         guidance, seed, prompt: str = "a red sneaker"):
    """Stream the fill: yields (hole shown, x_t, x0_hat, before | after, progress, GIF path); the last yield has
    the result and the run's GIF (x_t | x0_hat per frame). No MP4: libx264 gave these frames files that differ in
    a few bytes from one encode to the next (1 in 5), and every export here is reproducible bit for bit.
    `name` is the pixel DDPM of replace and RePaint; the latent method uses `name` when it is a latent inpainting
    model (else the first shipped one), steered by `prompt`."""
    if mask_kind not in (PAINTED, *I.MASKS):
        raise UserError(f"mask must be one of: {PAINTED}, {', '.join(I.MASKS)}")
    if method not in METHODS:
        raise UserError(f"method must be one of {', '.join(METHODS)}")
    seed = number("seed", seed, 0, 2**63 - 1, integer=True)
    guidance = number("guidance scale", guidance, 0, 20)
    if method == LATENT:
        steps = number("steps", steps, 1, 1000, integer=True)
        yield from fill_latent(store, name, editor, mask_kind, steps, guidance, seed, prompt)
        return
    model = store.get(name, family="ddpm")
    steps = number("steps", steps, 1, model.cfg.T, integer=True)
    r = number("resampling r", resample, 1, I.MAX_RESAMPLE, integer=True) if method == "RePaint" else 1
    if model.cfg.channels != 1:
        raise UserError(f"this tab fills grey images; {name} makes colour ones")
    label = None
    if class_name not in (None, "", ANY_CLASS):
        if class_name not in FASHION_MNIST_CLASSES or not model.cfg.n_classes:
            raise UserError(f"class {str(class_name)[:40]!r}: this model takes {ANY_CLASS}"
                            if not model.cfg.n_classes else f"unknown class {str(class_name)[:40]!r}")
        label = FASHION_MNIST_CLASSES.index(class_name)
    x0, mask = read_editor(editor, mask_kind, seed, model.cfg.image_size)
    hole = shown_hole(x0, mask)
    yield hole, gr.skip(), gr.skip(), None, f"starting: {count(steps, 'step')} x {r} ...", None
    device = next(model.modules["unet_ema"].parameters()).device
    y = None if label is None else torch.tensor([label], device=device)
    eps_fn = ddpm_train.guided_eps(model.modules["unet_ema"].eval(), y, model.cfg.n_classes, guidance, ddpm_train.guidance_t_max(model.cfg))
    keep = set(np.linspace(0, steps - 1, min(MAX_GIF_FRAMES, steps)).round().astype(int).tolist())
    frames, live = [], LiveUpdates(steps, UPDATES, MIN_UPDATE_S)
    gen = torch.Generator().manual_seed(seed)
    for i, t, x, x0_hat in I.repaint(eps_fn, ddpm_train.schedule_for(model.cfg, device), x0.to(device), mask.to(device), gen,
                                     steps, r):
        if i in keep:
            a, b = _view(x), _view(x0_hat)
            frames.append(np.concatenate([a, np.full((a.shape[0], 8, 3), 255, np.uint8), b], 1))
        if live.due(i):
            yield hole, _view(x), _view(x0_hat), None, f"step {i + 1}/{steps} (t = {t}){live.left(i)}", None
            live.shown()
    result = titled_strip([_view(x0), hole, _view(x)], ["original", "kept (the hole: red checks)", f"filled ({method})"])
    gif = export_file(gif_bytes(frames, 80), "inpaint", ".gif")
    calls = steps * r if method == "RePaint" else steps
    yield (hole, _view(x), _view(x0_hat), result,
           unlike(x0) + f"done: {count(steps, 'step')}, {method}" + (f" r = {r}" if method == "RePaint" else "")
           + f", {calls} network calls in {live.elapsed():.1f} s", gif)


EXPLANATION = r"""
**Inpainting with a trained DDPM, no retraining.** $m$ marks the known pixels (1) and the hole (0). At each reverse step $t \to t'$ (RePaint, Lugmayr et al. 2022, eq. 8):
$$x^{\text{known}}_{t'} \sim \mathcal N\big(\sqrt{\bar\alpha_{t'}}\,x_0,\ (1-\bar\alpha_{t'})I\big),\qquad x^{\text{unknown}}_{t'} \sim p_\theta(x_{t'} \mid x_t),$$
$$x_{t'} = m \odot x^{\text{known}}_{t'} + (1-m)\odot x^{\text{unknown}}_{t'} .$$
The known part is the forward process of the original (Ho et al. 2020, eq. 4); the hole is one ordinary DDPM step (Ho et al. eq. 11). Doing only this is **replace**: the hole sees the known pixels only as noise, its content need not agree with them, and seams show.

**RePaint** repeats each step $r$ times, going back up one step in between,
$$x_t \sim \mathcal N\big(\sqrt{\bar\alpha_t/\bar\alpha_{t'}}\,x_{t'},\ (1-\bar\alpha_t/\bar\alpha_{t'})I\big),$$
so the network sees the joined image again and harmonises the hole with the rest (sec. 4.2). It costs $r$ network calls a step.

The right-hand view is the network's guess $\hat x_0$ with the known pixels put back. A class (with guidance $w$, as in the Diffusion tab) asks the hole to become part of that garment.

**Latent + prompt: a model trained to inpaint** (Rombach et al. 2022, sec. 4.5; Stable Diffusion's inpainting model). The rule of the notes: *a class or text enters by cross-attention, an image by concatenation*. The U-Net's input is the noisy latent, the hole $m$ shrunk to the latent's size, and the latent of the image with the hole blanked, side by side:
$$\epsilon_\theta\big([z_t,\ m,\ \mathcal E(x \odot (1-m))],\ t,\ \tau(y)\big),$$
trained as latent diffusion is, with random holes and captions. It sees the hole from the first step, so nothing has to be replaced, and the prompt $y$ says what fills it. It learned coloured garments: yours is drawn in the prompt's colour first. The autoencoder redraws the kept pixels slightly, so they are put back after.
"""


def build(store: ModelStore) -> TabParts:
    """Tab "Inpaint & upscale": the two ways of conditioning on an image, each a sub-tab."""
    parts = TabParts(refresh=[])
    with gr.Tab("Inpaint"):
        build_inpaint(store, parts)
    with gr.Tab("Upscale"):
        upscale_tab.build(store, parts)
    return parts


def build_inpaint(store: ModelStore, parts: TabParts) -> None:
    names = store.names("ddpm")
    first = names[0] if names else None
    start = example(7) if names else None  # a sneaker
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("### Inpaint: fill a hole with a diffusion model\n**Try first:** press *Fill the hole* "
                        "(the centre box of a sneaker), then choose *replace* and compare the seams; choose "
                        "*latent + prompt* and name the garment it should be; paint your own hole with the brush and choose "
                        "*painted with the brush*. Pictures are read in grey, as the pixel models learned Fashion-MNIST; "
                        "the latent model redraws a grey garment in the prompt's colour.")
            # captioned by class name, as the other tabs' galleries are (the files' "t-shirt-top" read oddly)
            picks = gr.Gallery(examples(),
                               # two rows of five: in one row of ten, 7 showed at 1400 px and "Shirt" was cut in half
                               # not interactive: an input of its own select, Gradio made it an upload box whose x
                               # deleted every garment; "contain": a taken wide strip showed as a cropped sliver
                               columns=5, height=335, format="png", interactive=False, object_fit="contain",
                               label="click a picture to paint on it", allow_preview=False, elem_classes="picker",
                               elem_id="inpaint-picker")
            with gr.Row():  # the other tabs' pictures, listed by the app (`TabParts.takes`)
                source = gr.Dropdown([], label="or take the images another tab shows", scale=3,
                                     elem_id="inpaint-take-from")
                take_go = gr.Button("Take them", scale=1, elem_id="inpaint-take")
                own = upload_button("inpaint-upload")  # the editor's own upload hides while it holds a picture
            taken = gr.Markdown(elem_id="inpaint-taken")
            with gr.Row():
                with gr.Column(min_width=300):  # its own column: stacked below 900 px, a bare editor was 30 px tall
                    # narrow-editor: its zoom bar sits under its name (over it, the name read "paint the hole in r")
                    editor = gr.ImageEditor(start, type="pil", label="the image: paint the hole in red",
                                            sources=["upload", "clipboard"], canvas_size=(CANVAS, CANVAS),
                                            fixed_canvas=True, height=330, transforms=(),
                                            brush=gr.Brush(colors=["#e63c3c"], default_size=24, color_mode="fixed"),
                                            layers=False, elem_id="inpaint-editor", elem_classes="narrow-editor")
                with gr.Column():
                    ckpt = gr.Dropdown(names, value=first, label="checkpoint (pixel DDPM)")
                    # "strokes" said as random ones: a walk painted its own, then chose "strokes" for them
                    mask = gr.Radio([("random strokes" if m == "strokes" else m, m) for m in I.MASKS] + [PAINTED],
                                    value="centre box", label="the hole")
                    method = gr.Radio(list(METHODS), value="RePaint", label="method")
                    resample = gr.Slider(1, 10, 5, step=1, label="RePaint: resampling r (calls a step)")
            with gr.Row():
                steps = gr.Slider(10, 250, 50, step=10, label="steps")
                cls = gr.Dropdown([ANY_CLASS, *FASHION_MNIST_CLASSES], value=ANY_CLASS, label="class of the fill",
                                  min_width=240)
                guidance = gr.Slider(0, 10, 3, step=0.5, label="guidance scale w", min_width=260,
                                     info="with a class or a prompt")  # in the label it wrapped on 3 lines
                seed = gr.Number(0, label="seed", precision=0, minimum=0)
            # the whole garment, as the model's training captions named it: "what fills the hole" had a walker write
            # "a blue shirt" over a sneaker's centre, and got a shirt's flat middle pasted in
            prompt = gr.Textbox("a red sneaker", label="prompt: the garment it should be, hole filled", max_length=200,
                                info="the model learnt captions of whole garments ('a red sneaker'); picking a "
                                     "garment swaps the garment word", elem_id="inpaint-prompt",
                                visible=False)  # for latent + prompt (`method_view`)
            with gr.Row():  # RePaint at 250 steps and r = 10 is 2500 network calls, minutes: it can be stopped
                go = gr.Button("Fill the hole", variant="primary", scale=3)
                stop = gr.Button("Stop", scale=1)
            progress = gr.Markdown()
            with gr.Row():
                # the next fill's hole, from the moment its shape or image changes (`preview`)
                kept = gr.Image(label="what Fill keeps (hole checked)", interactive=False, format="png",
                                elem_id="inpaint-hole")
                xt = gr.Image(label="x_t", interactive=False, format="png", elem_id="inpaint-xt")
                x0 = gr.Image(label="predicted x̂0 (known pixels put back)", interactive=False, format="png",
                              elem_id="inpaint-x0")
            result = gr.Image(label="original | kept | filled", interactive=False, format="png",
                              elem_id="inpaint-result", show_label=False)
            gif = gr.Image(label="the run, animated (GIF): x_t | x̂0", type="filepath", interactive=False,
                           elem_classes="frames")
        with gr.Column(scale=2):
            gr.Markdown(EXPLANATION, latex_delimiters=LATEX)

    def pick(gallery, words, evt: gr.SelectData):  # not wrapped: Gradio reads the annotation of the function
        try:
            image = picked(gallery, evt.index)
        except UserError as e:
            raise refusal(e) from None
        swapped = prompt_for(words, gallery[int(evt.index)][1])
        return image, gr.skip() if swapped is None else swapped

    shown = functools.partial(preview, store)
    # the editor's change fires for the user's strokes and uploads, not for a value set by the garment picker
    picks.select(pick, [picks, prompt], [editor, prompt], api_name=False, show_progress="hidden").success(
        shown, [ckpt, editor, mask, seed], kept, api_name=False, show_progress="hidden").then(
        cleared, None, [xt, x0, result, progress, gif], api_name=False, show_progress="hidden")

    def offer(pictures: dict) -> None:
        source.choices = [(label, label) for label in [*pictures, EXAMPLES]]
        source.value = next(iter(pictures), None)
        take_go.click(functools.partial(take, list(pictures)), [source, *pictures.values()], [picks, editor, taken],
                      api_name=False, show_progress="hidden").success(
            shown, [ckpt, editor, mask, seed], kept, api_name=False, show_progress="hidden").then(
            cleared, None, [xt, x0, result, progress, gif], api_name=False, show_progress="hidden")

    parts.takes.append(offer)
    # the user's own picture into the editor, as a picked garment goes (its hole shown, the last run cleared)
    own.upload(user_errors(lambda path: (picture(path), "")), own, [editor, taken], api_name=False,
               show_progress="hidden").success(
        shown, [ckpt, editor, mask, seed], kept, api_name=False, show_progress="hidden").then(
        cleared, None, [xt, x0, result, progress, gif], api_name=False, show_progress="hidden")
    # painting chooses the brush's hole: a walk painted a stroke, left "centre box" chosen, and got the centre
    # box filled with no word about its stroke
    editor.input(brush_used, [editor, mask], mask, api_name=False, show_progress="hidden", queue=False)
    # an upload replaces what was taken: "Took 16 images ... the first is in the editor" stayed over the user's photo
    editor.upload(lambda: "", None, taken, api_name=False, show_progress="hidden")
    # one event for the three triggers (see wiring.one_event_per_change)
    gr.on([mask.change, editor.change, seed.change], shown, [ckpt, editor, mask, seed], kept, api_name=False,
          show_progress="hidden", trigger_mode="always_last")
    method.change(functools.partial(method_view, store), [method, ckpt], [resample, ckpt, cls, prompt],
                  api_name=False, show_progress="hidden")
    parts.refresh.append((ckpt, lambda: store.names("ddpm") + store.names("ldm_inpaint")))
    wire(go.click, "inpaint", {"checkpoint": ckpt, "image": editor, "hole": mask, "method": method,
                               "resampling r": resample, "steps": steps, "class": cls, "guidance": guidance,
                               "seed": seed, "prompt": prompt},
         lambda *a: (yield from fill(store, *a)), [kept, xt, x0, result, progress, gif], parts,
         opening=bool(first) and {"image": {"background": start, "layers": [], "composite": start}},
         stop=(stop, progress, "stopped{at}: x_t and x̂0 above are the last step shown; the comparison and "
                                "the GIF are made when a fill finishes"))
