"""Sampling a latent diffusion pipeline step by step, so the app can show every step.

`denoise` is `StableDiffusionPipeline.__call__` unrolled (tested to give the same images for the same
generator): encode the prompts with the frozen text encoder, draw z_T ~ N(0, I), then for each of the
scheduler's timesteps predict the noise for the empty/negative prompt and for the prompt and combine them
by classifier-free guidance (Ho & Salimans 2022, eq. 6, in the form diffusers uses):
    eps_hat = eps(z_t, "") + w (eps(z_t, y) - eps(z_t, ""))        w = guidance scale; w = 1: eps(z_t, y) alone
and let the scheduler take its step z_t -> z_{t-1}. Finally x = D(z_0 / scaling_factor).
`CrossAttentionMaps` records softmax(Q K^T / sqrt(d)) of every cross-attention layer (latent positions x
prompt tokens), the "where does each word act" picture.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from typing import Iterator

import torch
import torch.nn.functional as F

from ..clip.tokenizer import LOCK, tokenized
from ..core.captions import unknown_words
from ..core.errors import NothingGiven, UserError
from ..core.images import to_uint8
from ..ddpm.diffusion import eps_from_x0, x0_from_eps
from ..ddpm.samplers import guidance_limit, guided

SCHEDULERS = {"ddim": "DDIMScheduler", "ddpm": "DDPMScheduler", "euler": "EulerDiscreteScheduler",
              "dpm++": "DPMSolverMultistepScheduler"}


_resolved, _resolving = False, threading.Lock()
# their models are diffusers/transformers classes (unCLIP's too: loaded first, they printed "Loading weights" bars)
LIBRARY_FAMILIES = ("latent_diffusion", "ldm_inpaint", "clip", "autoencoder_kl", "unclip_decoder", "unclip_prior")


def resolve_lazy_imports() -> None:
    """Import the diffusers / transformers classes the app uses, once, under a lock; free after the first call.
    Both libraries resolve `from diffusers import X` lazily on first use, and that first resolution is not
    thread-safe: under concurrent first requests some threads got "ImportError: cannot import name
    'StableDiffusionPipeline'" (found by tests/test_load.py). Every path that loads a model or a pipeline
    calls this first; the app calls it in the background after the server is up (it takes seconds: diffusers
    imports torch._dynamo), so start-up does not wait for it. Their progress bars go too: a server's log is no
    terminal."""
    global _resolved
    if _resolved:
        return
    with _resolving:
        if _resolved:
            return
        import diffusers
        import transformers

        for name in ("StableDiffusionPipeline", "StableDiffusionInpaintPipeline", "AutoencoderKL", "UNet2DConditionModel", *SCHEDULERS.values()):
            getattr(diffusers, name)
        for name in ("CLIPModel", "CLIPTextModel", "CLIPTokenizer", "CLIPTokenizerFast", "CLIPProcessor"):
            getattr(transformers, name)
        diffusers.utils.logging.disable_progress_bar()
        transformers.utils.logging.disable_progress_bar()
        _resolved = True


def make_scheduler(name: str, config):
    """One of `SCHEDULERS` from a pipeline's scheduler config (DPM-Solver++ as `dpmsolver++`, order 2)."""
    import diffusers

    if name not in SCHEDULERS:
        raise UserError(f"scheduler must be one of {', '.join(SCHEDULERS)}, got {name!r}")
    extra = {"algorithm_type": "dpmsolver++", "solver_order": 2} if name == "dpm++" else {}
    return getattr(diffusers, SCHEDULERS[name]).from_config(config, **extra)


def make_pipeline(cfg, modules: dict, scheduler: str = "ddim"):
    from .train import pipeline, scheduler_config

    pipe = pipeline(cfg, modules)
    # from our own config: StableDiffusionPipeline's constructor resets a scheduler's clip_sample to False
    pipe.scheduler = make_scheduler(scheduler, scheduler_config(cfg))
    pipe.set_progress_bar_config(disable=True)
    return pipe


@dataclasses.dataclass
class Step:
    i: int  # 0-based step index; i == n_steps marks the final decoded images
    n_steps: int
    t: int
    latents: torch.Tensor  # the scheduler's latents after this step, (N, 4, 8, 8)
    z_t: torch.Tensor  # the U-Net's input at this step: z_t of the forward process (N, 4, 8, 8)
    eps_uncond: torch.Tensor | None  # eps(z_t, "") (None without guidance)
    eps_text: torch.Tensor  # eps(z_t, y)
    images: torch.Tensor | None = None  # uint8 (N, 3, H, W), at the end only


def encode_prompts(pipe, prompts: list[str], negative_prompt: str | None, guidance: float, both: bool = False):
    """(cond, uncond) hidden states as the pipeline makes them (uncond is None when w = 1, `guides`, unless
    `both`)."""
    two = guides(guidance) or both
    with LOCK:  # the pipeline's tokenizer, shared by every request (see `tokenized`)
        return pipe.encode_prompt(prompts, pipe.unet.device, 1, two, [negative_prompt or ""] * len(prompts) if two
                                  else None)


MAX_PROMPT_CHARS = 300


def check_prompt(tokenizer, prompt, what: str = "prompt", required: bool = True) -> str:
    """The prompt, stripped, or a UserError: empty, over MAX_PROMPT_CHARS, or more tokens than `tokenizer` reads
    (it would be cut silently). One check for everything that takes a prompt: the CLI's `sample`, and the app's
    text-to-image, unCLIP and lessons."""
    if prompt is None or not isinstance(prompt, str):
        prompt = ""
    prompt = prompt.strip()
    if required and not prompt:
        raise NothingGiven(f"the {what} is empty: describe a garment, e.g. 'a small red sneaker'")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UserError(f"the {what} has {len(prompt)} characters; at most {MAX_PROMPT_CHARS}")
    n = len(tokenized(tokenizer, prompt).input_ids)
    if n > tokenizer.model_max_length:
        unknown = unknown_words(prompt)  # spelled out piece by piece, they may be what made it long
        limit = tokenizer.model_max_length
        known = " ".join(w for w in prompt.split() if w.strip(".,;:!?").lower() not in {u.lower() for u in unknown})
        if unknown and len(tokenized(tokenizer, known).input_ids) <= limit:  # four words can be too long: said first
            raise UserError(f"this model never saw {', '.join(repr(w) for w in unknown[:6])}: it spells each unknown "
                            f"word out in pieces, which makes the {what} {n} tokens long, over the {limit} it reads "
                            "(start and end included). Drop those words or use its captions' words (small, large, a "
                            "colour, a garment)")
        # "41 tokens long (4 words)" left a walk asking why: emoji and symbols are spelled out byte by byte
        pieces = "" if prompt.isascii() and prompt.replace(" ", "").isalpha() else (
            ": symbols, emoji and words it never saw are spelled out in pieces, a token or more each")
        raise UserError(f"the {what} is {n} tokens long ({len(prompt.split())} words{pieces}); this model reads at "
                        f"most {limit} (start and end included): shorten it")
    return prompt


def guides(guidance: float) -> bool:
    """Whether w calls for eps(z_t, ""): any w but 1. w = 0 is the unconditional model and 0 < w < 1 a blend, as
    the equation says (diffusers' pipelines skip guidance for every w <= 1, so w = 0 drew w = 1's images: a walk
    found the slider's low end did nothing). For w >= 1 the images are the pipeline's."""
    return float(guidance) != 1.0


@torch.no_grad()
def denoise(pipe, prompts: list[str], gen: torch.Generator, steps: int, guidance: float,
            negative_prompt: str | None = "", latents: torch.Tensor | None = None,
            guidance_interval: float = 1.0, both: bool = False) -> Iterator[Step]:
    """Yield a `Step` per scheduler step, then one with the decoded images (see the module docstring).
    Guidance applies where t < guidance_interval * T (1: every step, as the diffusers pipeline); the steps
    above it use eps(z_t, y) alone (guidance in a limited interval, Kynkaenniemi et al. 2024; see the DDPM's
    `guided_eps`). Both predictions are still computed there, so every `Step` can show them; `both` computes
    eps(z_t, "") at w = 1 too, to be shown (the run is still w = 1's: eps(z_t, y) alone)."""
    t_max = guidance_limit(guidance_interval, pipe.scheduler.config.num_train_timesteps)
    if not prompts:
        raise UserError("no prompt given")
    if not 1 <= steps <= pipe.scheduler.config.num_train_timesteps:
        raise UserError(f"steps must be in [1, {pipe.scheduler.config.num_train_timesteps}], got {steps}")
    unet, sched = pipe.unet, pipe.scheduler
    device = unet.device
    two = guides(guidance) or both
    cond, uncond = encode_prompts(pipe, prompts, negative_prompt, guidance, both)
    sched.set_timesteps(steps, device=device)
    size = unet.config.sample_size
    if latents is None:  # z_T ~ N(0, I), drawn as the pipeline's prepare_latents draws it
        latents = torch.randn((len(prompts), unet.config.in_channels, size, size), generator=gen,
                              device=gen.device).to(device)
    latents = latents * sched.init_noise_sigma
    extra = pipe.prepare_extra_step_kwargs(gen, 0.0)
    if "use_clipped_model_output" in inspect.signature(sched.step).parameters:
        # DDIM clips z0_hat to the latents' range; re-derive eps from the clipped z0_hat (GLIDE), or the clip's
        # error compounds over many steps: DDIM-1000 drifts from DDIM-50 by 0.080 mean |pixel| with the
        # scheduler's default, 0.003 with this (ldm-fashion-captions, 4 prompts, w = 3)
        extra["use_clipped_model_output"] = True
    # Euler and DPM-Solver++ never clip z0_hat: hand them the eps of the clipped z0_hat instead (as above), or
    # the small model's wild z0_hat at high noise ruined 1 image in 8 (one seed and prompt; DDIM's was clean)
    clip = sched.config.get("clip_sample_range") if (sched.config.get("clip_sample") and type(sched).__name__
                                                      not in ("DDIMScheduler", "DDPMScheduler")) else None
    timesteps = sched.timesteps
    for i, t in enumerate(timesteps):
        z_t = sched.scale_model_input(latents, t)  # Euler keeps sigma-scaled latents; the U-Net sees z_t
        if two:
            eps_u, eps_c = unet(torch.cat([z_t] * 2), t, encoder_hidden_states=torch.cat([uncond, cond])).sample.chunk(2)
            # eps_hat = eps(z_t, "") + w (eps(z_t, y) - eps(z_t, "")), inside the guidance interval
            eps = (guided(eps_u, eps_c, guidance) if guides(guidance) and (t_max is None or int(t) < t_max)
                   else eps_c)
        else:
            eps_u, eps_c = None, unet(z_t, t, encoder_hidden_states=cond).sample
            eps = eps_c
        if clip is not None:
            a = sched.alphas_cumprod[int(t)].to(z_t.dtype)
            eps = eps_from_x0(z_t, x0_from_eps(z_t, eps, a).clamp(-clip, clip), a)
        latents = sched.step(eps, t, latents, **extra).prev_sample
        yield Step(i, len(timesteps), int(t), latents, z_t, eps_u, eps_c)
    yield Step(len(timesteps), len(timesteps), 0, latents, latents, None, eps_c, decode(pipe, latents))


@torch.no_grad()
def decode(pipe, latents: torch.Tensor) -> torch.Tensor:
    """x = D(z / scaling_factor) as uint8 (N, 3, H, W)."""
    return to_uint8(pipe.vae.decode(latents / pipe.vae.config.scaling_factor).sample)


class _StoreProcessor:
    """diffusers' plain attention processor (AttnProcessor) that also keeps the attention probabilities."""

    def __init__(self, store: list, name: str):
        self.store, self.name = store, name

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **_):
        b = hidden_states.shape[0]
        q = attn.head_to_batch_dim(attn.to_q(hidden_states))
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        k, v = attn.head_to_batch_dim(attn.to_k(context)), attn.head_to_batch_dim(attn.to_v(context))
        probs = attn.get_attention_scores(q, k, attention_mask)  # softmax(Q K^T / sqrt(d)), (B*heads, HW, L)
        self.store.append((self.name, probs.view(b, -1, *probs.shape[1:]).mean(1).detach()))  # (B, HW, L)
        out = attn.batch_to_head_dim(torch.bmm(probs, v))
        return attn.to_out[1](attn.to_out[0](out))


class CrossAttentionMaps:
    """Context manager: while active, every cross-attention layer (attn2) of `unet` records its maps."""

    def __init__(self, unet):
        self.unet, self.records = unet, []

    def __enter__(self):
        self._saved = dict(self.unet.attn_processors)
        procs = {name: (_StoreProcessor(self.records, name) if ".attn2." in name else proc)
                 for name, proc in self._saved.items()}
        self.unet.set_attn_processor(procs)
        return self

    def __exit__(self, *exc):
        self.unet.set_attn_processor(self._saved)

    def token_maps(self, image_size: int, row: int) -> torch.Tensor:
        """Per-token maps (L, image_size, image_size) for batch row `row`: every recorded layer's
        (HW, L) map upsampled to the image and averaged, each token's map scaled to [0, 1]."""
        maps = []
        for _, p in self.records:
            hw = p.shape[1]
            side = int(round(hw ** 0.5))
            m = p[row].T.reshape(-1, 1, side, side)  # (L, 1, s, s)
            maps.append(F.interpolate(m, size=(image_size, image_size), mode="bilinear", align_corners=False)[:, 0])
        if not maps:
            raise UserError("this U-Net has no cross-attention layers")
        m = torch.stack(maps).mean(0)
        lo, hi = m.flatten(1).min(1).values, m.flatten(1).max(1).values
        return (m - lo.view(-1, 1, 1)) / (hi - lo).clamp_min(1e-8).view(-1, 1, 1)
