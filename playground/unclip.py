"""Text to image → "DALL·E 2 (unCLIP)": the two stages over CLIP embeddings (Ramesh et al. 2022), side by side.

Text to image: a caption y -> the frozen CLIP's text embedding z_t -> the diffusion prior's image embedding
z_i ~ P(z_i | y) -> the decoder's image x ~ P(x | z_i). Beside it, the paper's baseline without a prior: z_t itself
decoded as if it were an image embedding (sec. 5.1). Variations: an image's own z_i = E_img(x), decoded from new
noise (sec. 3.1): what the embedding keeps (class, colour, size) stays, the rest is drawn anew.
Handlers are plain functions (store, strings, numbers) -> arrays; `text2image.build` lays out the section.
"""

from __future__ import annotations

import numpy as np
import torch

from trainers.core.captions import COLOURS, IMAGE_SIZE, SIZES, render
from trainers.core.errors import UserError
from trainers.core.images import from_uint8, grid, upscale
from trainers.unclip.embeddings import image_embeddings, same_weights, text_conditioning

from .errors import number, user_errors
from .models import ModelStore
from .uploads import image_to_grey, unlike_data
from .views import titled_strip

MAX_IMAGES, MAX_STEPS = 8, 100
SCALE = 4  # 32-px images at 128 px, as the X/Y grid's cells (at 96 px a walk found the garments too small)
PER_ROW = 4  # a batch of 8 wraps: in one row it scrolled sideways at 1400 px
# the prior's own guidance: its z_i named the right one of the 160 prompts "a {size} {colour} {class}" for 0.844
# of 1000 held-out captions at w = 2, 0.730 at w = 1 (real images' z_i: 0.783; `python -m trainers evaluate
# <prior> --n 1000 --guidance=2`)
PRIOR_GUIDANCE = 2.0


def _pair(store: ModelStore, decoder: str, prior: str | None = None):
    dec = store.get(decoder, family="unclip_decoder")
    if prior is None:
        return dec, None
    pri = store.get(prior, family="unclip_prior")
    if not same_weights(pri.modules["image_encoder"], dec.modules["image_encoder"]):
        raise UserError(f"{prior} and {decoder} were trained on different CLIPs: the prior's embeddings would mean "
                        "nothing to the decoder")
    return dec, pri


def _row(images: torch.Tensor) -> np.ndarray:
    return upscale(grid(images.cpu(), nrow=min(PER_ROW, len(images)), padding=2), SCALE)


def _settings(seed, n, guidance, steps) -> tuple[int, int, float, int]:
    return (int(number("seed", seed, 0, 2**31 - 1)), int(number("images", n, 1, MAX_IMAGES)),
            number("guidance", guidance, 0, 20), int(number("steps", steps, 1, MAX_STEPS)))


def through_prior(store: ModelStore, decoder: str, prior: str, prompt, seed, n, guidance, steps):
    """A prompt -> (images decoded from the prior's z_i, images decoded from z_t itself, uint8 (n, 3, 32, 32) each,
    and the mean cosine of each row's embeddings to z_t). Both rows start from the same decoder noise."""
    from trainers.unclip import decoder as D  # diffusers: imported on first use, not at the app's start
    from trainers.unclip import prior as P

    from .text2image import check_prompt  # the tab's own check: one limit on every page that takes a prompt

    seed, n, guidance, steps = _settings(seed, n, guidance, steps)
    dec, pri = _pair(store, decoder, prior)
    # over the CLIP's context the tokenizer would cut the prompt silently: refused, as latent diffusion's page does
    prompt = check_prompt(dec.modules["text_encoder"].pipeline_tokenizer, " ".join(str(prompt or "").split()))
    z_prior = P.generate(pri.cfg, pri.modules, [prompt] * n, torch.Generator().manual_seed(seed),
                         guidance=PRIOR_GUIDANCE)
    z_t = text_conditioning(dec.modules["text_encoder"], [prompt])[0].expand(n, -1)
    rows = [D.decode(dec.cfg, dec.modules, z, torch.Generator().manual_seed(seed), steps, guidance).cpu()
            for z in (z_prior, z_t)]
    return rows[0], rows[1], [float((z * z_t).sum(1).mean()) for z in (z_prior, z_t)]


@user_errors
def text_to_image(store: ModelStore, decoder: str, prior: str, prompt, seed, n, guidance, steps):
    """A prompt -> (two rows: decoded from the prior's z_i | decoded from z_t itself, a note). Both rows start
    from the same decoder noise, so what differs is the embedding alone."""
    *rows, cos = through_prior(store, decoder, prior, prompt, seed, n, guidance, steps)
    dec = store.get(decoder, family="unclip_decoder")
    strip = np.concatenate([titled_strip([_row(rows[0])], ["through the prior: z_i ~ P(z_i | y), decoded"]),
                            titled_strip([_row(rows[1])], ["no prior: the text embedding z_txt decoded"])], 0)
    real = (dec.card.get("metrics_prior") or dec.card.get("metrics") or {}).get("real_clip_score")
    note = (f"Both rows start from the same decoder noise: only the embedding differs. The prior's z_i sit at "
            f"cosine **{cos[0]:.2f}** to the caption's z_txt on average"
            + (f" (held-out garments' own image embeddings: {real / 100:.2f} to their captions')" if real else "")
            + "; z_txt itself (cosine 1) is the paper's baseline without a prior (Ramesh et al. 2022, sec. 5.1).")
    return strip, note


def garment(image, colour: str, size: str) -> torch.Tensor:
    """Any garment image (or its light-on-black grey, uint8 (32, 32), from `image_to_grey`) -> the captioned
    data's kind of image, uint8 (1, 3, 32, 32): tinted `colour` and drawn `size` (`core.captions.render`, as the
    training data)."""
    if colour not in COLOURS:
        raise UserError(f"colour must be one of {', '.join(COLOURS)}, got {str(colour)[:40]!r}")
    if size not in SIZES:
        raise UserError(f"size must be one of {', '.join(SIZES)}, got {str(size)[:40]!r}")
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.shape == (IMAGE_SIZE, IMAGE_SIZE)):
        image = image_to_grey(image, IMAGE_SIZE)
    grey = torch.from_numpy(image).float().div(255).view(1, 1, IMAGE_SIZE, IMAGE_SIZE)
    rgb = render(grey, torch.tensor([list(COLOURS).index(colour)]), torch.tensor([SIZES.index(size)]))
    return (rgb * 255).round().to(torch.uint8)


def make_variations(store: ModelStore, decoder: str, image, colour: str, size: str, seed, n, guidance, steps):
    """A garment -> (it as the captioned data draws it, uint8 (1, 3, 32, 32); n decodings of its z_i from new
    noise, uint8 (n, 3, 32, 32); their mean pairwise RMS distance; their embeddings' mean cosine to z_i)."""
    from trainers.unclip import decoder as D

    seed, n, guidance, steps = _settings(seed, n, guidance, steps)
    dec, _ = _pair(store, decoder)
    x = garment(image, colour, size)
    device = next(dec.modules["unet_ema"].parameters()).device
    z_i = image_embeddings(dec.modules["image_encoder"], from_uint8(x).to(device))
    made = D.decode(dec.cfg, dec.modules, z_i.expand(n, -1), torch.Generator().manual_seed(seed), steps, guidance)
    flat = from_uint8(made.cpu()).flatten(1)
    spread = float(torch.pdist(flat).mean() / flat.shape[1] ** 0.5) if n > 1 else 0.0
    cos = float((image_embeddings(dec.modules["image_encoder"], from_uint8(made).to(device)) * z_i).sum(1).mean())
    return x, made.cpu(), spread, cos


@user_errors
def variations(store: ModelStore, decoder: str, image, colour: str, size: str, seed, n, guidance, steps):
    """A garment -> (it as the decoder's data draws it | n decodings of its z_i from new noise, a note with how
    far apart they are and how close their embeddings stay)."""
    grey = image_to_grey(image, IMAGE_SIZE)  # once: the model's input and the notes below are judged on it
    x, made, spread, cos = make_variations(store, decoder, grey, colour, size, seed, n, guidance, steps)
    n = len(made)
    strip = titled_strip([_row(x), _row(made)], ["the image", f"{n} variations: its z_i, new noise"], gap=16)
    note = (f"Mean pairwise RMS distance between the variations: **{spread:.2f}** (pixels in [-1, 1]). Their own "
            f"embeddings sit at cosine **{cos:.2f}** to the image's z_i: what CLIP sees stays, the rest is redrawn.")
    unlike = unlike_data(grey)  # a photo, a busy background, nothing: variations of *that*
    if unlike:
        note = unlike + " CLIP and the decoder saw only garments, so the variations may look like none.\n\n" + note
    if not np.array_equal(grey, image_to_grey(image, IMAGE_SIZE, invert="no")):  # a plain white upload showed black
        note = ("Its light background was turned dark, as garments are light on black in the data: the first "
                "image is what the model was given. " + note)
    return strip, note


def build_section(store: ModelStore, prompt, guidance, steps, seed, batch, parts) -> None:
    """The "DALL·E 2 (unCLIP)" page of the Text to image tab: the tab's prompt, guidance, steps, seed and batch
    drive it too, so one prompt is compared across the two ways of conditioning on text."""
    import gradio as gr

    from .uploads import example_paths, shipped_image
    from .wiring import said_stale, wire

    decoders, priors = store.names("unclip_decoder"), store.names("unclip_prior")
    gr.Markdown("Two stages over CLIP embeddings: the **prior** turns the caption's text embedding z_txt into an "
                "image embedding z_i, the **decoder** draws an image from z_i. The prompt, guidance (the "
                "decoder's), steps, seed and batch above drive this page too." if decoders else
                "No unCLIP checkpoints here: train them with `python -m trainers train unclip_prior` and "
                "`python -m trainers train unclip_decoder` (see docs/training.md).")
    with gr.Row():
        decoder = gr.Dropdown(decoders, value=(decoders or [None])[0], label="decoder P(x | z_i)")
        prior = gr.Dropdown(priors, value=(priors or [None])[0], label="prior P(z_i | y)")
    go = gr.Button("Generate through the prior, and without it", variant="primary")
    out = gr.Image(label="prior | no prior (same noise)", interactive=False, format="png", elem_id="unclip-out",
                   elem_classes="sheet")
    stale = gr.Markdown(elem_id="unclip-stale")
    note = gr.Markdown()
    gr.Markdown("#### Variations of an image\nThe image's own CLIP embedding z_i, decoded from new noise: what "
                "the embedding holds (class, colour, size) should stay, the rest is drawn anew.")
    examples = example_paths()
    with gr.Row():
        image = gr.Image(examples[7] if len(examples) > 7 else None, type="pil", label="a garment",
                         sources=["upload", "clipboard"], image_mode=None)
        with gr.Column():
            colour = gr.Dropdown(list(COLOURS), value="blue", label="colour it")
            size = gr.Radio(list(SIZES), value="large", label="size")
            var_go = gr.Button("Make variations", variant="primary")
    gr.Examples(examples, inputs=image, label="Fashion-MNIST test images")
    var_out = gr.Image(label="the image | its variations", interactive=False, format="png", elem_id="unclip-var",
                       elem_classes="sheet")
    var_note = gr.Markdown()
    parts.pictures.update({"unCLIP: prior | no prior": out, "unCLIP: variations": var_out})
    made = wire(go.click, "unclip", {"decoder": decoder, "prior": prior, "prompt": prompt, "seed": seed,
                                     "images": batch, "guidance": guidance, "steps": steps},
                lambda *a: text_to_image(store, *a), [out, note], parts, opening=bool(decoders and priors))
    said_stale(made, prompt, stale, go.value, prompt.value if decoders and priors else None)  # the images above are of the prompt they were made for
    wire(var_go.click, "unclip_variations", {"decoder": decoder, "image": image, "colour": colour, "size": size,
                                             "seed": seed, "images": batch, "guidance": guidance, "steps": steps},
         lambda *a: variations(store, *a), [var_out, var_note], parts,
         opening=bool(decoders) and len(examples) > 7 and {"image": shipped_image(examples[7])})
