"""unCLIP's decoder (family `unclip_decoder`): an image from a CLIP image embedding, by latent diffusion.

Ramesh et al. 2022, sec. 2.1 ("Decoder"): a diffusion model P(x | z_i) conditioned on the CLIP image embedding z_i
(`embeddings.py`) in two ways, "projecting and adding CLIP embeddings to the existing timestep embedding, and
projecting CLIP embeddings into four extra tokens of context" for the cross-attention layers. Here the diffusion
runs in the latent space of the frozen KL autoencoder, with the latent diffusion family's U-Net, noise schedule and
loss (`latent_diffusion/train.py`, Rombach et al. 2022, eq. 2), the caption's text tokens replaced by z_i's tokens:
    L = E_{E(x), eps ~ N(0, I), t} || eps - eps_theta(z_t, t, z_i) ||^2
    z_t = sqrt(alpha_bar_t) z_0 + sqrt(1 - alpha_bar_t) eps      (Ho et al. 2020, eq. 4; `ddpm/diffusion.py:q_sample`)
(z_t here is the noised LATENT, as in the latent diffusion family; the CLIP embedding is always z_i).
- time embedding: diffusers' `class_embed_type="projection"`: emb(t) + MLP(z_i) (the paper's first route);
- context: `ImageTokens`, a Linear z_i -> `image_tokens` tokens of the U-Net's cross-attention width (the second);
- classifier-free guidance: z_i is zeroed with probability `p_uncond` (the paper: "randomly setting the CLIP
  embeddings to zero ... 10% of the time"), so eps(z_t, t, 0) is the unconditional prediction.
Deviation: the paper's decoder also reads the caption (GLIDE's text encoder, dropped 50% of the time) and found it
"offered little help"; ours reads z_i alone. It samples 64 px and upsamples twice; ours decodes 32 px latents.

Sampling with the z_i of an image gives variations of it (sec. 3.1); with a prior's z_i (`prior.py`), text to image;
with the caption's text embedding z_t in place of z_i, the paper's baseline without a prior (sec. 5.1).
"""

from __future__ import annotations

import dataclasses
import weakref
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin

from ..core.captions import caption, captioned
from ..core.data import DataConfig
from ..core.errors import UserError
from ..core.images import from_uint8, to_uint8
from ..ddpm.diffusion import eps_from_x0, q_sample, x0_from_eps
from ..ddpm.samplers import guided, sample_loop
from ..ddpm.train import optimise, schedule
from ..latent_diffusion.train import CLIP_LATENT, FrozenOutputs, _parts_folder, check_unet_options, unet_for
from .embeddings import (
    clip_towers, frozen_embeddings, image_embeddings, load_clip_folders, same_weights, save_clip_folders, save_folder,
    text_conditioning,
)


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    dataset: str = "captioned-fashion"
    channels: int = 3
    clip: str = "checkpoints/clip-fashion-captions"  # a CLIP folder (transformers): its image tower gives z_i
    vae: str = "checkpoints/autoencoder-kl-fashion-captions"  # an AutoencoderKL folder (diffusers)
    widths: tuple[int, ...] = (32, 64)  # as ldm-fashion-captions, so that --init_from it fits
    layers_per_block: int = 1
    head_dim: int = 32
    context_width: int = 128  # the cross-attention's token width (ldm-fashion-captions: its text encoder's, 128)
    image_tokens: int = 4  # the paper's four extra tokens of context
    T: int = 1000
    p_uncond: float = 0.1
    lr: float = 3e-4
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    sample_steps: int = 30  # DDIM steps for snapshots, `sample` and `evaluate`
    guidance: float = 3.0

    def validate(self) -> None:
        check_unet_options(self, "the unCLIP decoder")
        if self.image_tokens < 1 or self.context_width < 1:
            raise UserError("--image_tokens and --context_width must be >= 1")
        if not 1 <= self.sample_steps <= self.T or not 0 <= self.guidance <= 20:
            raise UserError("--sample_steps must be in [1, T] and --guidance in [0, 20]")


class ImageTokens(ModelMixin, ConfigMixin):
    """z_i (N, D) -> `n_tokens` context tokens (N, n_tokens, width) for the cross-attention (sec. 2.1)."""

    @register_to_config
    def __init__(self, embed_dim: int = 64, n_tokens: int = 4, width: int = 128):
        super().__init__()
        self.proj = torch.nn.Linear(embed_dim, n_tokens * width)

    def forward(self, z_i: torch.Tensor) -> torch.Tensor:
        return self.proj(z_i).view(len(z_i), self.config.n_tokens, self.config.width)


def decoder_unet(cfg: Config, embed_dim: int, latent_channels: int, latent_size: int):
    """The latent diffusion family's U-Net (`unet_for`) with z_i's projection into the time embedding. The
    projection's last layer starts at zero, so a fresh decoder is that U-Net exactly (and one started
    `--init_from` a latent diffusion checkpoint starts as it), whatever z_i."""
    from diffusers import UNet2DConditionModel

    base = unet_for(cfg, cfg.context_width, latent_channels, latent_size)
    given = {k: v for k, v in base.config.items() if not k.startswith("_")}  # "_use_default_values" would reset ours
    unet = UNet2DConditionModel.from_config({**given, "class_embed_type": "projection",
                                             "projection_class_embeddings_input_dim": embed_dim})
    torch.nn.init.zeros_(unet.class_embedding.linear_2.weight)
    torch.nn.init.zeros_(unet.class_embedding.linear_2.bias)
    return unet


def build(cfg: Config) -> dict:
    from diffusers import AutoencoderKL

    image, text = clip_towers(cfg.clip)
    vae = AutoencoderKL.from_pretrained(_parts_folder(cfg.vae, "vae", "autoencoder_kl"), use_safetensors=True,
                                        dtype=torch.float32)
    dim = image.config.projection_dim
    latent = cfg.image_size // 2 ** (len(vae.config.block_out_channels) - 1)
    unet, unet_ema = (decoder_unet(cfg, dim, vae.config.latent_channels, latent) for _ in range(2))
    tokens, tokens_ema = (ImageTokens(dim, cfg.image_tokens, cfg.context_width) for _ in range(2))
    unet_ema.load_state_dict(unet.state_dict())
    tokens_ema.load_state_dict(tokens.state_dict())
    for frozen in (image, text, vae, unet_ema, tokens_ema):
        frozen.requires_grad_(False).eval()
    return {"unet": unet, "unet_ema": unet_ema, "tokens": tokens, "tokens_ema": tokens_ema, "vae": vae,
            "image_encoder": image, "text_encoder": text}


def init_from(cfg: Config, modules: dict, parent) -> dict[str, str]:
    """`--init_from` a latent diffusion checkpoint (ldm-fashion-captions): its EMA U-Net into `unet` and
    `unet_ema`. Every tensor of it must fit (same --widths, --head_dim, --context_width); what the decoder adds,
    z_i's time-embedding projection and `ImageTokens`, starts fresh (the projection at zero)."""
    if parent.family != "latent_diffusion":
        raise UserError(f"--init_from={parent.path} holds a {parent.family!r} model; the unCLIP decoder starts from "
                        "its own checkpoints or a latent_diffusion one")
    if not same_weights(parent.modules["vae"], modules["vae"]):
        raise UserError(f"--init_from={parent.path} learned the latents of another autoencoder than --vae={cfg.vae} "
                        "(its vae/ folder differs): give the autoencoder it was trained on")
    source = parent.modules["unet_ema"].state_dict()
    for name in ("unet", "unet_ema"):
        own = modules[name].state_dict()
        misfit = [k for k, v in source.items() if k not in own or own[k].shape != v.shape]
        if misfit:
            raise UserError(f"--init_from={parent.path}: its U-Net does not fit this decoder at {misfit[0]!r} "
                            f"({len(misfit)} tensors); give the same --widths, --head_dim and --context_width")
        missing = modules[name].load_state_dict(source, strict=False).missing_keys
        assert all(k.startswith("class_embedding.") for k in missing), missing
    unet = f"{parent.path}: unet_ema (class_embedding fresh, at zero)"
    return {"unet": unet, "unet_ema": unet, "tokens": "fresh", "tokens_ema": "fresh", "vae": cfg.vae,
            "image_encoder": cfg.clip, "text_encoder": cfg.clip}


def optimizers(cfg: Config, modules: dict) -> dict:
    return {name: torch.optim.AdamW(modules[name].parameters(), lr=cfg.lr, weight_decay=1e-2)
            for name in ("unet", "tokens")}


def dataset(cfg: Config, split: str):
    return captioned(split, cfg.data_dir)


_posteriors: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # autoencoder -> FrozenOutputs


def _latents(vae) -> FrozenOutputs:
    """The latent diffusion family's cache of E(x)'s posterior per training image, one per run's autoencoder."""
    if vae not in _posteriors:
        _posteriors[vae] = FrozenOutputs()
    return _posteriors[vae]


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    unet, tokens, vae = modules["unet"], modules["tokens"], modules["vae"]
    x = batch["image"]  # (B, 3, 32, 32) in [-1, 1]
    b, device = x.shape[0], x.device
    # the frozen parts: z_0 = scaling_factor * E(x) and z_i = E_img(x), zeroed with probability p_uncond
    z0 = _latents(vae).posterior(vae, x, batch["index"]).sample(generator=gen) * vae.config.scaling_factor
    z_i = frozen_embeddings(modules["image_encoder"]).images(modules["image_encoder"], x, batch["index"])
    drop = (torch.rand(b, generator=gen, device=gen.device) < cfg.p_uncond).to(device)
    z_i = z_i * (~drop).to(z_i.dtype)[:, None]
    # t ~ U{0..T-1}, eps ~ N(0, I), z_t = sqrt(alpha_bar_t) z_0 + sqrt(1 - alpha_bar_t) eps
    t = torch.randint(0, cfg.T, (b,), generator=gen, device=gen.device).to(device)
    eps = torch.randn(z0.shape, generator=gen, device=gen.device).to(device)
    zt = q_sample(schedule("linear", cfg.T, str(device)), z0, t, eps)
    # minimise || eps - eps_theta(z_t, t, z_i) ||^2, z_i in the time embedding and as context tokens
    loss = F.mse_loss(unet(zt, t, encoder_hidden_states=tokens(z_i), class_labels=z_i).sample, eps)
    return optimise(loss, opts, modules, accelerator, cfg.grad_clip, cfg.ema_decay)


@torch.no_grad()
def decode(cfg: Config, modules: dict, z_i: torch.Tensor, gen: torch.Generator, steps: int | None = None,
           guidance: float | None = None, one_noise: bool = False) -> torch.Tensor:
    """x ~ P(x | z_i) as uint8 (N, 3, 32, 32), by DDIM from z_T ~ N(0, I) (`ddpm/samplers.py`), then x = D(z_0 / s).
    `one_noise`: every row from the same z_T, so that only z_i differs between them (DDIM is deterministic given
    z_T: the paper fixes it for its interpolations and text diffs, sec. 3.2-3.3).

    Guidance: eps_hat = eps(z_t, t, 0) + w (eps(z_t, t, z_i) - eps(z_t, t, 0)) (Ho & Salimans 2022, eq. 6). The
    predicted z0_hat is clipped to [-CLIP_LATENT, CLIP_LATENT] and eps re-derived from it, as the latent diffusion
    family's sampler does (`latent_diffusion/train.py:scheduler_config`)."""
    unet, tokens, vae = modules["unet_ema"], modules["tokens_ema"], modules["vae"]
    device = next(unet.parameters()).device
    w = cfg.guidance if guidance is None else guidance
    sched = schedule("linear", cfg.T, str(device))
    z_i = z_i.to(device)
    cond = torch.cat([torch.zeros_like(z_i), z_i]) if w != 1 else z_i

    def eps_fn(zt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        n = len(cond) // len(zt)
        eps = unet(torch.cat([zt] * n), torch.cat([t] * n), encoder_hidden_states=tokens(cond),
                   class_labels=cond).sample
        if n == 2:
            eps = guided(*eps.chunk(2), w)
        a = sched.alpha_bar[t].view(-1, 1, 1, 1)
        return eps_from_x0(zt, x0_from_eps(zt, eps, a).clamp(-CLIP_LATENT, CLIP_LATENT), a)

    size = unet.config.sample_size
    z_T = torch.randn((1 if one_noise else len(z_i), unet.config.in_channels, size, size), generator=gen,
                      device=gen.device).to(device).expand(len(z_i), -1, -1, -1).contiguous()
    *_, (_, _, z0, _) = sample_loop(eps_fn, sched, z_T, gen, "ddim", steps or cfg.sample_steps, clip_x0=False)
    return to_uint8(vae.decode(z0 / vae.config.scaling_factor).sample)


def embeddings_for(cfg: Config, modules: dict, n: int, gen: torch.Generator, images: torch.Tensor | None,
                   prompts: list[str] | None, prior: str, text_embedding: bool,
                   prior_guidance: float | None = None) -> torch.Tensor:
    """The n z_i to decode (module docstring): of `images` (uint8, cycled), from a prior's checkpoint for the
    prompts (guided by `prior_guidance`, else the prior's own), the prompts' own z_t (`text_embedding`, the
    paper's baseline), or of the first n test images."""
    device = next(modules["unet_ema"].parameters()).device
    if images is not None and prompts is not None:
        raise UserError("give images (variations) or prompts, not both")
    if images is not None:
        x = from_uint8(images[torch.arange(n) % len(images)]).to(device)
        return image_embeddings(modules["image_encoder"], x)
    if prompts is None:
        if prior or text_embedding:
            raise UserError("give --prompt (or prompts) to sample from a prior or from the text embedding")
        test = captioned("test", cfg.data_dir)
        return image_embeddings(modules["image_encoder"], (test.images(torch.arange(n) % len(test)) * 2 - 1).to(device))
    if bool(prior) == text_embedding:
        raise UserError("a prompt is decoded through a prior (--prior=<unclip_prior checkpoint>) or, as the paper's "
                        "baseline, from its text embedding (--text_embedding=true): give one of them")
    if text_embedding:
        return text_conditioning(modules["text_encoder"], prompts)[0]
    from ..core.checkpoint import load_model
    from . import prior as P

    loaded = load_model(prior, device)
    if loaded.family != "unclip_prior":
        raise UserError(f"--prior={prior} holds a {loaded.family!r} model, not an unclip_prior")
    if not same_weights(loaded.modules["image_encoder"], modules["image_encoder"]):
        raise UserError(f"--prior={prior} was trained on another CLIP than this decoder's: its embeddings would "
                        "mean nothing here")
    return P.generate(loaded.cfg, loaded.modules, prompts, gen, guidance=prior_guidance)


@torch.no_grad()
def sample(cfg: Config, modules: dict, n: int, gen: torch.Generator, prompt: str | None = None,
           steps: int | None = None, guidance: float | None = None, prior: str = "", text_embedding: bool = False,
           images: torch.Tensor | None = None, prompts: list[str] | None = None, batch: int = 100,
           prior_guidance: float | None = None) -> dict:
    """n images uint8 (n, 3, 32, 32): variations of `images`, or `prompt(s)` through a prior or their text
    embedding, or (nothing given) variations of the first n test images (`embeddings_for`)."""
    if prompts is None and prompt is not None:
        prompts = [prompt] * n
    if prompts is not None and len(prompts) != n:
        raise UserError(f"{len(prompts)} prompts for {n} images")
    z_i = embeddings_for(cfg, modules, n, gen, images, prompts, prior, text_embedding, prior_guidance)
    out = torch.cat([decode(cfg, modules, z_i[i:i + batch], gen, steps, guidance) for i in range(0, n, batch)])
    return {"images": out, **({"prompts": prompts} if prompts is not None else {})}


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """8 rows: a held-out test image, then 7 variations of it (decodings of its z_i from other noise)."""
    test = captioned("test", cfg.data_dir)
    idx = torch.arange(8) * (len(test) // 8)
    real = to_uint8(test.images(idx) * 2 - 1)
    made = sample(cfg, modules, 56, gen, images=real.repeat_interleave(7, 0))["images"].view(8, 7, *real.shape[1:])
    return torch.cat([real[:, None].to(made.device), made], 1).flatten(0, 1)


def save_pretrained(cfg: Config, modules: dict, folder: Path, fp16: bool = True) -> None:
    """diffusers / transformers component folders: unet/ and image_tokens/ (the EMAs), vae/, image_encoder/,
    text_encoder/, tokenizer/, in fp16 by default (`save_folder`: loaded back as fp32)."""
    for name, sub in (("unet_ema", "unet"), ("tokens_ema", "image_tokens"), ("vae", "vae")):
        save_folder(modules[name], folder / sub, fp16)
    save_clip_folders(modules, folder, fp16)


def load_pretrained(cfg: Config, folder: Path) -> dict:
    from diffusers import AutoencoderKL, UNet2DConditionModel

    kw = {"use_safetensors": True, "dtype": torch.float32}
    return {"unet_ema": UNet2DConditionModel.from_pretrained(folder / "unet", **kw),
            "tokens_ema": ImageTokens.from_pretrained(folder / "image_tokens", **kw),
            "vae": AutoencoderKL.from_pretrained(folder / "vae", **kw), **load_clip_folders(folder)}


def sampling_settings(cfg: Config) -> dict:
    return {"sampler": "ddim", "steps": cfg.sample_steps, "guidance": cfg.guidance}


@torch.no_grad()
def evaluate(loaded, n: int = 1000, seed: int = 0, steps: int | None = None, guidance: float | None = None,
             prior: str = "", text_embedding: bool = False, prior_guidance: float | None = None, **_) -> dict:
    """How well the decodings keep what z_i holds, on n held-out (test) images.

    Variations (default): each test image's z_i decoded. Text to image (`prior` or `text_embedding`): the full
    caption "a {size} {colour} {class}" of each test image, through the prior or as its own z_t (the paper's
    baseline). Scored with the latent diffusion family's detectors (`latent_diffusion/metrics.py`): class, colour
    and size right for the source image's attributes (variations: `class_kept`, the judge reads the decoding as it
    reads its source); `clip_image_cos`: mean cosine of E_img(decoded) to the source
    image's z_i; `clip_score`: 100 * max(cos(E_img(decoded), z_t(caption)), 0). `real_*`: the same on the sources."""
    from ..latent_diffusion.metrics import attribute_scores

    cfg, modules = loaded.cfg, loaded.modules
    test = captioned("test", cfg.data_dir)
    idx = torch.arange(min(n, len(test)))
    real = to_uint8(test.images(idx) * 2 - 1)
    label, colour, size = test.labels[idx], test.attr["colour"][idx], test.attr["size"][idx]
    prompts = [caption(int(k), int(c), int(s)) for k, c, s in zip(label, colour, size)]
    chunks = range(0, len(idx), 500)
    if prior or text_embedding:
        made = torch.cat([sample(cfg, modules, len(prompts[i:i + 500]), torch.Generator().manual_seed(seed + i),
                                 steps=steps, guidance=guidance, prior=prior, text_embedding=text_embedding,
                                 prompts=prompts[i:i + 500], prior_guidance=prior_guidance)["images"]
                          for i in chunks])
    else:
        made = torch.cat([sample(cfg, modules, len(real[i:i + 500]), torch.Generator().manual_seed(seed + i),
                                 steps=steps, guidance=guidance, images=real[i:i + 500])["images"] for i in chunks])
    device = next(modules["image_encoder"].parameters()).device
    z_made, z_real = (image_embeddings(modules["image_encoder"], from_uint8(x).to(device)) for x in (made, real))
    z_t = text_conditioning(modules["text_encoder"], prompts)[0]
    out, ceiling = attribute_scores(made.cpu(), label, colour, size), attribute_scores(real, label, colour, size)
    if not (prior or text_embedding):
        # a variation keeps its source's class if the judge reads both alike: class_accuracy is against the
        # label, which the judge reads right for only real_class_accuracy of the sources themselves
        out["class_kept"] = round(float((out["_pred"] == ceiling["_pred"]).float().mean()), 4)
    out = {k: v for k, v in out.items() if not k.startswith("_")}
    out.update({f"real_{k}": v for k, v in ceiling.items() if not k.startswith("_")})
    out.update({"clip_image_cos": round(float((z_made * z_real).sum(1).mean()), 4),
                "clip_score": round(float(100 * (z_made * z_t).sum(1).clamp_min(0).mean()), 3),
                "real_clip_score": round(float(100 * (z_real * z_t).sum(1).clamp_min(0).mean()), 3),
                "mode": "prior" if prior else "text_embedding" if text_embedding else "variations",
                "n": len(idx), "eval_seed": seed, "sampler": "ddim", "steps": steps or cfg.sample_steps,
                "guidance": cfg.guidance if guidance is None else guidance,
                **({"prior": prior, "prior_guidance": prior_guidance} if prior else {})})
    return out
