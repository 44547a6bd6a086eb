"""unCLIP's diffusion prior (family `unclip_prior`): a caption's CLIP image embedding from its CLIP text embedding.

Ramesh et al. 2022, sec. 2.2 ("Diffusion prior"). A decoder-only Transformer with a causal attention mask reads,
in order, the encoded text (token states), the CLIP text embedding z_t, an embedding of the diffusion timestep,
the noised CLIP image embedding z_i^(t), and a final token whose output predicts the clean embedding: diffusers'
`PriorTransformer` with `added_emb_type="prd"` is exactly that sequence. Rather than the noise eps, it predicts the
unnoised z_i directly, with a mean-squared error on that prediction (sec. 2.2):
    L_prior = E_{t ~ [1, T], z_i^(t) ~ q_t} || f_theta(z_i^(t), t, y) - z_i ||^2
where z_i^(t) = sqrt(alpha_bar_t) z_i + sqrt(1 - alpha_bar_t) eps is the DDPM forward process (Ho et al. 2020,
eq. 4; `ddpm/diffusion.py:q_sample`, same symbols). The text conditioning is dropped (zeroed, its tokens masked
out) with probability `p_uncond` (the paper: 10%), for classifier-free guidance (Ho & Salimans 2022).

Deviations: the embedding is diffused standardised per coordinate, (z_i - mean) / std with the statistics of the
training images' embeddings (diffusers keeps them in the prior as `clip_mean` / `clip_std`, as Karlo does), since a
unit vector in 64 dimensions has coordinates of about 1/8, far below the forward process's unit noise. The paper
draws two z_i per caption and keeps the one with the larger z_i . z_t (sec. 2.2); `generate` draws `candidates`,
1 by default.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F

from ..core.captions import captioned, vocabulary_prompts
from ..core.data import DataConfig
from ..core.errors import UserError
from ..ddpm.diffusion import SCHEDULES, eps_from_x0, q_sample
from ..ddpm.samplers import SAMPLERS, guided, sample_loop
from ..ddpm.train import optimise, schedule
from .embeddings import (
    clip_towers, frozen_embeddings, image_embeddings, load_clip_folders, save_clip_folders, save_folder, text_conditioning,
)


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    dataset: str = "captioned-fashion"
    channels: int = 3
    clip: str = "checkpoints/clip-fashion-captions"  # a CLIP folder (transformers), frozen
    layers: int = 4
    heads: int = 4
    head_dim: int = 32  # width = heads * head_dim = 128 (0.9 M parameters at the defaults)
    T: int = 1000
    schedule: str = "cosine"  # the paper's prior: cosine schedule, 1000 steps (Ramesh et al. 2022, appendix C)
    p_uncond: float = 0.1
    lr: float = 3e-4
    weight_decay: float = 1e-2
    grad_clip: float = 1.0
    ema_decay: float = 0.999  # warmed up as in the DDPM trainer: min(ema_decay, (1 + k) / (10 + k))
    sample_steps: int = 64  # the paper samples its prior in 64 strided steps
    guidance: float = 1.0
    n_stats: int = 4096  # training images whose embeddings give the per-coordinate mean and std

    def validate(self) -> None:
        if self.dataset != "captioned-fashion":
            raise UserError(f"the unCLIP prior learns from --dataset=captioned-fashion, got {self.dataset!r}")
        if self.schedule not in SCHEDULES:
            raise UserError(f"--schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if not 0 <= self.p_uncond < 1 or not 0 <= self.ema_decay < 1 or not 0 < self.lr <= 1:
            raise UserError("--p_uncond and --ema_decay must be in [0, 1), --lr in (0, 1]")
        if min(self.layers, self.heads, self.head_dim) < 1 or self.n_stats < 2:
            raise UserError("--layers, --heads and --head_dim must be >= 1, --n_stats >= 2")
        if not 1 <= self.sample_steps <= self.T or not 0 <= self.guidance <= 20:
            raise UserError("--sample_steps must be in [1, T] and --guidance in [0, 20]")


def prior_for(cfg: Config, dim: int, n_tokens: int):
    """The Transformer of sec. 2.2 over [n_tokens text states, z_t, t, z_i^(t), prd] (n_tokens + 4 tokens)."""
    from diffusers import PriorTransformer

    return PriorTransformer(num_attention_heads=cfg.heads, attention_head_dim=cfg.head_dim, num_layers=cfg.layers,
                            embedding_dim=dim, num_embeddings=n_tokens, additional_embeddings=4,
                            norm_in_type="layer", embedding_proj_norm_type="layer", added_emb_type="prd")


@torch.no_grad()
def embedding_stats(cfg: Config, image_encoder) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-coordinate mean and std (1, D) of z_i over the first `n_stats` training images."""
    data = captioned("train", cfg.data_dir)
    idx = torch.arange(min(cfg.n_stats, len(data)))
    z = torch.cat([image_embeddings(image_encoder, data.images(idx[i:i + 512]) * 2 - 1)
                   for i in range(0, len(idx), 512)])
    return z.mean(0, keepdim=True), z.std(0, keepdim=True).clamp_min(1e-6)


def build(cfg: Config) -> dict:
    image, text = clip_towers(cfg.clip)
    dim, n_tokens = image.config.projection_dim, text.pipeline_tokenizer.model_max_length
    prior, ema = (prior_for(cfg, dim, n_tokens) for _ in range(2))
    mean, std = embedding_stats(cfg, image)
    for p in (prior, ema):  # statistics, not weights: saved with the prior, never trained
        p.clip_mean.data.copy_(mean)
        p.clip_std.data.copy_(std)
        p.clip_mean.requires_grad_(False)
        p.clip_std.requires_grad_(False)
    ema.load_state_dict(prior.state_dict())
    ema.requires_grad_(False).eval()
    return {"prior": prior, "prior_ema": ema, "image_encoder": image, "text_encoder": text}


def optimizers(cfg: Config, modules: dict) -> dict:
    trained = [p for p in modules["prior"].parameters() if p.requires_grad]
    return {"prior": torch.optim.AdamW(trained, lr=cfg.lr, weight_decay=cfg.weight_decay)}


def dataset(cfg: Config, split: str):
    return captioned(split, cfg.data_dir)


def standardise(prior, z_i: torch.Tensor) -> torch.Tensor:
    """x0 = (z_i - mean) / std, the diffused variable (module docstring); `prior.post_process_latents` inverts it."""
    return (z_i - prior.clip_mean) / prior.clip_std


def noised(sched, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z_i^(t) = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps (Ho et al. 2020, eq. 4) for embeddings (B, D):
    `q_sample` on them viewed as (B, D, 1, 1) images, so that its per-sample coefficients broadcast."""
    return q_sample(sched, x0[..., None, None], t, eps[..., None, None])[..., 0, 0]


def without_text(drop: torch.Tensor, z_t: torch.Tensor, states: torch.Tensor, mask: torch.Tensor):
    """The null condition where `drop` (N,) is set: z_t and the token states zeroed, every text token masked."""
    keep = (~drop).to(z_t.dtype)
    return z_t * keep[:, None], states * keep[:, None, None], mask & ~drop[:, None]


def predict_x0(prior, xt: torch.Tensor, t: torch.Tensor, z_t, states, mask) -> torch.Tensor:
    """f_theta(z_i^(t), t, y): the clean standardised embedding (N, D), from x_t (N, D) and t (N,)."""
    return prior(xt, t, proj_embedding=z_t, encoder_hidden_states=states, attention_mask=mask).predicted_image_embedding


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    prior = modules["prior"]
    x = batch["image"]  # (B, 3, 32, 32) in [-1, 1]
    b, device = x.shape[0], x.device
    frozen = frozen_embeddings(modules["image_encoder"])
    # the frozen CLIP: z_i = E_img(x), and z_t = E_txt(y) with the caption's token states
    z_i = frozen.images(modules["image_encoder"], x, batch["index"])
    z_t, states, mask = frozen.texts(modules["text_encoder"], batch["caption"])
    drop = (torch.rand(b, generator=gen, device=gen.device) < cfg.p_uncond).to(device)
    z_t, states, mask = without_text(drop, z_t, states, mask)
    x0 = standardise(accelerator.unwrap_model(prior), z_i)  # (B, D)
    # t ~ U{0..T-1}, eps ~ N(0, I), x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps
    t = torch.randint(0, cfg.T, (b,), generator=gen, device=gen.device).to(device)
    eps = torch.randn(x0.shape, generator=gen, device=gen.device).to(device)
    xt = noised(schedule(cfg.schedule, cfg.T, str(device)), x0, t, eps)
    # L_prior = || f_theta(z_i^(t), t, y) - z_i ||^2  (Ramesh et al. 2022, sec. 2.2: predict the clean embedding)
    loss = F.mse_loss(predict_x0(prior, xt, t, z_t, states, mask), x0)
    return optimise(loss, opts, modules, accelerator, cfg.grad_clip, cfg.ema_decay)


@torch.no_grad()
def generate(cfg: Config, modules: dict, captions: list[str], gen: torch.Generator, steps: int | None = None,
             guidance: float | None = None, sampler: str = "ddim", candidates: int = 1) -> torch.Tensor:
    """z_i ~ P(z_i | y) for each caption: (N, D), L2-normalised like a CLIP image embedding. With `candidates` k > 1,
    k are drawn per caption and the one with the largest z_i . z_t kept (the paper draws 2, sec. 2.2).

    The reverse chain runs the project's DDIM / DDPM steps (`ddpm/samplers.py`), which take eps: the predicted
    x0_hat is turned into eps = (x_t - sqrt(alpha_bar_t) x0_hat) / sqrt(1 - alpha_bar_t) (`eps_from_x0`).
    Guidance mixes the two x0_hat (Ho & Salimans 2022, eq. 6, on x0_hat: eps is affine in x0_hat for a fixed x_t,
    so guiding either is the same)."""
    if not captions:
        raise UserError("no caption given")
    prior = modules["prior_ema"]
    device = next(prior.parameters()).device
    w = cfg.guidance if guidance is None else guidance
    sched = schedule(cfg.schedule, cfg.T, str(device))
    if candidates < 1:
        raise UserError(f"candidates must be >= 1, got {candidates}")
    z_t, states, mask = (v.repeat_interleave(candidates, 0)
                         for v in text_conditioning(modules["text_encoder"], captions))
    null = without_text(torch.ones(len(z_t), dtype=torch.bool, device=device), z_t, states, mask)

    def eps_fn(xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:  # xt (N, D, 1, 1)
        x = xt[..., 0, 0]
        if w == 1:
            x0 = predict_x0(prior, x, t, z_t, states, mask)
        else:
            x0_c, x0_u = predict_x0(prior, torch.cat([x, x]), torch.cat([t, t]),
                                    *(torch.cat([c, u]) for c, u in zip((z_t, states, mask), null))).chunk(2)
            x0 = guided(x0_u, x0_c, w)
        return eps_from_x0(xt, x0[..., None, None], sched.alpha_bar[t].view(-1, 1, 1, 1))

    if sampler not in SAMPLERS:
        raise UserError(f"sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    x_T = torch.randn((len(z_t), z_t.shape[1], 1, 1), generator=gen, device=gen.device).to(device)
    *_, (_, _, x0, _) = sample_loop(eps_fn, sched, x_T, gen, sampler, steps or cfg.sample_steps, clip_x0=False)
    z_i = F.normalize(prior.post_process_latents(x0[..., 0, 0]), dim=-1).view(len(captions), candidates, -1)
    best = (z_i * z_t.view(len(captions), candidates, -1)).sum(-1).argmax(1)  # the largest z_i . z_t
    return z_i[torch.arange(len(captions), device=device), best]


def save_pretrained(cfg: Config, modules: dict, folder: Path, fp16: bool = True) -> None:
    """diffusers / transformers component folders: prior/ (the EMA), image_encoder/, text_encoder/, tokenizer/
    in fp16 by default (`save_folder`: loaded back as fp32)."""
    save_folder(modules["prior_ema"], folder / "prior", fp16)
    save_clip_folders(modules, folder, fp16)


def load_pretrained(cfg: Config, folder: Path) -> dict:
    from diffusers import PriorTransformer

    prior = PriorTransformer.from_pretrained(folder / "prior", use_safetensors=True, dtype=torch.float32)
    return {"prior_ema": prior, **load_clip_folders(folder)}


def sampling_settings(cfg: Config) -> dict:
    return {"sampler": "ddim", "steps": cfg.sample_steps, "guidance": cfg.guidance}


@torch.no_grad()
def evaluate(loaded, n: int = 1000, seed: int = 0, steps: int | None = None, guidance: float | None = None,
             sampler: str = "ddim", candidates: int = 1, **_) -> dict:
    """Retrieval by the prior's embeddings, against real image embeddings (the ceiling).

    For n held-out (test) images and their captions: z_i generated from each caption, and the real z_i of its
    image. `retrieval_top1`: the share whose z_i is closer (cosine) to its own caption's z_t than to that of
    every other distinct caption of the n; `retrieval_top1_160way`: the same among the 160 full-template prompts
    "a {size} {colour} {class}", right when the nearest names the image's class, colour and size. Chance is
    1 / n_captions and 1 / 160. `cos_to_real`: mean cosine of the generated z_i to the real one."""
    cfg, modules = loaded.cfg, loaded.modules
    test = captioned("test", cfg.data_dir)
    idx = torch.arange(min(n, len(test)))
    captions = [test.captions(int(i)) for i in idx]
    device = next(modules["image_encoder"].parameters()).device
    real = torch.cat([image_embeddings(modules["image_encoder"], (test.images(idx[i:i + 500]) * 2 - 1).to(device))
                      for i in range(0, len(idx), 500)])
    made = torch.cat([generate(cfg, modules, captions[i:i + 500], torch.Generator(device).manual_seed(seed + i),
                               steps, guidance, sampler, candidates) for i in range(0, len(idx), 500)])
    distinct = sorted(set(captions))
    truth = torch.tensor([distinct.index(c) for c in captions], device=device)
    z_t = text_conditioning(modules["text_encoder"], distinct)[0]
    table = vocabulary_prompts()
    full = [(k, c, s) for _, k, c, s in table]
    truth160 = torch.tensor([full.index((int(test.labels[i]), int(test.attr["colour"][i]), int(test.attr["size"][i])))
                             for i in idx], device=device)
    z_t160 = text_conditioning(modules["text_encoder"], [p for p, *_ in table])[0]

    def top1(z: torch.Tensor, texts: torch.Tensor, right: torch.Tensor) -> float:
        return round(float(((z @ texts.T).argmax(1) == right).float().mean()), 4)

    return {"retrieval_top1": top1(made, z_t, truth), "real_retrieval_top1": top1(real, z_t, truth),
            "retrieval_top1_160way": top1(made, z_t160, truth160),
            "real_retrieval_top1_160way": top1(real, z_t160, truth160),
            "cos_to_real": round(float((made * real).sum(1).mean()), 4), "n": len(idx), "n_captions": len(distinct),
            "eval_seed": seed, "sampler": sampler, "steps": steps or cfg.sample_steps, "candidates": candidates,
            "guidance": cfg.guidance if guidance is None else guidance}
