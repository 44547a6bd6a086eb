"""Tab "Text to image": the CLIP-conditioned latent diffusion model, step by step.

Prompt -> frozen CLIP text encoder -> cross-attention U-Net denoising 4x8x8 latents -> frozen autoencoder's
decoder. The live view decodes z_t at every step; a second page shows classifier-free guidance at one step
(the unconditional, conditional and guided noise predictions and the x0 each implies); a third shows where
each prompt token acts (cross-attention maps). The model is the shipped pipeline, a local pipeline folder,
or a Hugging Face Hub id (Stable Diffusion 1.x / 2.x / turbo) when there is a network.
Handlers are pure functions (store, strings, numbers) -> arrays; `generate` streams.
"""

from __future__ import annotations

import copy
import math
import os
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import numpy as np
import torch

from trainers.clip.tokenizer import tokenized
from trainers.core import captions
from trainers.core.captions import UNKNOWN_WORDS_EFFECT, unknown_words
from trainers.core.errors import UserError
from trainers.core.images import grid, to_uint8, upscale
from trainers.ddpm.diffusion import x0_from_eps
from trainers.ddpm.samplers import guidance_limit, guided
from trainers.latent_diffusion.sampling import (MAX_PROMPT_CHARS, SCHEDULERS, CrossAttentionMaps, check_prompt, decode,
                                                denoise, guides, make_scheduler, resolve_lazy_imports)

from . import unclip
from .errors import number, user_errors
from .page import LATEX
from .views import LIVE_UPDATE_S, LiveUpdates, alpha_bar_text, count, frame_scale, guided_on
from .wiring import TabParts, said_stale, watch_prompt, wire
from .models import ModelStore

FAMILY = "latent_diffusion"
EXAMPLE_PROMPTS = ["a small red sneaker", "a large blue dress", "a photo of a small green bag", "a yellow ankle boot",
                   "a large purple coat", "a cyan t-shirt", "a small pink sandal", "an orange pullover"]
VOCABULARY_LINE = ("The shipped model knows only its captions' words: *small, large*; *"
                   + ", ".join(captions.COLOURS) + "*; *" + ", ".join(captions.CLASS_WORDS) + "*.")
MAX_BATCH, MAX_STEPS = 8, 200
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,95}$")
NETWORK_TIMEOUT_S = 3.0
UPDATE_S = LIVE_UPDATE_S  # the live view refreshes at most 5 times a second
_external: dict[str, object] = {}  # one loaded local / hub pipeline, by its source
_external_lock = threading.Lock()


def hub_reachable(host: str = "huggingface.co", timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """Whether the Hub answers a TCP connection within `timeout` s (DNS included, which can hang alone)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False

    def connect():
        with socket.create_connection((host, 443), timeout=timeout):
            return True

    with ThreadPoolExecutor(1) as pool:
        try:
            return pool.submit(connect).result(timeout=timeout)
        except (OSError, FutureTimeout):
            return False


def load_external(source: str):
    """A `StableDiffusionPipeline` from a local folder or a Hub id, safetensors only (cached, one at a time)."""
    resolve_lazy_imports()
    from diffusers import StableDiffusionPipeline

    source = source.strip()
    with _external_lock:
        if source in _external:
            return _external[source]
        folder = Path(source).expanduser()
        kwargs = dict(use_safetensors=True, dtype=torch.float32, safety_checker=None, requires_safety_checker=False)
        if folder.is_dir():
            if not (folder / "model_index.json").is_file():
                raise UserError(f"{source} is not a diffusers pipeline folder (no model_index.json)")
            where = f"the folder {source}"
        elif HUB_ID.match(source):
            where = f"the Hugging Face Hub id {source}"
            try:  # already downloaded: load from the cache with no network at all
                pipe = StableDiffusionPipeline.from_pretrained(source, local_files_only=True, **kwargs)
                return _remember(source, pipe)
            except (OSError, ValueError, EnvironmentError):
                pass
            if not hub_reachable():
                raise UserError(f"no network: {source} is not in the local Hugging Face cache and the Hub cannot be "
                                "reached from here. The shipped model keeps working; choose it above.")
        else:
            raise UserError(f"{source[:80]} is neither a pipeline folder on this machine nor a Hub id (org/name)")
        try:
            pipe = StableDiffusionPipeline.from_pretrained(source, **kwargs)
        except Exception as e:  # diffusers / hub errors vary by version; the message is what the user needs
            raise UserError(f"cannot load {where} as a Stable Diffusion pipeline with safetensors weights: "
                            f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}") from None
        return _remember(source, pipe)


def _remember(source: str, pipe):
    pipe.set_progress_bar_config(disable=True)
    _external.clear()  # keep one: a Stable Diffusion pipeline is gigabytes
    _external[source] = pipe
    return pipe


def pipeline_for(store: ModelStore, name: str, other: str | None, scheduler: str):
    """A fresh pipeline object (its own scheduler: concurrent requests share no state) for the chosen model."""
    resolve_lazy_imports()
    from diffusers import StableDiffusionPipeline
    from trainers.latent_diffusion.sampling import make_pipeline

    if scheduler not in SCHEDULERS:
        raise UserError(f"scheduler must be one of {', '.join(SCHEDULERS)}")
    if other and other.strip():
        base = load_external(other)
        pipe = StableDiffusionPipeline(**base.components)  # a new object over the same modules ...
        pipe.scheduler = make_scheduler(scheduler, base.scheduler.config)  # ... with its own scheduler
        return pipe
    if not name:
        raise UserError("no text-to-image model: train one (`scripts/training/train-ldm.sh`) or give a pipeline")
    model = store.get(name, family=FAMILY)
    return make_pipeline(model.cfg, model.modules, scheduler)


def garment_words(prompt) -> list[str]:
    """The captions' garment words a prompt names, each matched as a whole word ("shirt" inside "t-shirt" is not a
    second garment), in the classes' order."""
    from trainers.core import captions

    text = str(prompt or "").lower()
    return [word for word in captions.CLASS_WORDS if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)]


def vocabulary_note(other: str | None, prompt) -> str:
    """What the tab says under the prompt as it is typed: the words the shipped model never saw, if any, and what
    they do (with a garment named, they pull the image off it; with none, garments of its choosing)."""
    if other and str(other).strip():
        return ""
    unknown = unknown_words(prompt)
    if not unknown:
        return ""
    from trainers.core.captions import COLOURS

    named = garment_words(prompt)
    colours = [c for c in COLOURS if re.search(rf"(?<![\w-]){c}(?![\w-])", str(prompt or "").lower())]
    # "a red spaceship" was told "in a colour no word asked for", beside four red shapes
    colour = (f"in the colour asked for ({' or '.join(colours)})" if colours else "in a colour no word asked for")
    # "a large blue dress with a red sneaker" was told to expect coloured shapes, and drew blue dresses
    # not "it draws from the words it knows": a walk's "a zindlewomp red sneaker" drew trousers
    rest = (f"It still aims at the garment{'s' if len(named) > 1 else ''} {' and '.join(named)}"
            + (" (it was trained on one garment a caption: expect one of them)" if len(named) > 1 else "")
            + f", but {UNKNOWN_WORDS_EFFECT} " if named else
            "It draws from the words it knows; with no garment among them, it draws garment-like shapes of its "
            f"own choosing (every caption it learnt from named a garment), {colour}. ")
    return (f"**Note:** this model never saw the word{'s' if len(unknown) > 1 else ''} **{', '.join(unknown[:12])}**. "
            + rest + "(Unknown words are split into many tokens: a prompt longer than the model reads is refused.)")


def prompt_note(store: ModelStore, name: str, other: str | None, prompt) -> str:
    """`vocabulary_note`, or for a prompt the shipped model would refuse, the refusal: "xqzv blorf 12345 !!!" was told
    what the model would draw from it while Generate's message refused it as too long."""
    if other and str(other).strip() or not name or not str(prompt or "").strip():
        return vocabulary_note(other, prompt)
    from trainers.latent_diffusion.train import text_tokenizer

    try:
        check_prompt(text_tokenizer(store.get(name, family=FAMILY).modules), prompt)
    except UserError as e:
        return f"**Generate will refuse this prompt:** {e}."
    return vocabulary_note(other, prompt)


def guidance_interval_for(store: ModelStore, name: str, other: str | None) -> float:
    """Guidance applies for t < this x T: the model's `guidance_interval`, 1 (every step, as diffusers) for a
    pipeline given by folder or Hub id."""
    if other and other.strip():
        return 1.0
    return store.get(name, family=FAMILY).cfg.guidance_interval


def at_step_slider(steps, at):
    """The "step" slider of the guidance view follows the run's steps: its maximum is the steps, and a value past
    them comes back to the last step. At 1 step it is hidden (a slider needs two values: locked at 1, it showed a
    range of 1 to 2 beside "step 1/1")."""
    import gradio as gr

    try:
        n = max(1, min(int(float(steps)), MAX_STEPS))
        at = int(float(at))
    except (TypeError, ValueError):
        return gr.skip()
    return gr.Slider(maximum=max(n, 2), value=min(max(at, 1), n), interactive=n > 1, visible=n > 1)


def _settings(store, name, other, prompt, negative, guidance, steps, scheduler, seed, batch=1):
    # the numbers first: a wrong one is refused before any model is loaded (or a Hub id tried)
    guidance = number("guidance scale", guidance, 0, 20)
    steps = number("steps", steps, 1, MAX_STEPS, integer=True)
    seed = number("seed", seed, 0, 2**63 - 1, integer=True)
    batch = number("batch size", batch, 1, MAX_BATCH, integer=True)
    pipe = pipeline_for(store, name, other, scheduler)
    prompt = check_prompt(pipe.tokenizer, prompt)
    negative = check_prompt(pipe.tokenizer, negative, "negative prompt", required=False)
    return pipe, prompt, negative, guidance, steps, seed, batch


def _view(images: torch.Tensor) -> np.ndarray:
    """uint8 (N, 3, H, W) -> a grid, upscaled so 32-px images are visible."""
    g = grid(images, nrow=min(4, len(images)))
    return upscale(g, max(1, 256 // images.shape[-1]))


def clip_scores(store: ModelStore, images: torch.Tensor, prompt: str) -> list[float] | None:
    """The shipped CLIP's score 100 max(cos, 0) per image, or None without a CLIP checkpoint."""
    from trainers.latent_diffusion.metrics import clip_score

    names = store.names("clip")
    if not names:
        return None
    clip = store.get(names[0], family="clip")
    if images.shape[-1] != clip.cfg.image_size:
        images = torch.nn.functional.interpolate(images.float(), size=clip.cfg.image_size, mode="bilinear",
                                                 antialias=True).round().clamp(0, 255).to(torch.uint8)
    return [round(float(s), 2) for s in clip_score(clip, images, [prompt] * len(images))]


@user_errors
def generate(store: ModelStore, name: str, other: str, prompt: str, negative: str, guidance, steps,
             scheduler: str, seed, batch):
    """Stream (decoded z_t grid, progress) while sampling, then (final grid, summary with CLIP scores)."""
    pipe, prompt, negative, guidance, steps, seed, batch = _settings(store, name, other, prompt, negative, guidance,
                                                                     steps, scheduler, seed, batch)
    gen = torch.Generator().manual_seed(seed)
    interval = guidance_interval_for(store, name, other)
    t0, live, ts = time.perf_counter(), None, []
    t_max = guidance_limit(interval, pipe.scheduler.config.num_train_timesteps)
    for s in denoise(pipe, [prompt] * batch, gen, steps, guidance, negative, guidance_interval=interval):
        live = live or LiveUpdates(s.n_steps, interval_s=UPDATE_S)
        if s.images is None:
            ts.append(int(s.t))
            if live.due(s.i):
                yield _view(decode(pipe, s.latents)), f"step {s.i + 1}/{s.n_steps} (t = {s.t}): D(z_t) shown"
                live.shown()
        else:
            seconds = time.perf_counter() - t0
            scores = clip_scores(store, s.images, prompt) if not (other and other.strip()) else None
            # the model named: a folder or Hub id in the second box wins over the dropdown, which still shows its own
            used = other.strip() if other and other.strip() else name
            # the prompt named: after a refused prompt the last images stay, and read as the refused prompt's
            text = (f"done: {batch} image(s) of “{prompt}” by `{used}`, {count(s.n_steps, scheduler + ' step')}, "
                    # w as applied: 1 step at t = 999 said "w = 20" though the interval guided none of it
                    + f"w = {guidance}" + guided_on(ts, t_max)
                    + (f", negative prompt “{negative}”" if negative else "") + f", {seconds:.2f} s")
            if negative and " ".join(negative.lower().split()) == " ".join(prompt.lower().split()):
                # eps_neg + w (eps_c - eps_neg) with eps_neg = eps_c is eps_c at any w
                text += ("; the negative prompt is the prompt itself, so guidance cancels out: these are the "
                         "plain conditional model's images at any w")
            if scores is not None:
                text += f"; CLIP score (this project's CLIP) of each image, in order: {', '.join(map(str, scores))}"
            yield _view(s.images), text


def _latent_tiles(z: torch.Tensor) -> np.ndarray:
    """A latent (C, h, w) as its C channels in a square grid (2 x 2 for 4), each scaled to [0, 255] (grey),
    upscaled to >= MIN_FRAME_PX (a gallery's square box showed a row of four at ~50 px each) and framed in grey:
    on the white between them, a channel's white cells merged with the page and its corners looked cut off."""
    scale, tiles = frame_scale(z.shape[-1]), []
    for c in z:
        lo, hi = float(c.min()), float(c.max())
        tile = upscale(((c - lo) / max(hi - lo, 1e-8) * 255).round().to(torch.uint8).numpy(), scale)
        tile[:2], tile[-2:], tile[:, :2], tile[:, -2:] = 128, 128, 128, 128
        tiles.append(torch.from_numpy(tile))
    return grid(torch.stack(tiles).unsqueeze(1), nrow=math.ceil(math.sqrt(len(tiles))), padding=8)


@user_errors
def guidance_view(store: ModelStore, name: str, other: str, prompt: str, negative: str, guidance, steps,
                  scheduler: str, seed, at_step):
    """At one step of the run: eps(z_t, ""), eps(z_t, y) and the guided eps_hat, each as latent channels and
    as the x0 it implies, x0 = (z_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t), decoded."""
    w = number("guidance scale", guidance, 0, 20)
    pipe, prompt, negative, guidance, steps, seed, _ = _settings(store, name, other, prompt, negative, w, steps,
                                                                 scheduler, seed)
    at = number("step", at_step, 1, steps, integer=True) - 1
    from diffusers import DDIMScheduler

    alphas = DDIMScheduler.from_config(pipe.scheduler.config).alphas_cumprod  # the training schedule's alpha_bar
    gen = torch.Generator().manual_seed(seed)
    interval = guidance_interval_for(store, name, other)
    # both: at w = 1 too, the unconditional prediction is computed, to be shown
    for s in denoise(pipe, [prompt], gen, steps, guidance, negative, guidance_interval=interval, both=True):
        if s.i == at:
            break
    a = float(alphas[s.t])
    t_max = guidance_limit(interval, pipe.scheduler.config.num_train_timesteps)
    above = t_max is not None and s.t >= t_max
    # above the interval the run took the conditional row: the guided one is what guiding would have given
    used, unused = (", what the run used", ", not used at this step") if above else ("", "")
    eps = {"unconditional ε(z_t, ∅)": s.eps_uncond, f"conditional ε(z_t, y){used}": s.eps_text,
           f"guided ε̂ (w = {w:g}){unused}": guided(s.eps_uncond, s.eps_text, w)}
    gallery = []
    for label, e in eps.items():
        x0 = x0_from_eps(s.z_t, e, torch.tensor(a))
        if getattr(pipe.scheduler.config, "clip_sample", False):  # as the DDIM / DDPM step clips it
            x0 = x0.clamp(-pipe.scheduler.config.clip_sample_range, pipe.scheduler.config.clip_sample_range)
        gallery.append((upscale(grid(decode(pipe, x0), nrow=1), 6), f"x̂0 from {label}"))
        gallery.append((_latent_tiles(e[0]), f"{label}: the {e.shape[1]} latent channels"))
    note = (f"step {at + 1}/{steps} (t = {s.t}, ᾱ_t = {alpha_bar_text(a)}): ε̂ = ε(z_t, ∅) + w (ε(z_t, y) − ε(z_t, ∅)); "
            f"‖ε(z_t, y) − ε(z_t, ∅)‖ = {float((s.eps_text - s.eps_uncond).norm()):.3f}")
    if above:
        note = (f"**This step is above the guidance interval (t < {t_max:g}): the run used ε(z_t, y) here**, "
                "since guiding the noisiest steps hurts this model's samples; pick a later step to see guidance "
                "at work. " + note)
    return gallery, note


@user_errors
def attention_maps(store: ModelStore, name: str, other: str, prompt: str, guidance, steps, scheduler: str, seed):
    """The final image and, per prompt token, its cross-attention map (all layers and steps averaged)
    laid over its grey intensity: red where the token's keys drew the latent positions' queries."""
    pipe, prompt, _, guidance, steps, seed, _ = _settings(store, name, other, prompt, "", guidance, steps,
                                                          scheduler, seed)
    if sum(p.numel() for p in pipe.unet.parameters()) < 50_000_000:  # a private copy: concurrent runs keep
        pipe.unet = copy.deepcopy(pipe.unet)  # the fast attention (a multi-GB Hub U-Net is not copied)
    with CrossAttentionMaps(pipe.unet) as rec:
        *_, last = denoise(pipe, [prompt], torch.Generator().manual_seed(seed), steps, guidance, "",
                           guidance_interval=guidance_interval_for(store, name, other))
    image = last.images[0].float() / 255  # (3, H, W)
    size = image.shape[-1]
    maps = rec.token_maps(size, row=1 if guides(guidance) else 0)  # the conditional half of the guided batch
    ids = tokenized(pipe.tokenizer, prompt).input_ids
    tokens = pipe.tokenizer.convert_ids_to_tokens(ids)
    scale = max(1, 192 // size)
    shown_image = upscale(to_uint8(image[None] * 2 - 1).permute(0, 2, 3, 1)[0].numpy(), scale)
    out = [(shown_image, "image")]
    # each map in pure colour with the garment's outline in white: laid over the garment's own colours, a red
    # sneaker glowed red in every map; over its grey, the garment's brightness turned high attention pink and a
    # walk read the dress's map as "the dress is blue"
    outline = _outline(shown_image)
    labels = [tok.replace("</w>", "") for tok in tokens]
    if not (other and str(other).strip()):  # the shipped model: the pieces of a word it never saw say so
        labels = _pieces_named(pipe.tokenizer, prompt, labels)
    for k, label in enumerate(labels):
        m = maps[k]
        heat = torch.stack([m, torch.zeros_like(m), 1 - m])  # red = high attention, blue = low
        shown = upscale((heat * 255).round().to(torch.uint8).permute(1, 2, 0).numpy(), scale).copy()
        shown[outline] = 255
        out.append((shown, label))
    return out


def _pieces_named(tokenizer, prompt: str, labels: list[str]) -> list[str]:
    """Token labels [<|startoftext|>, ..., <|endoftext|>] with each piece of an unknown word named as such ("c"
    and "at" of "cat" read as two words the model knows, beside no note on this page); unchanged where the word
    by word tokens do not add up to the prompt's."""
    unknown = set(unknown_words(prompt))
    named = [labels[0]]
    for word in re.findall(r"\S+", prompt):
        pieces = tokenized(tokenizer, word, add_special_tokens=False).input_ids
        bare = re.sub(r"[^a-z-]", "", word.lower())
        for _ in pieces:
            k = len(named)
            if k >= len(labels) - 1:
                return labels
            named.append(f"{labels[k]} (a piece of “{bare}”, unknown)" if bare in unknown and len(pieces) > 1
                         else f"{labels[k]} (“{bare}”, unknown)" if bare in unknown else labels[k])
    return named + labels[-1:] if len(named) == len(labels) - 1 else labels


def _outline(image: np.ndarray, level: int = 40) -> np.ndarray:
    """(H, W, 3) uint8 -> bool (H, W): the border pixels of where the image is brighter than `level`."""
    inside = image.astype(np.int32).mean(-1) > level
    core = inside.copy()
    core[1:] &= inside[:-1]
    core[:-1] &= inside[1:]
    core[:, 1:] &= inside[:, :-1]
    core[:, :-1] &= inside[:, 1:]
    return inside & ~core


ATTENTION_KEY = (
    '<div style="display:flex;align-items:center;gap:8px;flex-wrap:wrap;font-size:var(--text-md)">'
    '<span style="white-space:nowrap"><b>blue</b> = attends least to the token '
    '<span style="display:inline-block;vertical-align:middle;width:120px;height:12px;border:1px solid #888;'
    'background:linear-gradient(to right, rgb(0,0,255), rgb(255,0,0))"></span> <b>red</b> = most</span>'
    '<span>white line: the garment\'s outline; each token scaled to its own range; all layers and steps '
    'averaged</span></div>')


EXPLANATION = r"""
**Latent diffusion** (course notes, *Latent Diffusion Models*): a pretrained autoencoder maps a 32×32 image to a 4×8×8 latent $z = \mathcal{E}(x)$; diffusion runs there, $z_t = \sqrt{\bar\alpha_t}\,z_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon$, and the decoder brings the result back, $x = \mathcal{D}(z_0)$.

**Conditioning**: a separately pretrained text encoder $\tau_\theta$ (this project's CLIP, trained contrastively on captioned garments) turns the prompt into one vector per token; the U-Net reads them through cross-attention, $\mathrm{softmax}(QK^\top/\sqrt d)\,V$ with $Q$ from the latent and $K, V$ from the tokens. Training minimises
$$L = \mathbb{E}\,\|\varepsilon - \varepsilon_\theta(z_t, t, \tau_\theta(y))\|^2 .$$

**Classifier-free guidance**: captions were dropped 10% of the time, so the same network also predicts $\varepsilon_\theta(z_t, t, \varnothing)$; sampling uses
$$\hat\varepsilon = \varepsilon_\theta(z_t, \varnothing) + w\,\big(\varepsilon_\theta(z_t, y) - \varepsilon_\theta(z_t, \varnothing)\big),$$
with the negative prompt in place of $\varnothing$ when given. $w = 1$: the plain conditional model. The shipped model guides only the steps with $t < 500$ (its `guidance_interval` 0.5; Kynkäänniemi et al. 2024) and uses $\varepsilon_\theta(z_t, y)$ above. Over the retrained autoencoder the garment is the one asked for in 88% of 1000 prompts either way (88.7% guided at every step, 87.9% with the interval; real images: 87.3%), and the interval keeps the garments closer to the data (FID of the grey intensity 6.2 against 8.2). A pipeline given by folder or Hub id is guided at every step, as diffusers does.

**Sampling**: at high noise the network's guess $\hat z_0 = (z_t - \sqrt{1-\bar\alpha_t}\,\hat\varepsilon)/\sqrt{\bar\alpha_t}$ multiplies its error by up to 150, so DDIM and DDPM clip $\hat z_0$ to $[-4, 4]$ (the latents' range), as the pixel DDPM clips $\hat x_0$ to $[-1, 1]$. Euler and DPM-Solver++ have no such clip of their own, so here they get the noise consistent with the clipped guess, $\hat\varepsilon = (z_t - \sqrt{\bar\alpha_t}\,\hat z_0)/\sqrt{1-\bar\alpha_t}$ (without it, this small model's wild guesses at high noise ruined about one image in eight).

**CLIP** (contrastive pretraining): for a batch of pairs, $s_{ij} = e^{t}\langle I_i, T_j\rangle$ and the loss $\tfrac12[\mathrm{CE}(s, \mathrm{diag}) + \mathrm{CE}(s^\top, \mathrm{diag})]$ pulls $(T_i, I_i)$ together and pushes $(T_i, I_j)$ apart. The CLIP score is $100\max(\cos(I, T), 0)$.

**DALL·E 2 (unCLIP)** (Ramesh et al. 2022): $P(x \mid y) = P(x \mid z_i)\,P(z_i \mid y)$ with $z_\text{txt}$ the caption's CLIP text embedding (the paper's $z_t$; here $z_t$ is the noisy latent) and $z_i$ an image embedding. The **prior**, a Transformer over [text tokens, $z_\text{txt}$, $t$, $z_i^{(t)}$], predicts the clean embedding: $L = \mathbb{E}\,\|f_\theta(z_i^{(t)}, t, y) - z_i\|^2$. The **decoder** is this tab's U-Net with $z_i$ added to the time embedding and projected into four extra tokens; $z_i$ was zeroed 10% of the time, for guidance. Decoding an image's own $z_i$ from new noise gives its variations.

Vocabulary of the shipped model: size *small / large*, colour *red, orange, yellow, green, cyan, blue, purple, pink*, and the ten Fashion-MNIST classes (*t-shirt, trousers, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot*).
"""


def build(store: ModelStore) -> TabParts:
    import gradio as gr

    names = store.names(FAMILY)
    first = names[0] if names else None
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("### Text to image (CLIP-conditioned latent diffusion)\n**Try first:** click an example "
                        "prompt below and press *Generate*; then compare guidance 1 and 5.")
            with gr.Row():
                ckpt = gr.Dropdown(names, value=first, label="shipped model")
                other = gr.Textbox("", label="or: a local pipeline folder or a Hub id (e.g. stabilityai/sd-turbo)",
                                   max_length=200)
            with gr.Row():
                # the boxes take more than a prompt may have: a pasted long prompt reaches the check whole and is
                # refused as too long (cut at 300 characters, mid-word, it was refused for the cut word)
                prompt = gr.Textbox("a small red sneaker", label="prompt", max_lines=1, max_length=4 * MAX_PROMPT_CHARS)
                negative = gr.Textbox("", label="negative prompt", max_lines=1, max_length=4 * MAX_PROMPT_CHARS)
            gr.Markdown(VOCABULARY_LINE)
            unknown = gr.Markdown()
            gr.Examples([[p] for p in EXAMPLE_PROMPTS], inputs=prompt, label="try a prompt (one click)")
            with gr.Row():
                # room for its 0-20 and its number box on one line (at ~100 px, exact values were hard to pick)
                guidance = gr.Slider(0, 20, 3, step=0.5, label="guidance scale w", scale=2, min_width=240)
                # its range said: 1000 typed became 200 with no word
                steps = gr.Slider(1, MAX_STEPS, 30, step=1, label="steps", info=f"1 to {MAX_STEPS}")
                scheduler = gr.Dropdown(list(SCHEDULERS), value="ddim", label="scheduler")
                seed = gr.Number(0, label="seed", precision=0, minimum=0)
                batch = gr.Slider(1, MAX_BATCH, 4, step=1, label="batch size")
            with gr.Tab("Generate (live)"):
                go = gr.Button("Generate", variant="primary")
                progress = gr.Markdown()
                gen_stale = gr.Markdown(elem_id="t2i-gen-stale")
                out = gr.Image(label="the images (while sampling: the current latent decoded)", interactive=False,
                               format="png",
                               elem_id="t2i-out")
            with gr.Tab("Guidance at one step"):
                # step 20 of 30 (t ~ 330): inside the guidance interval (t < 500), where the guided row differs
                # from the conditional one; step 5 (t ~ 830), the first a walk saw, is above it
                at = gr.Slider(1, steps.value, 20, step=1, label="step (of the run's steps)")
                cfg_go = gr.Button("Show the three noise predictions", variant="primary")
                cfg_note = gr.Markdown()
                cfg_stale = gr.Markdown(elem_id="t2i-cfg-stale")
                # two images a row ("unconditional | conditional | guided" read as three columns)
                cfg_out = gr.Gallery(label="a row each: unconditional, conditional, guided (its x̂0 | its ε, channel "
                                           "by channel)", columns=2, height="auto",
                                     elem_classes="full-gallery", object_fit="contain",  # "cover" cut the tiles
                                     elem_id="t2i-cfg")
            with gr.Tab("Cross-attention per token"):
                att_go = gr.Button("Show where each token acts", variant="primary")
                # the maps' key: without it a student could not tell which colour meant what
                gr.HTML(ATTENTION_KEY, elem_id="t2i-att-key")
                att_stale = gr.Markdown(elem_id="t2i-att-stale")
                # three a row: six drew each map at ~80 px, and its token's caption covered a third of it
                att_out = gr.Gallery(label="attention of the latent positions to each token", columns=3,
                                     height="auto", elem_classes="full-gallery")
            parts = TabParts(refresh=[(ckpt, lambda: store.names(FAMILY))])
            parts.pictures["Text to image: the images"] = out
            with gr.Tab("DALL·E 2 (unCLIP)") as unclip_tab:
                unclip.build_section(store, prompt, guidance, steps, seed, batch, parts, unclip_tab)
        with gr.Column(scale=2):
            gr.Markdown(EXPLANATION, latex_delimiters=LATEX)

    # the step to look at is one of the run's steps (the slider went to 200 for a 30-step run), at the same place
    # in the run: step 20 of 30 (t ~ 330, guided) stayed step 20 of 200 (t = 904, above the guidance interval)
    steps_before = gr.State(steps.value)

    def follow(n, step, before):
        try:
            step = max(1, round(float(step) * float(n) / float(before)))
        except (TypeError, ValueError, ZeroDivisionError):
            pass
        return at_step_slider(n, step), n

    steps.change(follow, [steps, at, steps_before], [at, steps_before], api_name=False, show_progress="hidden")
    common = {"checkpoint": ckpt, "other model": other, "prompt": prompt}
    generated = wire(go.click, "text_to_image", {**common, "negative prompt": negative, "guidance": guidance,
                                                 "steps": steps, "scheduler": scheduler, "seed": seed, "batch": batch},
                     lambda *a: (yield from generate(store, *a)), [out, progress], parts, opening=bool(first),
                     # a press during a run is kept and runs next, its settings as they are then (pressed again
                     # during a 12-s run with a new prompt, it was dropped without a word)
                     trigger_mode="always_last")
    cfg_event = wire(cfg_go.click, "t2i_guidance", {**common, "negative prompt": negative, "guidance": guidance,
                                                    "steps": steps, "scheduler": scheduler, "seed": seed, "step": at},
                     lambda *a: guidance_view(store, *a), [cfg_out, cfg_note], parts, opening=bool(first))
    att_event = wire(att_go.click, "t2i_attention", {**common, "guidance": guidance, "steps": steps,
                                                     "scheduler": scheduler, "seed": seed},
                     lambda *a: attention_maps(store, *a), [att_out], parts, opening=bool(first))
    # a view computed for one prompt says so once the prompt box holds another (a walk read the maps of
    # "a small red sneaker" as those of "a blue dress", typed after them)
    # (the images the tab opens with are of the prompt box's first text)
    opened = prompt.value if first else None
    for event, button, stale in ((generated, go, gen_stale), (cfg_event, cfg_go, cfg_stale),
                                 (att_event, att_go, att_stale)):
        said_stale(event, prompt, stale, button.value, opened)
    # under the prompt as it is typed: the words the model never saw, and which views are of another prompt
    watch_prompt(prompt, [prompt.change, other.change], lambda name, other, text:
                 prompt_note(store, name, other, text), [ckpt, other, prompt], unknown)
    return parts


if __name__ == "__main__":
    import gradio as gr

    with gr.Blocks(title="Text to image") as demo:
        build(ModelStore())
    demo.launch()
