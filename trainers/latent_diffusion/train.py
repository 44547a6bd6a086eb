"""Latent diffusion family: a cross-attention U-Net trained on the latents of a frozen autoencoder,
conditioned on a frozen CLIP text encoder, saved as a diffusers `StableDiffusionPipeline`.

Latent diffusion with conditioning (Rombach et al. 2022, eq. 2 and sec. 3.3):
    L_LDM = E_{E(x), y, eps ~ N(0, I), t} || eps - eps_theta(z_t, t, tau_theta(y)) ||^2
with z_0 = scaling_factor * E(x) the autoencoder's latent (4x8x8), z_t = sqrt(alpha_bar_t) z_0 +
sqrt(1 - alpha_bar_t) eps (the DDPM forward process, `ddpm/diffusion.py`, same symbols), and tau_theta(y) the
CLIP text encoder's per-token hidden states, which the U-Net reads through cross-attention
(Attention(Q, K, V) = softmax(Q K^T / sqrt(d)) V with Q from the latent, K and V from the tokens).
The caption is replaced by the empty prompt with probability `p_uncond`, so one network learns
eps(z_t, t, y) and eps(z_t, t, "") for classifier-free guidance (Ho & Salimans 2022). E, D and tau are frozen.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import weakref
from pathlib import Path

import torch
import torch.nn.functional as F

from ..clip.tokenizer import tokenized
from ..core.captions import captioned, vocabulary_prompts
from ..core.data import DataConfig
from ..core.errors import UserError
from ..ddpm.diffusion import q_sample
from ..ddpm.samplers import guidance_limit
from ..ddpm.train import optimise, schedule

BETA_START, BETA_END = 1e-4, 0.02  # the DDPM linear schedule (ddpm/diffusion.py), in the pipeline's scheduler
CLIP_LATENT = 4.0  # DDIM / DDPM clip the predicted z0 to this range (see `scheduler_config`)


def check_unet_options(cfg, who: str) -> None:
    """The options a captioned-data U-Net trainer shares (latent diffusion's, unCLIP's decoder): its data, its
    rates, and widths that GroupNorm (32 groups) and the attention heads divide."""
    if cfg.dataset != "captioned-fashion":
        raise UserError(f"{who} learns from --dataset=captioned-fashion, got {cfg.dataset!r}")
    if not 0 <= cfg.p_uncond < 1 or not 0 <= cfg.ema_decay < 1 or not 0 < cfg.lr <= 1:
        raise UserError("--p_uncond and --ema_decay must be in [0, 1), --lr in (0, 1]")
    if any(w % cfg.head_dim or w % 32 for w in cfg.widths):
        raise UserError(f"every --widths value must be a multiple of 32 and of --head_dim={cfg.head_dim}")


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    dataset: str = "captioned-fashion"
    channels: int = 3
    clip: str = "checkpoints/clip-fashion-captions"  # a CLIP folder (transformers): tokenizer + text encoder
    vae: str = "checkpoints/autoencoder-kl-fashion-captions"  # an AutoencoderKL folder (diffusers)
    widths: tuple[int, ...] = (32, 64)  # U-Net levels on the 8x8 latent: 8 -> 4 (1.1 M parameters)
    layers_per_block: int = 1
    head_dim: int = 32
    T: int = 1000
    p_uncond: float = 0.1
    lr: float = 3e-4
    grad_clip: float = 1.0
    ema_decay: float = 0.999  # warmed up as in the DDPM trainer: min(ema_decay, (1 + k) / (10 + k))
    sample_steps: int = 30  # DDIM steps for snapshots, `sample` and `evaluate`
    guidance: float = 3.0
    # guidance only for t < guidance_interval * T (1 = every step, as diffusers). ldm-fashion-captions (which sets
    # 0.5) at w = 3, DDIM 30, 1000 prompts: class right 0.583 guided everywhere, 0.676 for t < 500; CLIP score
    # 73.4 -> 78.8 (see the DDPM's `guided_eps`)
    guidance_interval: float = 1.0

    def validate(self) -> None:
        check_unet_options(self, "the latent diffusion trainer")
        if not 1 <= self.sample_steps <= self.T or not 0 <= self.guidance <= 20:
            raise UserError("--sample_steps must be in [1, T] and --guidance in [0, 20]")
        guidance_limit(self.guidance_interval, self.T)  # checks it


def check_resume(cfg: Config, out: Path) -> None:
    """Refuse to resume a run whose U-Net was built with other heads: same weight shapes, another function
    (e.g. a saved U-Net config with `attention_head_dim=32`, i.e. 32 heads per level, where `attention_heads`
    gives (1, 2) at the default widths). Such a run continues as a new one from its weights, `--init_from`."""
    saved = out / "unet" / "config.json"
    if saved.is_file():
        heads = json.loads(saved.read_text()).get("attention_head_dim")
        if list(heads if isinstance(heads, (list, tuple)) else [heads] * len(cfg.widths)) != list(attention_heads(cfg)):
            raise UserError(f"{out} was trained with attention_head_dim={heads} (diffusers' head count) and this code "
                            f"builds {list(attention_heads(cfg))}: resuming would change the network. Start a new run "
                            f"from its weights instead: --out=<new folder> --init_from={out}")


def _parts_folder(path: str, what: str, family: str) -> Path:
    p = Path(path)
    if not p.is_dir():
        raise UserError(f"--{what}={path} is not a folder; train it first: python -m trainers train {family} "
                        f"--out={path}")
    return p


def unet_for(cfg: Config, text_width: int, latent_channels: int, latent_size: int):
    from diffusers import UNet2DConditionModel

    n = len(cfg.widths)
    return UNet2DConditionModel(
        sample_size=latent_size, in_channels=latent_channels, out_channels=latent_channels,
        down_block_types=("CrossAttnDownBlock2D",) * n, up_block_types=("CrossAttnUpBlock2D",) * n,
        block_out_channels=tuple(cfg.widths), layers_per_block=cfg.layers_per_block,
        cross_attention_dim=text_width, attention_head_dim=attention_heads(cfg), norm_num_groups=32)


def attention_heads(cfg: Config) -> tuple[int, ...]:
    """Heads per level, so that each head has `cfg.head_dim` channels.

    Passed to `UNet2DConditionModel` as `attention_head_dim`: diffusers reads that argument as the NUMBER of heads
    (a naming bug it keeps for Stable Diffusion's configs, diffusers issue 2011; `num_attention_heads` is refused).
    Passing the head width instead, `attention_head_dim=32`, would build 32 heads of 1 and 2 channels at the default
    widths (32, 64)."""
    return tuple(w // cfg.head_dim for w in cfg.widths)


def build(cfg: Config) -> dict:
    from diffusers import AutoencoderKL
    from transformers import CLIPModel, CLIPTextModel

    clip = CLIPModel.from_pretrained(_parts_folder(cfg.clip, "clip", "clip"), use_safetensors=True, dtype=torch.float32)
    text = CLIPTextModel(clip.config.text_config)  # the text tower of the CLIP, alone
    text.load_state_dict(clip.text_model.state_dict())
    vae = AutoencoderKL.from_pretrained(_parts_folder(cfg.vae, "vae", "autoencoder_kl"), use_safetensors=True,
                                        dtype=torch.float32)
    latent = cfg.image_size // 2 ** (len(vae.config.block_out_channels) - 1)
    unet, ema = (unet_for(cfg, text.config.hidden_size, vae.config.latent_channels, latent) for _ in range(2))
    ema.load_state_dict(unet.state_dict())
    for frozen in (text, vae, ema):
        frozen.requires_grad_(False).eval()
    text.pipeline_tokenizer = tokenizer(cfg)
    return {"unet": unet, "unet_ema": ema, "vae": vae, "text_encoder": text}


def optimizers(cfg: Config, modules: dict) -> dict:
    return {"unet": torch.optim.AdamW(modules["unet"].parameters(), lr=cfg.lr, weight_decay=1e-2)}


def dataset(cfg: Config, split: str):
    return captioned(split, cfg.data_dir)


def tokenizer(cfg: Config):
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(cfg.clip)


@torch.no_grad()
def encode_text(tok, text_encoder, prompts: list[str]) -> torch.Tensor:
    """tau_theta(y): (N, L, width) hidden states, exactly as `StableDiffusionPipeline.encode_prompt` makes them."""
    ids = tokenized(tok, list(prompts), padding="max_length", max_length=tok.model_max_length, truncation=True,
                    return_tensors="pt").input_ids
    return text_encoder(ids.to(text_encoder.device))[0]


class FrozenOutputs:
    """What the frozen parts give for the training data, computed once per image and once per caption.

    E and tau never change during training, so E(x)'s posterior parameters (mean and log-variance) are kept per
    training image (its dataset index) and tau(y) per distinct caption (the vocabulary has ~1000): after the
    first epoch a step runs only the U-Net. The sample z_0 ~ N(mean, std) is still drawn anew at every step,
    with the same generator calls as `vae.encode(x).latent_dist.sample(generator)`. A batch with anything new
    is encoded whole, so every value comes from a batch of the same shape whatever was cached before (a resumed
    run, whose cache starts empty, gets the same numbers as an uninterrupted one). Holds no module: the cache
    lives as long as the text encoder it is keyed on (`frozen_outputs`)."""

    def __init__(self):
        self.moments: dict[int, torch.Tensor] = {}  # dataset index -> (2 * latent channels, h, w)
        self.text: dict[str, torch.Tensor] = {}  # caption -> (L, width)

    @torch.no_grad()
    def posterior(self, vae, x: torch.Tensor, index: torch.Tensor):
        from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution

        index = index.tolist()
        if any(i not in self.moments for i in index):
            moments = vae.encode(x).latent_dist.parameters
            self.moments.update((i, m) for i, m in zip(index, moments) if i not in self.moments)
        return DiagonalGaussianDistribution(torch.stack([self.moments[i] for i in index]))

    @torch.no_grad()
    def states(self, tok, text_encoder, captions: list[str]) -> torch.Tensor:
        if any(c not in self.text for c in captions):
            states = encode_text(tok, text_encoder, captions)
            self.text.update((c, h) for c, h in zip(captions, states) if c not in self.text)
        return torch.stack([self.text[c] for c in captions])


_frozen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # text encoder -> FrozenOutputs


def frozen_outputs(modules: dict) -> FrozenOutputs:
    """The cache of this run's frozen parts (one per text encoder, i.e. per run; gone with it)."""
    text = modules["text_encoder"]
    if text not in _frozen:
        _frozen[text] = FrozenOutputs()
    return _frozen[text]


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    unet, vae = modules["unet"], modules["vae"]
    x = batch["image"]  # (B, 3, 32, 32) in [-1, 1]
    b, device = x.shape[0], x.device
    frozen = frozen_outputs(modules)
    # the frozen parts: z_0 = scaling_factor * E(x) and tau(y)
    z0 = frozen.posterior(vae, x, batch["index"]).sample(generator=gen) * vae.config.scaling_factor
    drop = torch.rand(b, generator=gen, device=gen.device) < cfg.p_uncond
    cond = frozen.states(text_tokenizer(modules), modules["text_encoder"],
                         ["" if d else c for d, c in zip(drop.tolist(), batch["caption"])])
    # t ~ U{0..T-1}, eps ~ N(0, I), z_t = sqrt(alpha_bar_t) z_0 + sqrt(1 - alpha_bar_t) eps
    t = torch.randint(0, cfg.T, (b,), generator=gen, device=gen.device).to(device)
    eps = torch.randn(z0.shape, generator=gen, device=gen.device).to(device)
    zt = q_sample(schedule("linear", cfg.T, str(device)), z0, t, eps)
    # minimise || eps - eps_theta(z_t, t, tau(y)) ||^2
    loss = F.mse_loss(unet(zt, t, encoder_hidden_states=cond).sample, eps)
    return optimise(loss, opts, modules, accelerator, cfg.grad_clip, cfg.ema_decay)


def text_tokenizer(modules: dict):
    """The tokenizer that belongs to the text encoder (kept on it: a tokenizer is not an nn.Module)."""
    return modules["text_encoder"].pipeline_tokenizer


def scheduler_config(cfg: Config) -> dict:
    """The training schedule in diffusers' terms: any of its schedulers can be made `from_config` of it.

    DDIM and DDPM clip the predicted z0 to [-CLIP_LATENT, CLIP_LATENT] at each step (`clip_sample`, as the
    pixel DDPM clips x0 to [-1, 1]): at high noise x0_hat = (z_t - sqrt(1 - alpha_bar) eps) / sqrt(alpha_bar)
    multiplies the noise prediction's error by up to 1 / sqrt(alpha_bar_999) = 150, and a small, briefly
    trained U-Net's early steps then fly off (colour-filled frames); clipped, they stay among the latents'
    values (99% of the training latents' |z| are below 3.8). Euler and DPM-Solver++ have no such clip; our
    `sampling.denoise` gives them the noise of the clipped z0 (a plain diffusers call does not).
    Deviation: Stable Diffusion does not clip its latents."""
    return {"num_train_timesteps": cfg.T, "beta_start": BETA_START, "beta_end": BETA_END, "beta_schedule": "linear",
            "prediction_type": "epsilon", "clip_sample": True, "clip_sample_range": CLIP_LATENT,
            "set_alpha_to_one": False, "steps_offset": 1, "timestep_spacing": "trailing"}


def pipeline(cfg: Config, modules: dict):
    """A `StableDiffusionPipeline` over the modules (the EMA U-Net), no safety checker (garments only)."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    # the folder's own scheduler does not clip z0_hat: StableDiffusionPipeline would reset a clipping one, with a
    # deprecation warning on every construction. Our sampler sets the clipping DDIM after (`make_pipeline`).
    return StableDiffusionPipeline(
        vae=modules["vae"], text_encoder=modules["text_encoder"], tokenizer=text_tokenizer(modules),
        unet=modules["unet_ema"], scheduler=DDIMScheduler(**{**scheduler_config(cfg), "clip_sample": False}),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def save_pretrained(cfg: Config, modules: dict, folder: Path, fp16: bool = True) -> None:
    """The diffusers pipeline folder (fp32: from_pretrained would otherwise run fp16 on the CPU)."""
    pipeline(cfg, modules).save_pretrained(folder, safe_serialization=True)


def load_pretrained(cfg: Config, folder: Path) -> dict:
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(folder, use_safetensors=True, dtype=torch.float32,
                                                   safety_checker=None, requires_safety_checker=False)
    pipe.text_encoder.pipeline_tokenizer = pipe.tokenizer
    return {"unet_ema": pipe.unet, "vae": pipe.vae, "text_encoder": pipe.text_encoder}


def default_prompts(n: int) -> list[str]:
    """n prompts cycling through the 160 full-template captions in a fixed, mixed order."""
    prompts = [p for p, *_ in vocabulary_prompts()]
    order = torch.randperm(len(prompts), generator=torch.Generator().manual_seed(0)).tolist()
    return [prompts[order[i % len(prompts)]] for i in range(n)]


@torch.no_grad()
def sample(cfg: Config, modules: dict, n: int, gen: torch.Generator, prompt: str | None = None,
           steps: int | None = None, guidance: float | None = None, scheduler: str = "ddim",
           negative_prompt: str = "", batch: int = 100, prompts: list[str] | None = None,
           guidance_interval: float | None = None) -> dict:
    """n images uint8 (n, 3, 32, 32) for `prompt` (or `prompts`, or the vocabulary's prompts in turn)."""
    from ..core.captions import UNKNOWN_WORDS_EFFECT, unknown_words
    from .sampling import check_prompt, denoise, make_pipeline

    pipe = make_pipeline(cfg, modules, scheduler)
    if prompt is not None:  # a user's prompt (the CLI's --prompt): too long is refused, not cut; unknown words said
        prompt = check_prompt(pipe.tokenizer, prompt)
        negative_prompt = check_prompt(pipe.tokenizer, negative_prompt, "negative prompt", required=False)
        unknown = unknown_words(f"{prompt} {negative_prompt}")
        if unknown:
            print(f"note: this model never saw {', '.join(repr(w) for w in unknown[:12])} in a caption; "
                  f"{UNKNOWN_WORDS_EFFECT}", file=sys.stderr)
    if prompts is None:
        prompts = [prompt] * n if prompt is not None else default_prompts(n)
    if len(prompts) != n:
        raise UserError(f"{len(prompts)} prompts for {n} images")
    images = []
    for i in range(0, n, batch):
        *_, last = denoise(pipe, prompts[i:i + batch], gen, steps or cfg.sample_steps,
                           cfg.guidance if guidance is None else guidance, negative_prompt,
                           guidance_interval=cfg.guidance_interval if guidance_interval is None else guidance_interval)
        images.append(last.images)
    return {"images": torch.cat(images), "prompts": prompts}


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """8 rows of 8 seeds: one vocabulary prompt per row."""
    prompts = [p for p in default_prompts(8) for _ in range(8)]
    from .sampling import denoise, make_pipeline

    *_, last = denoise(make_pipeline(cfg, modules, "ddim"), prompts, gen, cfg.sample_steps, cfg.guidance,
                       guidance_interval=cfg.guidance_interval)
    return last.images


def sampling_settings(cfg: Config) -> dict:
    return {"scheduler": "ddim", "steps": cfg.sample_steps, "guidance": cfg.guidance,
            "guidance_interval": cfg.guidance_interval}


def evaluate(loaded, n: int = 1000, seed: int = 0, steps: int | None = None, guidance: float | None = None,
             scheduler: str = "ddim", guidance_interval: float | None = None, **_) -> dict:
    from .metrics import prompt_fidelity

    return prompt_fidelity(loaded, n=n, seed=seed, steps=steps, guidance=guidance, scheduler=scheduler,
                           guidance_interval=guidance_interval)
