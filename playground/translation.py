"""Tab "Image translation": Pix2Pix on a sketch, an upload or an example (output beside input, with the
discriminator's patch scores), and CycleGAN both ways with the round trip and its per-pixel error, and the
same image through a CycleGAN and a DualGAN side by side, each with its card's held-out numbers.
Handlers are pure functions (store, names, images) -> arrays."""

from __future__ import annotations

import numpy as np
import torch

from trainers.core import pairs
from trainers.core.checkpoint import read_card, read_meta
from trainers.core.errors import NothingGiven, UserError
from trainers.core.images import strip, upscale
from trainers.cyclegan import train as C
from trainers.pix2pix import train as P

from .errors import number, user_errors
from .page import LATEX
from .uploads import check_uploads, example_paths, image_to_grey, shipped_image, unlike_note, usable_image
from .views import with_scale
from .wiring import TabParts, wire
from .models import ModelStore

SCALE = 6


def _input(model, image, invert: str, from_garment: bool = False) -> torch.Tensor:
    """Any upload or drawing -> the model's uint8 (1, 1, S, S) input.

    `image_to_grey` brings every image to Fashion-MNIST's light-on-black (`invert="auto"` flips dark-on-light
    ones). Pix2Pix's edge models take dark lines on white (a sketch), so a drawing is flipped back; with
    `from_garment`, a garment is first turned into the model's kind of input (its edge map or silhouette),
    exactly as the training pairs were made."""
    size = model.cfg.image_size
    if model.cfg.channels != 1:
        raise UserError("this tab runs greyscale models; use `python -m trainers translate` for colour ones")
    grey = torch.from_numpy(image_to_grey(image, size, invert)).view(1, 1, size, size)
    if model.family != "pix2pix" or model.cfg.pairing == "aligned":
        return grey
    if from_garment:
        x01 = grey.float() / 255
        made = pairs.sketch(x01, model.cfg.pairing)
        return (made * 255).round().to(torch.uint8)
    return 255 - grey if model.cfg.pairing in ("edges", "sketches") else grey


EMPTY_PAD = "the pad is empty: draw a garment's outline on it (dark on white), then translate it"


@user_errors
def pix2pix_drawing(store: ModelStore, name: str, drawing, *settings):
    """`pix2pix` on the pad's drawing, an empty pad refused as such first."""
    drawn_on(drawing)
    return pix2pix(store, name, drawing, *settings)


def drawn_on(drawing) -> None:
    """Refuse an empty pad (a UserError saying to draw) before a translation runs."""
    try:
        usable_image(drawing)
    except UserError as e:
        if str(e).startswith(("no image given", "the image is empty")):  # nothing drawn (or cleared)
            raise NothingGiven(EMPTY_PAD) from None
        raise


def drawn_outline(path, canvas: int = 280, width: int = 6):
    """A shipped example garment as a person would draw it on the pad: its outer contour only, `width` px dark
    lines on white (the tab opens on the sneaker's, translated)."""
    import torch.nn.functional as F
    from PIL import Image

    inner = canvas - 40
    grey = np.array(shipped_image(path).convert("L").resize((inner, inner), Image.Resampling.BICUBIC))
    x = torch.zeros(1, 1, canvas, canvas)
    x[..., 20:-20, 20:-20] = torch.from_numpy(grey).float() / 255
    shape = (F.avg_pool2d(x, 9, 1, 4) > 0.06).float()
    shape = -F.max_pool2d(-F.max_pool2d(shape, 9, 1, 4), 9, 1, 4)  # closed: no holes between the garment's parts
    ring = shape + F.max_pool2d(-shape, 2 * width + 1, 1, width)  # the shape minus itself eroded by `width`
    return Image.fromarray(((1 - ring[0, 0]) * 255).round().to(torch.uint8).numpy()).convert("RGB")


def looks_like_outline(image) -> bool:
    """Whether an upload is already a line drawing (thin strokes of flat ink), not a garment: the box "it is a
    garment" would outline it again, a double outline. Thin: most of its ink (over half its brightest level, at
    the model's 32 px) touches the background; flat: under 65 % of the full-size image's foreground is mid-grey.
    Fashion-MNIST's garments are shaded (>= 75 % mid-grey where they are thin: coat, sandal, sneaker); drawn
    and edge-map outlines measure 0-59 %."""
    try:
        image = usable_image(image)
        grey = image_to_grey(image, 32)
    except UserError:
        return False
    ink = grey > 0.5 * max(int(grey.max()), 1)
    padded = np.pad(ink, 1)
    interior = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    thin = 1 - interior.sum() / max(int(ink.sum()), 1)
    full = image_to_grey(image, min(max(image.size), 512)).astype(np.int32)  # transparency flattened
    border = np.concatenate([full[0], full[-1], full[:, 0], full[:, -1]])
    foreground = np.abs(full - np.median(border)) > 40
    mid = ((full > 40) & (full < 215) & foreground).sum() / max(int(foreground.sum()), 1)
    return bool(ink.any() and thin > 0.7 and mid < 0.65)


def garment_box(image):
    """On upload: tick "it is a garment" unless the image looks like an outline already."""
    import gradio as gr

    return gr.update(value=not looks_like_outline(image)) if image is not None else gr.update()


def _heat(values: np.ndarray) -> np.ndarray:
    """[0, 1] -> RGB: black (0) through red to yellow (1)."""
    v = np.clip(values, 0, 1)[..., None]
    return (np.concatenate([np.minimum(1, 2 * v), np.clip(2 * v - 1, 0, 1), np.zeros_like(v)], -1) * 255).astype(np.uint8)


def pix2pix_run(store: ModelStore, name: str, image, invert: str = "auto", noise: bool = False, seed=0,
                from_garment: bool = False):
    """An image -> (the model, its input as the model sees it, G's output, D's patch scores (P, P) in [0, 1])."""
    model = store.get(name, family="pix2pix")
    seed = number("seed", seed, 0, 2**31 - 1, integer=True)
    for label, flag in (("dropout", noise), ("from garment", from_garment)):
        if not isinstance(flag, (bool, np.bool_)):  # bool("false") is True: take no strings for a checkbox
            raise UserError(f"{label} must be true or false, got {str(flag)[:40]!r}")
    x = _input(model, image, invert, bool(from_garment))
    y = P.translate(model.cfg, model.modules, x, noise=bool(noise), seed=seed)
    return model, x, y, P.patch_scores(model.cfg, model.modules, x, y)[0].numpy()


@user_errors
def pix2pix(store: ModelStore, name: str, image, invert: str = "auto", noise: bool = False, seed=0,
            from_garment: bool = False):
    """An image -> (input as the model sees it | output, D's patch scores as a heat map, a summary)."""
    return pix2pix_shown(store, image, from_garment, *pix2pix_run(store, name, image, invert, noise, seed,
                                                                    from_garment))


def pix2pix_shown(store: ModelStore, image, from_garment, model, x, y, scores):
    """`pix2pix_run`'s result as the tab shows it: (input | output, D's patch scores as a heat map, a summary)."""
    size = model.cfg.image_size
    heat = with_scale(np.asarray(_pil_resize(_heat(scores), size * SCALE)), "0: fake", "1: real", _heat)
    pair = upscale(strip(torch.cat([x, y]), padding=2), SCALE)
    text = (f"D's mean patch score {scores.mean():.2f} over {scores.shape[0]}×{scores.shape[1]} patches "
            "(1 = looks like a real pair)")
    seen = _read(store, y) if model.cfg.pairing != "aligned" else None
    if seen:
        text = f"The classifier reads the output as **{seen[0]}** ({seen[1]:.0%}).\n\n" + text
    # the model translates the outline drawn from the picture (left), which can be a garment's even when the
    # picture is not like the data: "its output is no garment's" sat above a boot outline turned into a boot
    unlike = (unlike_note(image_to_grey(image, 32), "The model translates the outline drawn from it (left): "
                          "check that the outline is a garment's before trusting the output.")
              if from_garment and model.cfg.pairing != "aligned" else "")
    if from_garment and model.cfg.pairing in ("edges", "sketches") and float((x < 128).float().mean()) < BLANK_INK:
        # a photo of noise, shrunk to 32 px, is an even grey: no edge, a white input, and a walk read it as missing
        text = ("**Its outline came out blank**: at 32 px the edge operator found no edge in this image, so the "
                "input shown left is plain white paper and the output is what the model draws from nothing.\n\n"
                + text)
    if unlike:  # a photo or a plain colour outlined as if a garment: its "Sneaker (42%)" read as a result
        text = unlike + text
    if not from_garment and model.cfg.pairing == "silhouette" and looks_like_outline(image):
        # a walk drew an outline for the silhouette model and got a near-black garment, read as a fair one
        text = ("**This model was trained on filled silhouettes, and your drawing is an outline**: it sees a thin "
                "shape and draws one. Fill the shape in, or pick a checkpoint with *sketches* or *edges* in its "
                "name.\n\n" + text)
    if from_garment and model.cfg.pairing != "aligned" and looks_like_outline(image):
        text = ("**Your image looks like an outline already**, and *it is a garment* outlined it again (the input "
                "shown left has double lines): untick *it is a garment* to translate it as drawn.\n\n" + text)
    return pair, heat, text


# less ink than this is a blank outline: every Fashion-MNIST test garment's Sobel edges ink 0.8% or more (99%: 4.7%)
BLANK_INK = 0.005


def _pil_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.NEAREST))


@user_errors
def cyclegan(store: ModelStore, name: str, image, domain: str = "A", invert: str = "auto"):
    """An image of domain A (or B) -> strip [x, G(x), G'(G(x)), identity G'(x)] and the per-pixel cycle error."""
    model = store.get(name, family="cyclegan")
    if domain not in ("A", "B"):
        raise UserError("domain must be A or B")
    x = _input(model, image, invert)
    there, back = ("AtoB", "BtoA") if domain == "A" else ("BtoA", "AtoB")
    y = C.translate(model.cfg, model.modules, x, there)
    x_rec = C.translate(model.cfg, model.modules, y, back)
    identity = C.translate(model.cfg, model.modules, x, back)  # G' applied to its own target domain: should keep x
    err = (x_rec.float() - x.float()).abs()[0, 0].numpy() / 255
    frames = upscale(strip(torch.cat([x, y, x_rec, identity]), padding=2), SCALE)
    heat = with_scale(_pil_resize(_heat(err / max(err.max(), 1e-6)), model.cfg.image_size * SCALE), "0",
                      f"{err.max():.2f}", _heat)
    names = {"A": model.cfg.domain_a, "B": model.cfg.domain_b}
    other = "B" if domain == "A" else "A"
    text = (f"{names[domain]} → {names[other]} → {names[domain]}: mean cycle error {err.mean():.3f} "
            f"(max {err.max():.2f}) on [0, 1] pixels; the last frame is the identity check: the {other} → {domain} "
            f"generator given x itself, which should leave it as it is.")
    note, judged = judge(store, x, y, names, domain)
    return frames, heat, unlike(x) + (note + "\n\n" if note else "") + judged + "\n\n" + text


def unlike(x: torch.Tensor) -> str:
    """The note on an input unlike the data (`unlike_data`), "" for a garment: a noise strip was translated, and
    its flat grey x read as a failed translation with no word on what went in."""
    return unlike_note(x[0, 0].numpy(), "The generators only saw garments, so their output is no garment's.")


def judge(store: ModelStore, x: torch.Tensor, y: torch.Tensor, names: dict, domain: str) -> tuple[str, str]:
    """(a note when the input already reads as the other domain's class, the verdict on G(x)): with the input of
    the target's class, the output reads as that class whatever G did, so there is no verdict (a walk saw "Check
    the domain" above "Translated", and then the side-by-side's "Translated" for both models)."""
    other = "B" if domain == "A" else "A"
    seen = _read(store, x)
    if seen and seen[0].lower() == str(names[other]).lower():
        return (f"**Check the domain**: the classifier reads your image as {seen[0]} ({seen[1]:.0%}), domain "
                f"{other}'s class, but domain {domain} ({names[domain]}) is chosen; choose {other} to translate it "
                f"the other way.", f"No verdict on the translation: the input is already {seen[0]}.")
    return "", verdict(store, y, names[other])


# the objective a CycleGAN-family checkpoint was trained with (its config's `loss`; older ones have none: lsgan)
OBJECTIVES = {"lsgan": "CycleGAN (least-squares critics)", "dualgan": "DualGAN (Wasserstein critics)"}


def objective(store: ModelStore, name: str) -> str:
    return read_meta(store.root / name).get("config", {}).get("loss", "lsgan")


def cyclegan_choices(store: ModelStore) -> list[tuple[str, str]]:
    """(label, name) of the CycleGAN-family checkpoints, each labelled with its objective."""
    return [(f"{n} · {OBJECTIVES.get(objective(store, n), objective(store, n))}", n) for n in store.names("cyclegan")]


def objective_names(store: ModelStore, loss: str) -> list[str]:
    """The CycleGAN-family checkpoints trained with one objective (`lsgan` or `dualgan`)."""
    return [n for n in store.names("cyclegan") if objective(store, n) == loss]


def _held_out(store: ModelStore, name: str, domain: str, names: dict) -> str:
    """The card's held-out numbers for translating `domain`'s images: the share the judge puts in the target
    class and the cycle L1 (written by `python -m trainers evaluate`, never typed)."""
    m = read_card(store.path(name)).get("metrics", {})
    other = "B" if domain == "A" else "A"
    rate = m.get(f"{domain.lower()}_to_{other.lower()}_in_target_class")
    l1 = m.get(f"cycle_l1_{domain.lower()}")
    if rate is None or l1 is None:
        return f"(no held-out metrics in its card: run `python -m trainers evaluate checkpoints/{name}`)"
    n = m.get(f"n_test_{domain.lower()}")
    return (f"held-out test set{f' ({n} images)' if n else ''}: **{rate:.1%}** of {names[domain]} → {names[other]} "
            f"classified {names[other]}; cycle L1 **{l1:.4f}**")


GAP = 6  # px between the two models' strips (before SCALE)


@user_errors
def side_by_side(store: ModelStore, cyclegan_name: str, dualgan_name: str, image, domain: str = "A",
                 invert: str = "auto"):
    """One image through two CycleGAN-family models (a CycleGAN and a DualGAN) -> one picture with each
    model's strip [x, G(x), back] side by side (one picture, so they stay side by side on a narrow screen),
    and a two-column table under it: each model's objective, the judge's reading of its G(x), and its card's
    held-out target-class rate and cycle L1 for this direction."""
    if domain not in ("A", "B"):
        raise UserError("domain must be A or B")
    models = [store.get(n, family="cyclegan") for n in (cyclegan_name, dualgan_name)]
    domains = {(m.cfg.domain_a, m.cfg.domain_b) for m in models}
    if len(domains) > 1:
        which = " and ".join(" ↔ ".join(d) for d in sorted(domains))
        raise UserError(f"the two models translate different domains ({which})")
    there, back = ("AtoB", "BtoA") if domain == "A" else ("BtoA", "AtoB")
    strips, cells, notes = [], [], set()
    for name, model in zip((cyclegan_name, dualgan_name), models):
        x = _input(model, image, invert)
        y = C.translate(model.cfg, model.modules, x, there)
        strips.append(strip(torch.cat([x, y, C.translate(model.cfg, model.modules, y, back)]), padding=2))
        names = {"A": model.cfg.domain_a, "B": model.cfg.domain_b}
        note, judged = judge(store, x, y, names, domain)
        notes.add(note)
        notes.add(unlike(x).strip())
        cells.append([f"**{OBJECTIVES.get(model.cfg.loss, model.cfg.loss)}** · `{name}`", judged.replace("\n", " "),
                      _held_out(store, name, domain, names)])
    gap = np.full((strips[0].shape[0], GAP, 3), 255, np.uint8)
    picture = upscale(np.concatenate([strips[0], gap, strips[1]], 1), SCALE)
    table = "\n".join(["| " + " | ".join(row) + " |" for row in ([cells[0][0], cells[1][0]], ["---", "---"])]
                      + ["| " + " | ".join([cells[0][i], cells[1][i]]) + " |" for i in (1, 2)])
    return picture, "".join(n + "\n\n" for n in sorted(notes) if n) + table


STALE = ("*The image, domain or invert above changed since this comparison: press **Compare CycleGAN and DualGAN** "
         "to translate the new one.*")


def stale_side_by_side(shown) -> tuple:
    """The side-by-side's update when its input changes: (cleared, STALE) if it showed a comparison."""
    import gradio as gr

    return (None, STALE) if shown is not None else (gr.skip(), gr.skip())


STALE_TRANSLATION = ("*The image, domain or invert changed since this translation: press **Translate, and back** to "
                     "translate the new one.*")


STALE_MODEL = ("*The checkpoint changed, and its translation went with it: press "
               "**{button}** to run the new one.*")


def stale_pix2pix_model(shown) -> tuple:
    return stale_translation(shown, STALE_MODEL.format(button="Translate the drawing** or **Translate the image"))


def stale_cyclegan_model(shown) -> tuple:
    return stale_translation(shown, STALE_MODEL.format(button="Translate, and back"))


def stale_translation(shown, note: str = STALE_TRANSLATION) -> tuple:
    """A translation's update when its input or model changes: (picture and heat map cleared, a note) if it
    showed one (a walk switched CycleGAN to DualGAN and read CycleGAN's round trip under DualGAN's name)."""
    import gradio as gr

    return (None, None, note) if shown is not None else (gr.skip(),) * 3


def stale_views(pair, shown) -> tuple:
    """Both views of the image above, when it (or its domain, or invert) changes: the side-by-side's update, then
    the round trip's (one event for both: see `wiring.one_event_per_change`)."""
    return (*stale_side_by_side(pair), *stale_translation(shown))


def _read(store: ModelStore, y: torch.Tensor) -> tuple[str, float] | None:
    """The judge's (class, probability) for a uint8 (1, 1, S, S) image; None without a classifier."""
    from trainers.classifier.train import predict
    from trainers.core.data import FASHION_MNIST_CLASSES
    from trainers.core.metrics import classifier_inputs

    judges = store.names("classifier")
    if not judges:
        return None
    probs = predict(store.get(judges[0], family="classifier").modules["net"], classifier_inputs(y))[0]
    return FASHION_MNIST_CLASSES[int(probs.argmax())], float(probs.max())


SURE = 0.8  # below it, the classifier's reading of a translation is called a narrow one


def verdict(store: ModelStore, y: torch.Tensor, target: str) -> str:
    """The judge's reading of a translation (uint8 (1, 1, S, S)): did it reach the target class?"""
    seen = _read(store, y)
    if seen is None:
        return "(no classifier checkpoint to judge the translation)"
    if seen[0].lower() == str(target).lower():
        if seen[1] < SURE:  # a walk saw "Translated" under a boot that was still a boot (Sneaker, 65%)
            return (f"**Barely translated**: the classifier reads the output as {seen[0]}, but only at "
                    f"{seen[1]:.0%}. Look at G(x): a small change can tip a classifier without changing the garment.")
        return f"**Translated**: the classifier reads the output as {seen[0]} ({seen[1]:.0%})."
    return (f"**The translation failed**: the classifier reads the output as {seen[0]} ({seen[1]:.0%}), "
            f"not {target}. CycleGAN can leave an input it finds hard nearly unchanged.")


EXPLANATION = r"""
**Pix2Pix** (course notes, *Generative models, a quick overview*): a conditional GAN on pairs $(x, y)$; $D$ sees the input with either the real or the generated output,
$$\mathcal{L}_{cGAN}(G, D) = \mathbb{E}_{x,y}[\log D(x, y)] + \mathbb{E}_{x,z}[\log(1 - D(x, G(x, z)))],$$
and $G$ also stays close to the target: $G^* = \arg\min_G \max_D \mathcal{L}_{cGAN} + \lambda\,\mathbb{E}\|y - G(x, z)\|_1$ with $\lambda = 100$. $G$ is a U-Net (skip connections carry the outline through), its noise $z$ is dropout; $D$ is a PatchGAN that scores each patch: the heat map.

**CycleGAN / DualGAN**: no pairs. $G_{AB}$ and $G_{BA}$ translate both ways; each has a discriminator, and a **cycle loss** asks $G_{BA}(G_{AB}(a)) \approx a$ and $G_{AB}(G_{BA}(b)) \approx b$ ($\lambda = 10$), plus an identity term $G_{AB}(b) \approx b$. The heat map is the round trip's per-pixel error.

**DualGAN** (Yi et al. 2017) trains the same pair of translators with Wasserstein critics: each critic minimises $D_B(G_{AB}(a)) - D_B(b)$ with its weights clipped to $[-c, c]$, the generators minimise $-D_B(G_{AB}(a)) - D_A(G_{BA}(b))$ plus the weighted cycle loss, with RMSProp and no identity term. *Side by side* puts one of each next to the other.
"""


def build(store: ModelStore) -> TabParts:
    import gradio as gr

    examples = example_paths()
    p2p, cyc = store.names("pix2pix"), store.names("cyclegan")
    # the tab opens on the example sneaker (examples[7]) translated by each model
    sneaker = examples[7] if len(examples) > 7 else None
    parts = TabParts(refresh=[])
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("### Image translation\n**Try first:** draw a garment's outline on the pad and press *Translate "
                        "the drawing*. Until you do, the result below is a sneaker's outline drawn the same way (left of "
                        "the pair) and the garment Pix2Pix made of it (right). In *CycleGAN*, translate the sneaker to a "
                        "boot and back.")
            with gr.Tab("Pix2Pix"):
                # a sketch model first: the pad and the opening are drawings (the silhouette model sorts first)
                drawn = [n for n in p2p if read_meta(store.root / n).get("config", {}).get("pairing") in ("sketches", "edges")]
                p_ckpt = gr.Dropdown(p2p, value=(drawn or p2p or [None])[0], label="checkpoint (pairing in its name)")
                with gr.Row():
                    with gr.Tabs():
                        with gr.Tab("Draw"):
                            # empty and ready to draw; the result shown on opening is a drawn outline's, shown
                            # left of it (an outline put on the pad stayed under a new drawing when the bin missed)
                            outline = drawn_outline(sneaker) if sneaker else None
                            sketch = gr.Sketchpad(type="pil", canvas_size=(280, 280), label="draw (dark on white)",
                                                  brush=gr.Brush(colors=["#000000"], default_size=6), layers=False)
                            draw_go = gr.Button("Translate the drawing", variant="primary")
                        with gr.Tab("Upload"):
                            upload = gr.Image(sneaker, type="pil", label="image", sources=["upload", "clipboard"], image_mode=None)
                            gr.Examples(examples, inputs=upload, label="Fashion-MNIST test images")
                            from_garment = gr.Checkbox(True, label="it is a garment: give the model its edges "
                                                                   "(or silhouette), as in training")
                            up_go = gr.Button("Translate the image", variant="primary")
                    with gr.Column():
                        p_invert = gr.Radio(["auto", "yes", "no"], value="auto", label="invert")
                        p_noise = gr.Checkbox(False, label="dropout on (the paper's noise z)")
                        p_seed = gr.Number(0, label="seed", precision=0, minimum=0)
                with gr.Row():
                    p_pair = gr.Image(label="input | output", interactive=False, format="png", elem_id="p2p-pair")
                    p_heat = gr.Image(label="D's patch scores", interactive=False, format="png")
                p_text = gr.Markdown()
            with gr.Tab("CycleGAN"):
                c_ckpt = gr.Dropdown(cyclegan_choices(store), value=cyc[0] if cyc else None,
                                     label="checkpoint (and the objective it was trained with)")
                with gr.Row():
                    c_image = gr.Image(sneaker, type="pil", label="image of either domain", sources=["upload", "clipboard"],
                                       image_mode=None)
                    with gr.Column():
                        c_domain = gr.Radio(["A", "B"], value="A", label="the image is from domain")
                        c_invert = gr.Radio(["auto", "yes", "no"], value="auto", label="invert")
                        c_go = gr.Button("Translate, and back", variant="primary")
                # each example sets its domain too: the boot with "A" still selected was read as a sneaker
                gr.Examples([[examples[7], "A"], [examples[9], "B"]] if len(examples) > 9 else [[e, "A"] for e in examples],
                            inputs=[c_image, c_domain], label="a sneaker (A) and an ankle boot (B)")
                # the strip has the column to itself: four frames side by side in half of it were ~85 px each
                c_strip = gr.Image(label="x | G(x) | back | identity", interactive=False, format="png",
                                   elem_id="cyc-strip", elem_classes="frames")
                with gr.Row():
                    c_heat = gr.Image(label="round-trip error", interactive=False, format="png")
                c_text = gr.Markdown()
                gr.Markdown("#### Side by side: CycleGAN and DualGAN\nThe image and domain above, translated by "
                            "each (x | G(x) | back); under each, its card's numbers on the held-out test set.")
                lsgan, dual = objective_names(store, "lsgan"), objective_names(store, "dualgan")
                with gr.Row():
                    s_cyc = gr.Dropdown(lsgan, value=(lsgan or [None])[0], label="CycleGAN checkpoint")
                    s_dual = gr.Dropdown(dual, value=(dual or [None])[0], label="DualGAN checkpoint")
                s_go = gr.Button("Compare CycleGAN and DualGAN", variant="primary")
                s_pair = gr.Image(label="left, CycleGAN: x | G(x) | back · right, DualGAN: x | G(x) | back",
                                  interactive=False, format="png", elem_id="cyc-vs-dual", elem_classes="frames")
                s_text = gr.Markdown()
        with gr.Column(scale=2):
            gr.Markdown(EXPLANATION, latex_delimiters=LATEX)
    checked, _ = check_uploads(upload, c_image)
    checked.success(garment_box, upload, from_garment, api_name=False, show_progress="hidden")
    p_out = [p_pair, p_heat, p_text]
    parts.pictures.update({"Translation: Pix2Pix input | output": p_pair, "Translation: CycleGAN x | G(x) | back": c_strip})
    wire(draw_go.click, "pix2pix_drawing", {"checkpoint": p_ckpt, "drawing": sketch, "invert": p_invert,
                                            "dropout": p_noise, "seed": p_seed},
         lambda *a: pix2pix_drawing(store, *a), p_out, parts,
         opening=bool(p2p) and outline is not None and {"drawing": outline})
    wire(up_go.click, "pix2pix", {"checkpoint": p_ckpt, "image": upload, "invert": p_invert, "dropout": p_noise,
                                  "seed": p_seed, "from garment": from_garment},
         lambda *a: pix2pix(store, *a), p_out, parts)
    wire(c_go.click, "cyclegan", {"checkpoint": c_ckpt, "image": c_image, "domain": c_domain, "invert": c_invert},
         lambda *a: cyclegan(store, *a), [c_strip, c_heat, c_text], parts,
         opening=bool(cyc and sneaker) and {"image": shipped_image(sneaker)})
    wire(s_go.click, "cyclegan_vs_dualgan", {"CycleGAN checkpoint": s_cyc, "DualGAN checkpoint": s_dual,
                                              "image": c_image, "domain": c_domain, "invert": c_invert},
         lambda *a: side_by_side(store, *a), [s_pair, s_text], parts,
         opening=bool(lsgan and dual and sneaker) and {"image": shipped_image(sneaker)})
    # the side-by-side is of "the image and domain above": when they change it goes, with a word why (it stayed,
    # captioned as of the new image, still naming the old one's classes)
    # ... and so is the translation above it (it kept showing the sneaker's round trip beside the boot). One event
    # for both: two on the same triggers re-ran each other forever after an example set image and domain at once
    # (Gradio's page re-dispatches a deferred change to every event on it; wiring.one_event_per_change)
    gr.on([c_image.change, c_domain.change, c_invert.change], stale_views, [s_pair, c_strip],
          [s_pair, s_text, c_strip, c_heat, c_text], api_name=False, show_progress="hidden")
    c_ckpt.change(stale_cyclegan_model, c_strip, [c_strip, c_heat, c_text], api_name=False, show_progress="hidden")
    p_ckpt.change(stale_pix2pix_model, p_pair, p_out, api_name=False, show_progress="hidden")
    parts.refresh = [(p_ckpt, lambda: store.names("pix2pix")), (c_ckpt, lambda: cyclegan_choices(store)),
                     (s_cyc, lambda: objective_names(store, "lsgan")), (s_dual, lambda: objective_names(store, "dualgan"))]
    return parts
