"""Tab "GAN latent walk": walk between seeds' codes in Z or W, a random-walk loop, a sample grid, and
GANSpace direction sliders. Handlers are pure functions (store, names, numbers) -> arrays/paths."""

from __future__ import annotations

import functools
import random

import numpy as np
import torch

from trainers.core.checkpoint import read_card
from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.errors import UserError
from trainers.core.images import frames_rgb, gif_bytes, mp4_bytes, strip, upscale
from trainers.core.latent import PATHS
from trainers.gan import walk as W
from trainers.gan.train import sample

from .errors import choice, number, user_errors
from .exports import export_file, record_setting, tagged
from .page import LATEX
from .views import GRID_WIDTH, frames_view
from .wiring import TabParts, quietly, wire
from .equations import loss_equations
from .models import ModelStore

MAX_SAMPLES, MAX_FRAMES, MAX_KEYS, N_DIRECTIONS = 64, 64, 8, 5
# one meaning everywhere: a conditional model draws the classes in turn, sample i (or keyframe i) class i mod 10;
# an unconditional model has no class control (the dropdowns are disabled for it)
NO_CLASS = "(every class in turn)"
UNCONDITIONAL = "(none: unconditional model)"  # what the disabled dropdowns read ("every class in turn" misled)
# the walk's end class when it is the start's: "(every class in turn)" there read as a walk through every class
# while all 16 frames were the one class chosen (walk)
SAME_CLASS = "(the same class)"
# the last: this choice's name before, for API callers
_NO_CLASS_NAMES = (None, "", NO_CLASS, UNCONDITIONAL, SAME_CLASS, "(model's own / none)")


def parse_seeds(text: str) -> list[int]:
    """'3, 17, 42' -> [3, 17, 42]; 'random' -> three fresh seeds (returned, so the walk can be redone)."""
    if text is not None and not isinstance(text, str):
        raise UserError(f"keyframe seeds must be text: integers separated by commas, or 'random'; got {text!r:.60}")
    text = (text or "").strip().lower()
    if text in ("", "random"):
        rng = random.SystemRandom()
        return [rng.randrange(0, 2**31) for _ in range(3)]
    items = [s.strip() for s in text.replace(";", ",").split(",") if s.strip()]
    # the value at fault named ("-5, 1.5, 99" was told "must be integers", and -5 is one)
    bad = next((s for s in items if not (s.isascii() and s.isdigit()) or not 0 <= int(s) < 2**63), None)
    if bad is not None:
        raise UserError(f"keyframe seeds are whole numbers from 0 to 2^63 − 1 separated by commas, or 'random'; "
                        f"{bad[:30]!r} is not one")
    if not 2 <= len(items) <= MAX_KEYS:
        raise UserError(f"give 2 to {MAX_KEYS} seeds, got {len(items)}")
    return [int(s) for s in items]


def _class_index(model, name: str | None) -> int | None:
    """The chosen class's index; None for "every class in turn" and for an unconditional model."""
    if name in _NO_CLASS_NAMES:
        return None
    if name not in FASHION_MNIST_CLASSES[: model.cfg.n_classes or len(FASHION_MNIST_CLASSES)]:
        raise UserError(f"unknown class {str(name)[:40]!r}")
    return FASHION_MNIST_CLASSES.index(name) if model.cfg.n_classes else None


def _class_embeddings(G, model, class_a: str | None, class_b: str | None, n_keys: int, frames: int,
                      closed: bool = False) -> torch.Tensor | None:
    """Per-frame class embeddings (None if unconditional): blended from class A to class B over the walk, or,
    with no class chosen, keyframe k's class is k mod n_classes and the walk blends between them."""
    if not model.cfg.n_classes:
        return None
    a, b = _class_index(model, class_a), _class_index(model, class_b)
    if a is None:
        keys = G.embed.weight[torch.arange(n_keys) % model.cfg.n_classes]
        if n_keys < 2 and not closed:  # one code (a direction edit): the first class, nothing to blend
            return keys[:1].expand(frames, -1)
        return W.walk(keys, frames, "lerp", closed=closed)
    ea, eb = G.embed.weight[a], G.embed.weight[b if b is not None else a]
    t = torch.linspace(0, 1, frames).view(-1, 1)
    return (1 - t) * ea + t * eb


def conditional(store: ModelStore, name: str | None) -> bool:
    return bool(name) and bool(store.get(name, family="gan").cfg.n_classes)


# the end class's note while no start class is chosen
PICK_A_START = "choose a class on the left first: from 'every class in turn' the walk goes through all ten"


def end_class_control(class_a: str | None, **kwargs):
    """The walk's end class: used only from a chosen class, so greyed, and saying so, while the walk goes through
    every class in turn (a walk set it to Bag from there, saw no bag, and thought the control broken)."""
    import gradio as gr

    chosen = class_a not in _NO_CLASS_NAMES
    return gr.Dropdown(interactive=chosen, info=None if chosen else PICK_A_START, **kwargs)


def class_controls(store: ModelStore, name: str, *shown: str):
    """The class dropdowns for a checkpoint (given the values they `shown`): enabled for a conditional model
    (back to "every class in turn" from the unconditional's "none"), disabled and reading "none" otherwise."""
    import gradio as gr

    if conditional(store, name):
        a, b = shown or (None, None)
        # a value is set only where one must change (from an unconditional's "none"): a restored class, set with
        # the checkpoint, was put back to the value the dropdown held before (see `space_control`)
        start = {"value": NO_CLASS} if a in (UNCONDITIONAL, None) else {}
        return (gr.Dropdown(interactive=True, info=None, **start),
                end_class_control(start.get("value", a), **({"value": SAME_CLASS} if b in (UNCONDITIONAL, None) else {})))
    # an unconditional model shows no class: a class left from the model before read as if it applied, and
    # "(every class in turn)", greyed, read as if it drew the classes in turn
    return (gr.Dropdown(value=UNCONDITIONAL, interactive=False,
                        info="this model is unconditional: it has no class to choose"),) * 2


def space_control(store: ModelStore, name: str, space: str):
    """The z/w choice for a checkpoint: both for a model with a mapping network; z alone otherwise (a w left
    chosen from the previous model made Directions and the loop fail)."""
    import gradio as gr

    mapped = bool(name) and store.get(name, family="gan").cfg.mapping_layers > 0
    # a mapped model's choice is left as it is: this runs on a checkpoint change with the radio's value as it was
    # then, and a restored "w", set with the checkpoint, was put back to that older "z"
    return gr.Radio(choices=["z", "w"]) if mapped else gr.Radio(choices=["z"], value="z")


def _files(frames: list[np.ndarray], stem: str) -> tuple[str, str]:
    return export_file(gif_bytes(frames, 80), stem, ".gif"), export_file(mp4_bytes(frames, 12), stem, ".mp4")


@user_errors
def sample_grid(store: ModelStore, name: str, seed, n, truncation, class_name: str | None = None) -> np.ndarray:
    """`n` samples of checkpoint `name` drawn with `seed`, as one grid image (H, W, 3) uint8."""
    seed = number("seed", seed, 0, 2**63 - 1, integer=True)
    n = number("samples", n, 1, MAX_SAMPLES, integer=True)
    psi = number("truncation", truncation, 0.05, 1.0)
    model = store.get(name, family="gan")
    label = _class_index(model, class_name)
    images = sample(model.cfg, model.modules, n, torch.Generator().manual_seed(seed), label=label, truncation=psi)["images"]
    # at most 6 a row, the rows balanced: 8 a row drew 16 or 64 samples at 84-90 px in the tab's column
    view = frames_view(images, per_row=6, width=GRID_WIDTH)
    # 1 to 3 samples twice as large, where they fit the column (one sample was a 96-px image in a 700-px box)
    return upscale(view, 2) if 2 * view.shape[1] <= GRID_WIDTH else view


def _walk(store: ModelStore, name: str, seeds_text: str, frames, path: str, truncation, space: str,
          class_a: str | None = None, class_b: str | None = None) -> tuple[torch.Tensor, str]:
    """Walk through the keyframe seeds' codes -> (the frames, uint8 (F, C, H, W); the seeds used)."""
    frames = number("frames", frames, 2, MAX_FRAMES, integer=True)
    psi = number("truncation", truncation, 0.05, 1.0)
    path, space = choice("path", path, list(PATHS)), choice("space", space, ("z", "w"))
    seeds = parse_seeds(seeds_text)
    record_setting("seeds", ", ".join(map(str, seeds)))  # "random" is exported as the seeds drawn
    model = store.get(name, family="gan")
    G = model.modules["G_ema"]
    codes = W.walk(W.seed_codes(G, seeds, space), frames, path)
    images = W.render(G, codes, space, psi, class_emb=_class_embeddings(G, model, class_a, class_b, len(seeds), frames))
    return images, ", ".join(map(str, seeds))


@user_errors
def latent_walk(store: ModelStore, name: str, seeds_text: str, frames, path: str, truncation, space: str,
                class_a: str | None = None, class_b: str | None = None) -> tuple[np.ndarray, str, str, str]:
    """Walk through the keyframe seeds' codes -> (the frames in rows, GIF path, MP4 path, the seeds used)."""
    images, used = _walk(store, name, seeds_text, frames, path, truncation, space, class_a, class_b)
    return frames_view(images), *_files([upscale(f, 4) for f in frames_rgb(images)], "gan-walk"), used


@user_errors
def latent_walk_shown_first(store: ModelStore, *args):
    """`latent_walk` as the page runs it: the frames at once (the GIF and MP4 as they were), then everything with
    the new GIF and MP4. Their encoding took ~60 of a walk's ~80 ms, in front of the first frame."""
    import gradio as gr

    images, used = _walk(store, *args)
    view = frames_view(images)
    yield view, gr.skip(), gr.skip(), used
    yield view, *_files([upscale(f, 4) for f in frames_rgb(images)], "gan-walk"), used


@user_errors
def random_loop(store: ModelStore, name: str, seed, frames, truncation, space: str,
                class_a: str | None = None) -> tuple[str, str]:
    """A seamless loop through four codes drawn from `seed` (slerp, back to the start): GIF and MP4."""
    seed = number("seed", seed, 0, 2**63 - 4, integer=True)
    frames = number("frames", frames, 4, MAX_FRAMES, integer=True)
    psi = number("truncation", truncation, 0.05, 1.0)
    space = choice("space", space, ("z", "w"))
    model = store.get(name, family="gan")
    G = model.modules["G_ema"]
    codes = W.walk(W.seed_codes(G, [seed, seed + 1, seed + 2, seed + 3], space), frames, "slerp", closed=True)
    images = W.render(G, codes, space, psi, class_emb=_class_embeddings(G, model, class_a, None, 4, frames, True))
    return _files([upscale(f, 4) for f in frames_rgb(images)], "gan-loop")


@functools.lru_cache(maxsize=8)
def _directions(store: ModelStore, name: str, space: str, mtime: float):
    G = store.get(name, family="gan").modules["G_ema"]
    return W.principal_directions(G, space, N_DIRECTIONS)


@user_errors
def edit(store: ModelStore, name: str, seed, truncation, space: str, class_a: str | None, *amounts) -> np.ndarray:
    """Move the seed's code along the principal directions: code + sum_k a_k sigma_k v_k."""
    seed = number("seed", seed, 0, 2**63 - 1, integer=True)
    psi = number("truncation", truncation, 0.05, 1.0)
    amounts = [number("direction", a, -5, 5) for a in amounts]
    space = choice("space", space, ("z", "w"))  # before the cache, which needs a hashable key
    model = store.get(name, family="gan")
    G = model.modules["G_ema"]
    dirs, sigma = _directions(store, name, space, store.version(name))
    code = W.seed_codes(G, [seed], space)[0]
    for a, v, s in zip(amounts, dirs, sigma):
        code = code + a * s * v
    image = W.render(G, code.unsqueeze(0), space, psi, class_emb=_class_embeddings(G, model, class_a, None, 1, 1))
    return upscale(strip(image, padding=0), 8)


COLLAPSED_NATS = 1.0  # a class entropy (nats) under this: the model draws one or two classes (10 evenly: 2.30)


@user_errors
def checkpoint_loss(store: ModelStore, name: str) -> str:
    """The selected checkpoint's loss, written out (its config names the row of the table)."""
    if not name:
        return ""
    cfg = store.get(name, family="gan").cfg
    extra = f"; {cfg.n_critic} D steps per G step" if cfg.n_critic > 1 else ""
    # named: two models of one loss read the same line, and a walk took it for one left from the model before
    said = f"`{name}` was trained with {loss_equations(cfg.loss)}{extra}."
    m = read_card(store.root / name).get("metrics", {})
    if m.get("class_entropy", np.inf) < COLLAPSED_NATS:
        # BEGAN's grey texture in every sample and every direction, with no word that the model, not the tab, did it
        said += (f"\n\n**This model collapsed** (mode collapse): its card measured a class entropy of "
                 f"{m['class_entropy'] / np.log(2):.2f} bits over its samples (10 classes evenly: 3.32)"
                 + (f" and FID {m['fid']:.0f}" if "fid" in m else "") + ", so its samples are nearly all alike. It is "
                 "shipped as its loss's entry in the loss table: *Compare → The loss table* plots its training.")
    return said


def path_lengths(store: ModelStore) -> str:
    """The mapping models' measured perceptual path lengths in Z and W, from their cards (`evaluate`)."""
    said = []
    for name in store.names("gan"):
        m = read_card(store.root / name).get("metrics", {})
        if "ppl_z" in m and "ppl_w" in m:
            said.append(f"`{name}`: {m['ppl_w']:.0f} in $W$ against {m['ppl_z']:.0f} in $Z$")
    return (": perceptual path length (Karras et al. 2019) in the classifier's features, " + "; ".join(said)
            + " (*Lessons*, chapter 6, step 2)") if said else ""


EXPLANATION = r"""
**The game** (course notes, *GANs and diffusion models*): a generator $G$ maps noise $z \sim \mathcal{N}(0, I)$ to images; a discriminator $D$ tells real from generated,
$$\min_G \max_D V(D, G) = \mathbb{E}_{x \sim p_{\text{data}}}[\log D(x)] + \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))].$$
The non-saturating generator loss $-\mathbb{E}_z[\log D(G(z))]$ has the same fixed point but strong gradients while $D$ still wins; the table of the notes adds WGAN, WGAN-GP, LSGAN, DRAGAN, BEGAN (and hinge). The checkpoints `dcgan-<loss>-20min-fashion` were each trained with one loss of the table for 20 minutes; *Compare → The loss table* plots their FID over steps and time.

**Walking**: codes between two seeds' $z$ are decoded frame by frame, with *lerp* $(1-t)z_0 + t z_1$ or *slerp* (along the sphere where Gaussian codes live). With a **mapping network** (StyleGAN) $w = f(z)$ is an 8-layer MLP's output; walks in $W$ are smoother{path_lengths}. **Truncation** $w' = \bar w + \psi (w - \bar w)$ trades variety for quality.

**Directions** (GANSpace): principal components of sampled codes; each slider moves the image along one.
"""


def build(store: ModelStore) -> TabParts:
    import gradio as gr

    names = store.names("gan")
    first = names[0] if names else None
    classes = [NO_CLASS, *FASHION_MNIST_CLASSES]
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("### GAN latent walk\n**Try first:** press *Walk* with other seeds, or pick "
                        "`dcgan-mapping-fashion`, choose space *w* and walk; *Samples* draws a grid, *Directions* edits one "
                        "garment.")
            with gr.Row():
                # room for the longest name (dcgan-minimax-9400steps-fashion was cut at its "-fa")
                ckpt = gr.Dropdown(names, value=first, label="checkpoint", scale=3, min_width=300)
                # the first model's choices (w only with a mapping network): the page offered w for cdcgan
                mapped = bool(first) and store.get(first, family="gan").cfg.mapping_layers > 0
                space = gr.Radio(["z", "w"] if mapped else ["z"], value="z",
                                 label="space of walks, loops, directions (w: with a mapping network)", scale=2)
                trunc = gr.Slider(0.05, 1.0, 1.0, step=0.05, label="truncation ψ", scale=3)
            with gr.Row():
                # allow_custom_value: API callers may still send this choice's old name ("(model's own / none)");
                # the handlers check every value themselves
                cond = conditional(store, first)
                class_a = gr.Dropdown(classes, value=NO_CLASS if cond else UNCONDITIONAL,
                                      label="class (conditional models)", allow_custom_value=True, interactive=cond)
                class_b = gr.Dropdown([SAME_CLASS, *FASHION_MNIST_CLASSES], value=SAME_CLASS if cond else UNCONDITIONAL,
                                      label="walk to class (with a class chosen)", allow_custom_value=True,
                                      interactive=False, info=PICK_A_START if cond else None)
            with gr.Tab("Walk"):
                with gr.Row():
                    seeds = gr.Textbox("0, 1, 2", label="keyframe seeds (comma-separated; empty or 'random' draws three)")
                    frames = gr.Slider(2, MAX_FRAMES, 16, step=1, label="frames")
                    path = gr.Radio(list(PATHS), value="slerp", label="path")
                walk_go = gr.Button("Walk", variant="primary")
                with gr.Row():
                    gif = gr.Image(label="the walk, animated (GIF)", type="filepath", interactive=False,
                                   elem_id="gan-walk-gif", elem_classes="frames")
                    mp4 = gr.Video(label="MP4", autoplay=True, loop=True, elem_classes="anim")
                walk_strip = gr.Image(label="frames, left to right and down", interactive=False,
                                      format="png", elem_id="gan-walk", elem_classes="frames")
                used = gr.Textbox(label="seeds used", interactive=False)
            with gr.Tab("Random-walk loop"):
                loop_seed = gr.Number(0, label="seed", precision=0, minimum=0)
                loop_frames = gr.Slider(4, MAX_FRAMES, 48, step=1, label="frames")
                loop_go = gr.Button("Make a loop", variant="primary")
                with gr.Row():
                    # the same size side by side (the GIF sat small beside a box-filling MP4)
                    loop_gif = gr.Image(label="loop (GIF)", type="filepath", interactive=False,
                                        elem_id="gan-loop-gif")
                    loop_mp4 = gr.Video(label="loop (MP4)", autoplay=True, loop=True, elem_classes="anim")
            with gr.Tab("Samples"):
                # the space radio above is not the samples': a restored link showed z beside samples made at w
                gr.Markdown("Samples draw z ~ N(0, I) whatever the space above; ψ < 1 pulls them toward the mean "
                            "w on a model with a mapping network (StyleGAN's truncation), toward z = 0 otherwise.")
                seed = gr.Number(0, label="seed", precision=0, minimum=0)
                n = gr.Slider(1, MAX_SAMPLES, 16, step=1, label="samples")
                go = gr.Button("Sample", variant="primary")
                out = gr.Image(label="samples", type="numpy", interactive=False, format="png", elem_id="gan-samples")
            with gr.Tab("Directions"):
                gr.Markdown("Move a slider: the image follows along that principal direction of the latent "
                            "space (GANSpace); press Enter in *seed* for another starting sample.")
                edit_seed = gr.Number(0, label="seed", precision=0, minimum=0)
                sliders = [gr.Slider(-3, 3, 0, step=0.25, label=f"principal direction {k + 1} (σ)")
                           for k in range(N_DIRECTIONS)]
                edited = gr.Image(label="edited", interactive=False, format="png", elem_id="gan-edit")
        with gr.Column(scale=2):
            loss_md = gr.Markdown(checkpoint_loss(store, first) if first else "", latex_delimiters=LATEX)
            gr.Markdown(EXPLANATION.replace("{path_lengths}", path_lengths(store)), latex_delimiters=LATEX)

    # the class and z/w controls are settled before the outputs are redrawn for the new model (below). One event
    # per trigger (wiring.one_event_per_change): two on one .change re-ran each other forever in Gradio's page
    changed = ckpt.change(lambda name, sp, a, b: (checkpoint_loss(store, name), *class_controls(store, name, a, b),
                                                   space_control(store, name, sp)),
                          [ckpt, space, class_a, class_b], [loss_md, class_a, class_b, space], api_name=False)
    parts = TabParts(refresh=[(ckpt, lambda: store.names("gan"))])
    parts.pictures.update({"GAN: samples": out, "GAN: edited": edited})
    samples_named = {"checkpoint": ckpt, "seed": seed, "samples": n, "truncation": trunc, "class": class_a}
    wire(go.click, "gan_samples", samples_named, lambda *a: sample_grid(store, *a), out, parts, opening=bool(first))
    walk_named = {"checkpoint": ckpt, "seeds": seeds, "frames": frames, "path": path, "truncation": trunc,
                  "space": space, "class": class_a, "to class": class_b}
    walk_outs = [walk_strip, gif, mp4, used]
    wire(walk_go.click, "gan_walk", walk_named, lambda *a: (yield from latent_walk_shown_first(store, *a)),
         walk_outs, parts, opening=bool(first))
    wire(loop_go.click, "gan_loop", {"checkpoint": ckpt, "seed": loop_seed, "frames": loop_frames,
                                     "truncation": trunc, "space": space, "class": class_a},
         lambda *a: random_loop(store, *a), [loop_gif, loop_mp4], parts, opening=bool(first))
    edit_inputs = [ckpt, edit_seed, trunc, space, class_a, *sliders]
    # the seed runs on Enter (wired below): also on change, a bad seed was refused twice; the class, truncation
    # and space redraw it too (a Dress stayed a T-shirt until a slider moved)
    # (no spinner over the image: a drag sends a call per image, each ~30 ms, and the overlay flickered over it)
    for s in [*sliders, trunc, space]:
        s.change(lambda *a: edit(store, *a), edit_inputs, edited, api_name=False, show_progress="hidden")
    # the class also says whether the walk's end class applies, on any change: on `input` only, a class put back
    # by a restore left the end class greyed, as if unused (one event per trigger: wiring.one_event_per_change)
    # (an unconditional model's "none" leaves the end's own note, "this model is unconditional", as it is)
    class_a.change(lambda *a: (edit(store, *a), gr.skip() if a[4] == UNCONDITIONAL else end_class_control(a[4])),
                   edit_inputs, [edited, class_b], api_name=False)
    edit_named = {"checkpoint": ckpt, "seed": edit_seed, "truncation": trunc, "space": space, "class": class_a,
                  **{f"direction {k + 1}": s for k, s in enumerate(sliders)}}
    wire(edit_seed.submit, "gan_edit", edit_named, lambda *a: edit(store, *a), edited, parts, opening=bool(first))
    # what is shown belongs to the chosen model: a new checkpoint redraws the walk, the samples and the edit
    # (milliseconds each); the loop (seconds) is cleared, not redrawn
    for api, named, fn, outs in (("gan_walk", walk_named, latent_walk_shown_first, walk_outs),
                                 ("gan_samples", samples_named, sample_grid, out),
                                 ("gan_edit", edit_named, edit, edited)):
        n_outs = len(outs) if isinstance(outs, list) else 1
        changed.then(quietly(tagged(api, list(named), functools.partial(fn, store)), n_outs), list(named.values()),
                     outs, api_name=False)
    changed.then(lambda: (None, None), None, [loop_gif, loop_mp4], api_name=False)
    # a class picked by the user redraws the walk and the samples too (they showed the old class beside the new
    # one's edit); `input`, not `change`: a new checkpoint sets the class controls itself, and redraws above
    for api, named, fn, outs in (("gan_walk", walk_named, latent_walk_shown_first, walk_outs),
                                 ("gan_samples", samples_named, sample_grid, out)):
        n_outs = len(outs) if isinstance(outs, list) else 1
        gr.on([class_a.input, class_b.input] if api == "gan_walk" else [class_a.input],
              quietly(tagged(api, list(named), functools.partial(fn, store)), n_outs), list(named.values()), outs,
              api_name=False)
    return parts


if __name__ == "__main__":
    import gradio as gr

    with gr.Blocks(title="GAN latent walk") as demo:
        build(ModelStore())
    demo.launch()
