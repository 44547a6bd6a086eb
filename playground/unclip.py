"""Text to image → "DALL·E 2 (unCLIP)": the two stages over CLIP embeddings (Ramesh et al. 2022), side by side.

Text to image: a caption y -> the frozen CLIP's text embedding z_t -> the diffusion prior's image embedding
z_i ~ P(z_i | y) -> the decoder's image x ~ P(x | z_i). Beside it, the paper's baseline without a prior: z_t itself
decoded as if it were an image embedding (sec. 5.1). Variations: an image's own z_i = E_img(x), decoded from new
noise (sec. 3.1): what the embedding keeps (class, colour, size) stays, the rest is drawn anew.
Handlers are plain functions (store, strings, numbers) -> arrays; `text2image.build` lays out the section.
"""

from __future__ import annotations

import collections
import functools

import numpy as np
import torch
from PIL import Image

from trainers.core.captions import COLOURS, IMAGE_SIZE, SIZES, render
from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.errors import UserError
from trainers.core.images import from_uint8, grid, upscale
from trainers.unclip.embeddings import image_embeddings, same_weights, text_conditioning

from .errors import number, user_errors
from .models import ModelStore
from .uploads import image_to_grey, unlike_note
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
    return (number("seed", seed, 0, 2**31 - 1, integer=True), number("images", n, 1, MAX_IMAGES, integer=True),
            number("guidance", guidance, 0, 20), number("steps", steps, 1, MAX_STEPS, integer=True))


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
    # a photo, a busy background, nothing: variations of *that*
    note = unlike_note(grey, "CLIP and the decoder saw only garments, so the variations may look like none.") + note
    if not np.array_equal(grey, image_to_grey(image, IMAGE_SIZE, invert="no")):  # a plain white upload showed black
        note = ("Its light background was turned dark, as garments are light on black in the data: the first "
                "image is what the model was given. " + note)
    return strip, note


PATH_SCALE = 3  # a path's frames in one row (A, the frames, B: up to 8 x 96 px fit the column at 800 px)
MAX_FRAMES = 6


def _embedded(dec, images: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Garments (uint8 (1, 3, 32, 32) each, as `garment` draws them) -> (them, their z_i (N, D))."""
    x = torch.cat(images)
    device = next(dec.modules["unet_ema"].parameters()).device
    return x, image_embeddings(dec.modules["image_encoder"], from_uint8(x).to(device))


def _path_strip(images, titles: list[str]) -> np.ndarray:
    """One row of uint8 (3, 32, 32) images (a path's ends and its decodings), each titled, at PATH_SCALE."""
    return titled_strip([upscale(x.permute(1, 2, 0).numpy(), PATH_SCALE) for x in images], titles, gap=6)


def _frames(frames) -> int:
    return number("frames", frames, 2, MAX_FRAMES, integer=True)


def _grey(image, which: str) -> np.ndarray:
    """`image_to_grey` at the decoder's size, its refusal naming the box (with two boxes, "no image given" left the
    user to guess which)."""
    try:
        return image_to_grey(image, IMAGE_SIZE)
    except UserError as e:
        raise type(e)(f"{which}: {e}") from None


@user_errors
def interpolate(store: ModelStore, decoder: str, image_a, image_b, colour: str, size: str, seed, frames, guidance,
                steps):
    """Two garments -> (A, the decodings of slerp(z_A, z_B, t) for t from 0 to 1 from one noise, B; a note).
    DALL·E 2's interpolations (Ramesh et al. 2022, sec. 3.2), here with the DDIM noise fixed instead of varied."""
    from trainers.core.latent import slerp
    from trainers.unclip import decoder as D

    seed, _, guidance, steps = _settings(seed, 1, guidance, steps)
    k = _frames(frames)
    dec, _ = _pair(store, decoder)
    x, z = _embedded(dec, [garment(_grey(im, which), colour, size)
                           for im, which in ((image_a, "image A (the garment above)"), (image_b, "image B"))])
    ts = torch.linspace(0, 1, k)
    path = torch.nn.functional.normalize(slerp(z[0], z[1], ts), dim=-1)
    made = D.decode(dec.cfg, dec.modules, path, torch.Generator().manual_seed(seed), steps, guidance,
                    one_noise=True).cpu()
    strip = _path_strip([x[0], *made, x[1]], ["A", *(f"t = {t:.2g}" for t in ts.tolist()), "B"])
    note = (f"z_A and z_B sit at cosine **{float(z[0] @ z[1]):.2f}**; each frame decodes "
            "slerp(z_A, z_B, t) = [sin((1 − t)Ω) z_A + sin(tΩ) z_B] / sin Ω, cos Ω = z_A·z_B, from the same noise "
            "z_T, so only the embedding changes along the row. The ends are the decoder's reading of A and B, "
            "not the images themselves.")
    return strip, note


@user_errors
def apply_text_diff(store: ModelStore, decoder: str, image, colour: str, size: str, source, target, seed, frames,
                    guidance, steps):
    """A garment and two captions -> (it, the decodings of z_i turned towards z_d = norm(z_t(target) -
    z_t(source)) by slerp with theta from 0 to 0.5, from one noise; a note): DALL·E 2's text diffs (sec. 3.3)."""
    from trainers.unclip import decoder as D
    from trainers.unclip.embeddings import text_diff

    from .text2image import check_prompt

    seed, _, guidance, steps = _settings(seed, 1, guidance, steps)
    k = _frames(frames)
    dec, _ = _pair(store, decoder)
    tok = dec.modules["text_encoder"].pipeline_tokenizer
    source = check_prompt(tok, " ".join(str(source or "").split()), "caption of the image")
    target = check_prompt(tok, " ".join(str(target or "").split()), "caption it should become")
    if source == target:
        raise UserError("the two captions are the same: their difference is no direction; change the second one "
                        "(e.g. 'a red dress' -> 'a red coat')")
    x, z_i = _embedded(dec, [garment(image_to_grey(image, IMAGE_SIZE), colour, size)])
    z_from, z_to = text_conditioning(dec.modules["text_encoder"], [source, target])[0]
    thetas = torch.linspace(0, 0.5, k)
    path = text_diff(z_i[0], z_from, z_to, thetas)
    made = D.decode(dec.cfg, dec.modules, path, torch.Generator().manual_seed(seed), steps, guidance,
                    one_noise=True).cpu()
    # no end image: the last frame is the edit (the image stands first); "theta" spelt out: the strip's font has
    # no θ (it drew a box)
    strip = _path_strip([x[0], *made], ["the image", *(f"theta = {t:.2g}" for t in thetas.tolist())])
    note = (f"z_d = (z_txt(“{target}”) − z_txt(“{source}”)) / ‖·‖; each frame decodes slerp(z_i, z_d, θ) from the "
            f"same noise (θ = 0: z_i itself). The captions sit at cosine **{float(z_from @ z_to):.2f}** to each "
            f"other; the last frame's embedding is at cosine **{float(path[-1] @ z_i[0]):.2f}** to the image's.")
    return strip, note


MAP_PX, MAP_REAL = 420, 500  # the embedding map: its square, and how many held-out garments it places


@functools.lru_cache(maxsize=2)
def _real_embeddings(store: ModelStore, decoder: str, version: float):
    """z_i of MAP_REAL test garments (tinted and sized as the captioned test set draws them), their classes, and
    z_t of the 160 vocabulary captions, on the decoder's CLIP."""
    from trainers.core.captions import attributes, vocabulary_prompts

    from .vae import test_images

    dec, _ = _pair(store, decoder)
    images, labels = test_images()
    pick = np.arange(min(MAP_REAL, len(images)))  # the first: every class alike (the file cycles through them)
    attr = attributes(len(pick), seed=2)
    grey = torch.stack([torch.from_numpy(image_to_grey(Image.fromarray(images[i]), IMAGE_SIZE, invert="no"))
                        for i in pick]).float().div(255).unsqueeze(1)
    x = (render(grey, attr["colour"], attr["size"]) * 255).round().to(torch.uint8)
    _, z = _embedded(dec, [x])
    z_vocab = text_conditioning(dec.modules["text_encoder"], [p for p, *_ in vocabulary_prompts()])[0]
    return z.cpu(), labels[pick], z_vocab.cpu()


@user_errors
def embedding_map(store: ModelStore, decoder: str, prior: str, prompt, seed, n):
    """CLIP's embedding space drawn in 2-D by PCA: held-out garments' z_i by class, the 160 captions' z_t, the
    prompt's z_t and the prior's z_i for it -> (the map, a note). The two modalities sit apart (the modality gap,
    Liang et al. 2022): the prior's job is to carry a caption's z_t over to where images' z_i are."""
    from PIL import ImageDraw

    from trainers.unclip import prior as P

    from .text2image import check_prompt
    from .views import PALETTE, class_legend, font_at

    seed, n, *_ = _settings(seed, n, 1, 1)
    dec, pri = _pair(store, decoder, prior)
    prompt = check_prompt(dec.modules["text_encoder"].pipeline_tokenizer, " ".join(str(prompt or "").split()))
    z_real, labels, z_vocab = _real_embeddings(store, decoder, store.version(decoder))
    z_t = text_conditioning(dec.modules["text_encoder"], [prompt])[0].cpu()
    z_prior = P.generate(pri.cfg, pri.modules, [prompt] * n, torch.Generator().manual_seed(seed),
                         guidance=PRIOR_GUIDANCE).cpu()
    # the axes: the two largest principal components of the images' and captions' embeddings together
    both = torch.cat([z_real, z_vocab])
    mean = both.mean(0)
    _, sv, v = torch.linalg.svd(both - mean, full_matrices=False)
    axes = v[:2].T
    share = float((sv[:2] ** 2).sum() / (sv ** 2).sum())
    pts = {k: ((z - mean) @ axes).numpy() for k, z in
           (("real", z_real), ("vocab", z_vocab), ("text", z_t), ("prior", z_prior))}
    allp = np.concatenate(list(pts.values()))
    lo, hi = allp.min(0), allp.max(0)
    pad = 18

    def px(p):
        return (pad + (p[..., 0] - lo[0]) / max(hi[0] - lo[0], 1e-8) * (MAP_PX - 2 * pad),
                MAP_PX - pad - (p[..., 1] - lo[1]) / max(hi[1] - lo[1], 1e-8) * (MAP_PX - 2 * pad))

    legend_px = 84
    canvas = Image.new("RGB", (MAP_PX, MAP_PX + legend_px), "white")
    draw = ImageDraw.Draw(canvas)
    draw.rectangle([0, 0, MAP_PX - 1, MAP_PX - 1], outline=(200, 200, 200))
    for (x, y), k in zip(zip(*px(pts["real"])), labels):
        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=tuple(int(c) for c in PALETTE[k]))
    for x, y in zip(*px(pts["vocab"])):  # the captions: hollow grey squares
        draw.rectangle([x - 3, y - 3, x + 3, y + 3], outline=(120, 120, 120))
    for x, y in zip(*px(pts["prior"])):  # the prior's z_i: black rings
        draw.ellipse([x - 6, y - 6, x + 6, y + 6], outline="black", width=2)
    (x, y), = zip(*px(pts["text"]))  # the prompt's z_t: a black star (a cross of two bars)
    draw.line([(x - 8, y), (x + 8, y)], fill="black", width=3)
    draw.line([(x, y - 8), (x, y + 8)], fill="black", width=3)
    font = font_at(12)
    class_legend(draw, FASHION_MNIST_CLASSES, MAP_PX + 6, MAP_PX, row_px=18)  # two rows of five, then the marks
    y0 = MAP_PX + 46
    draw.rectangle([6, y0 + 4, 12, y0 + 10], outline=(120, 120, 120))
    draw.text((18, y0 + 1), "the 160 captions' z_txt", fill="black", font=font)
    draw.line([(180, y0 + 7), (192, y0 + 7)], fill="black", width=3)
    draw.line([(186, y0 + 1), (186, y0 + 13)], fill="black", width=3)
    draw.text((198, y0 + 1), "the prompt's z_txt", fill="black", font=font)
    draw.ellipse([306, y0 + 1, 318, y0 + 13], outline="black", width=2)
    draw.text((322, y0 + 1), "the prior's z_i", fill="black", font=font)
    draw.text((4, y0 + 20), f"dots: {len(z_real)} held-out garments' z_i · PC 1, 2: {share:.0%} of the variance",
              fill=(80, 80, 80), font=font)
    gap = float((z_real.mean(0) - z_vocab.mean(0)).norm())
    cos_prior = float((z_prior @ z_real.T).max(1).values.mean())
    # where the rings landed, in CLIP's space rather than in the plot: the class most of each one's 10 nearest
    # garments are ("should land among the garments asked for" sat beside rings drawn among the sandals)
    near = torch.as_tensor(labels)[(z_prior @ z_real.T).topk(min(10, len(z_real)), dim=1).indices]
    landed = collections.Counter(FASHION_MNIST_CLASSES[int(row.mode().values)] for row in near)
    landed_text = ", ".join(f"{name} ({k})" if k > 1 else name for name, k in landed.most_common())
    note = (f"The captions' embeddings (squares) and the garments' (dots) sit apart, {gap:.2f} between their means "
            "(unit vectors): the *modality gap* of CLIP (Liang et al. 2022). The prompt's z_txt (the cross) sits "
            "among the captions; the prior's job is to put its z_i (rings) among the garments of what the prompt "
            f"asks for. Here, in CLIP's {z_real.shape[1]} dimensions, most of each ring's 10 nearest garments are: "
            f"**{landed_text}**, at cosine {cos_prior:.2f} to its nearest garment on average (the plot keeps "
            f"{share:.0%} of the variance, so a ring can look nearer other garments than it is). The decoder was "
            "trained on z_i, which is why the prior helps (sec. 5.1).")
    return np.asarray(canvas), note


def build_section(store: ModelStore, prompt, guidance, steps, seed, batch, parts, tab=None) -> None:
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
    with gr.Row():
        emb_map = gr.Image(label="CLIP's embedding space (PCA): garments, captions, the prompt, the prior's z_i",
                           interactive=False, format="png", elem_id="unclip-map", scale=3)
        emb_note = gr.Markdown()
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
    gr.Markdown("#### Interpolation and text diffs\nDALL·E 2's two edits of an image embedding (Ramesh et al. "
                "2022, sec. 3.2-3.3), each frame decoded from the same noise: a path from the garment above (A) to "
                "another (B), slerp(z_A, z_B, t); and a turn of its z_i towards the difference of two captions, "
                "z_d = norm(z_txt(to) − z_txt(from)), by slerp(z_i, z_d, θ) for θ from 0 to 0.5. Colour and size "
                "above apply to both garments.")
    with gr.Row():
        image_b = gr.Image(examples[9] if len(examples) > 9 else None, type="pil", label="B", height=200,
                           sources=["upload", "clipboard"], image_mode=None)
        with gr.Column():
            frames = gr.Slider(2, MAX_FRAMES, 5, step=1, label="frames")
            path_go = gr.Button("Interpolate A → B", variant="primary")
    path_out = gr.Image(label="A | slerp(z_A, z_B, t) | B (one noise)", interactive=False, format="png",
                        elem_id="unclip-path", elem_classes="sheet")
    path_note = gr.Markdown()
    with gr.Row():
        source = gr.Textbox("a large blue sneaker", label="from: what the garment above is", max_length=300)
        target = gr.Textbox("a large blue ankle boot", label="to: what it should become", max_length=300)
    diff_go = gr.Button("Turn it towards the text diff", variant="primary")
    diff_out = gr.Image(label="the image | slerp(z_i, z_d, θ) (one noise)", interactive=False, format="png",
                        elem_id="unclip-diff", elem_classes="sheet")
    diff_note = gr.Markdown()
    parts.pictures.update({"unCLIP: prior | no prior": out, "unCLIP: variations": var_out,
                           "unCLIP: interpolation": path_out, "unCLIP: text diff": diff_out})
    # no openings: the page's load events are at their budget of outputs (see the map's above)
    wire(path_go.click, "unclip_interpolate", {"decoder": decoder, "image A": image, "image B": image_b,
                                               "colour": colour, "size": size, "seed": seed, "frames": frames,
                                               "guidance": guidance, "steps": steps},
         lambda *a: interpolate(store, *a), [path_out, path_note], parts)
    wire(diff_go.click, "unclip_text_diff", {"decoder": decoder, "image": image, "colour": colour, "size": size,
                                             "from": source, "to": target, "seed": seed, "frames": frames,
                                             "guidance": guidance, "steps": steps},
         lambda *a: apply_text_diff(store, *a), [diff_out, diff_note], parts)
    made = wire(go.click, "unclip", {"decoder": decoder, "prior": prior, "prompt": prompt, "seed": seed,
                                     "images": batch, "guidance": guidance, "steps": steps},
                lambda *a: text_to_image(store, *a), [out, note], parts, opening=bool(decoders and priors))
    said_stale(made, prompt, stale, go.value, prompt.value if decoders and priors else None)  # the images above are of the prompt they were made for
    # after the images succeed, not beside them on the click: an empty prompt was refused twice, in two toasts
    wire(made.success, "unclip_embeddings", {"decoder": decoder, "prior": prior, "prompt": prompt, "seed": seed,
                                         "images": batch},
         # seconds of compute: by the start-up work, shown when the page is opened (the page's load events stay
         # within their budget of outputs: each costs every later click a loading status, tests/test_e2e.py)
         lambda *a: embedding_map(store, *a), [emb_map, emb_note], parts, opening=bool(decoders and priors),
         opened_by=tab)
    wire(var_go.click, "unclip_variations", {"decoder": decoder, "image": image, "colour": colour, "size": size,
                                             "seed": seed, "images": batch, "guidance": guidance, "steps": steps},
         lambda *a: variations(store, *a), [var_out, var_note], parts,
         opening=bool(decoders) and len(examples) > 7 and {"image": shipped_image(examples[7])})
