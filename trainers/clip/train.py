"""CLIP family: a text transformer and a ViT image encoder trained contrastively on captioned garments.

The model is transformers' `CLIPModel` (a small config), so the checkpoint folder is a CLIP folder:
`CLIPModel.from_pretrained(dir)` and `CLIPProcessor.from_pretrained(dir)` load it with no network, and
the latent diffusion trainer takes its text encoder (`CLIPTextModel.from_pretrained(dir)`) as the
frozen condition encoder. Loss: `losses.contrastive_loss`. Evaluation: zero-shot classification of
held-out images by class, colour and size, with prompt ensembling over the other attributes (as the
CLIP paper ensembles templates).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import torch

from ..core.captions import CLASS_WORDS, COLOURS, SIZES, captioned, vocabulary_prompts
from ..core.data import DataConfig
from ..core.errors import UserError
from .losses import clip_logits, contrastive_loss
from .tokenizer import build_tokenizer


@dataclasses.dataclass(frozen=True)
class Config(DataConfig):
    dataset: str = "captioned-fashion"
    channels: int = 3
    width: int = 128  # both transformers' hidden size
    text_layers: int = 3
    vision_layers: int = 3
    heads: int = 4
    patch: int = 8  # ViT patches: (32 / 8)^2 = 16 tokens (4 px patches cost 4x on a CPU for no zero-shot gain)
    embed_dim: int = 64  # the joint embedding space
    context: int = 16  # text tokens
    lr: float = 5e-4
    weight_decay: float = 0.1
    warmup: int = 200  # linear learning-rate warm-up steps, then cosine decay to 0 over `decay_steps`
    decay_steps: int = 5000

    def validate(self) -> None:
        if self.dataset != "captioned-fashion":
            raise UserError(f"the CLIP trainer learns from --dataset=captioned-fashion, got {self.dataset!r}")
        if self.image_size != 32 or self.channels != 3:
            raise UserError("captioned-fashion images are 32x32 RGB: keep --image_size=32 --channels=3")
        if self.width % self.heads or self.image_size % self.patch:
            raise UserError("--width must be divisible by --heads and --image_size by --patch")
        if not 4 <= self.context <= 77:
            raise UserError(f"--context must be in [4, 77], got {self.context}")


def clip_config(cfg: Config):
    from transformers import CLIPConfig

    tok = build_tokenizer(cfg.context)
    text = dict(vocab_size=len(tok), hidden_size=cfg.width, intermediate_size=4 * cfg.width,
                num_hidden_layers=cfg.text_layers, num_attention_heads=cfg.heads,
                max_position_embeddings=cfg.context, bos_token_id=tok.bos_token_id,
                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    vision = dict(hidden_size=cfg.width, intermediate_size=4 * cfg.width, num_hidden_layers=cfg.vision_layers,
                  num_attention_heads=cfg.heads, image_size=cfg.image_size, patch_size=cfg.patch, num_channels=3)
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=cfg.embed_dim)


def build(cfg: Config) -> dict:
    from transformers import CLIPModel

    return {"clip": CLIPModel(clip_config(cfg))}


def optimizers(cfg: Config, modules: dict) -> dict:
    return {"clip": torch.optim.AdamW(modules["clip"].parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay,
                                      betas=(0.9, 0.98))}


def dataset(cfg: Config, split: str):
    return captioned(split, cfg.data_dir)


def tokenize(cfg: Config, texts: list[str], device) -> dict:
    tok = build_tokenizer(cfg.context)
    enc = tok(list(texts), padding="max_length", max_length=cfg.context, truncation=True, return_tensors="pt")
    return {"input_ids": enc.input_ids.to(device), "attention_mask": enc.attention_mask.to(device)}


def _lr(cfg: Config, k: int) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay to 0 at `decay_steps` (k = optimiser steps)."""
    if k < cfg.warmup:
        return cfg.lr * (k + 1) / cfg.warmup
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (k - cfg.warmup) / max(1, cfg.decay_steps - cfg.warmup))))


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    clip, opt = modules["clip"], opts["clip"]
    x = batch["image"]  # (B, 3, 32, 32) in [-1, 1]: the processor's normalisation (mean = std = 0.5)
    state = next(iter(opt.state.values()), None)
    for group in opt.param_groups:
        group["lr"] = _lr(cfg, int(state["step"]) if state else 0)
    out = clip(pixel_values=x, **tokenize(cfg, batch["caption"], x.device))
    plain = accelerator.unwrap_model(clip)
    loss = contrastive_loss(out.image_embeds, out.text_embeds, plain.logit_scale)
    opt.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    opt.step()
    with torch.no_grad():  # the temperature is clipped so that exp(t) <= 100 (Radford et al. 2021, sec. 2.5)
        plain.logit_scale.clamp_(0, math.log(100))
        s = out.logits_per_image
        acc = (s.argmax(1) == torch.arange(len(s), device=s.device)).float().mean()
    return {"loss": loss.detach(), "batch_acc": acc, "temperature": plain.logit_scale.exp().detach()}


def processor(cfg: Config):
    """CLIPProcessor: the tokenizer, and images resized to 32 px and scaled to [-1, 1] as in training."""
    from transformers import CLIPImageProcessor, CLIPProcessor

    images = CLIPImageProcessor(size={"shortest_edge": cfg.image_size},
                                crop_size={"height": cfg.image_size, "width": cfg.image_size},
                                image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    return CLIPProcessor(image_processor=images, tokenizer=build_tokenizer(cfg.context))


def save_pretrained(cfg: Config, modules: dict, folder: Path, fp16: bool = True) -> None:
    """The transformers CLIP folder (fp32: `from_pretrained` would otherwise run it in fp16 on the CPU)."""
    modules["clip"].save_pretrained(folder, safe_serialization=True)
    processor(cfg).save_pretrained(folder)


def load_pretrained(cfg: Config, folder: Path) -> dict:
    from transformers import CLIPModel

    return {"clip": CLIPModel.from_pretrained(folder, use_safetensors=True, dtype=torch.float32)}


@functools.lru_cache(maxsize=4)
def _attribute_prompts() -> dict[str, tuple[list[str], torch.Tensor, int]]:
    """For each attribute, all full-template prompts and which value of the attribute each names."""
    prompts = vocabulary_prompts()
    texts = [p for p, *_ in prompts]
    out = {}
    for a, (name, n) in enumerate((("class", len(CLASS_WORDS)), ("colour", len(COLOURS)), ("size", len(SIZES)))):
        out[name] = (texts, torch.tensor([p[1 + a] for p in prompts]), n)
    return out


@torch.no_grad()
def text_embeddings(cfg: Config, clip, texts: list[str]) -> torch.Tensor:
    device = next(clip.parameters()).device
    return clip.get_text_features(**tokenize(cfg, texts, device)).pooler_output


@torch.no_grad()
def zero_shot(cfg: Config, clip, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Predicted class, colour and size of RGB images (N, 3, 32, 32) in [-1, 1]: each value's prompts
    (every full-template caption naming it) averaged into one normalised text embedding."""
    device = next(clip.parameters()).device
    feats = torch.cat([clip.get_image_features(pixel_values=images[i:i + 500].to(device)).pooler_output
                       for i in range(0, len(images), 500)])
    out = {}
    for name, (texts, values, n) in _attribute_prompts().items():
        t = torch.nn.functional.normalize(text_embeddings(cfg, clip, texts), dim=-1)
        proto = torch.stack([t[values == v].mean(0) for v in range(n)])  # (n, D)
        out[name] = clip_logits(feats, proto, clip.logit_scale).argmax(1).cpu()
    texts = [p for p, *_ in vocabulary_prompts()]
    out["caption"] = clip_logits(feats, text_embeddings(cfg, clip, texts), clip.logit_scale).argmax(1).cpu()
    return out


@torch.no_grad()
def evaluate(loaded, n: int = 10000, seed: int = 0, **_) -> dict:
    """Zero-shot accuracy on held-out captioned images (Fashion-MNIST's test split, tinted and sized)."""
    cfg, clip = loaded.cfg, loaded.modules["clip"].eval()
    test = dataset(cfg, "test")
    idx = torch.arange(min(n, len(test)))
    images = test.images(idx) * 2 - 1
    pred = zero_shot(cfg, clip, images)
    label, colour, size = test.labels[idx], test.attr["colour"][idx], test.attr["size"][idx]
    full = [(k, c, s) for _, k, c, s in vocabulary_prompts()]
    truth = torch.tensor([full.index((int(k), int(c), int(s))) for k, c, s in zip(label, colour, size)])
    return {"n_test": len(idx),
            "zero_shot_class_acc": round(float((pred["class"] == label).float().mean()), 4),
            "zero_shot_colour_acc": round(float((pred["colour"] == colour).float().mean()), 4),
            "zero_shot_size_acc": round(float((pred["size"] == size).float().mean()), 4),
            "zero_shot_caption_acc_160way": round(float((pred["caption"] == truth).float().mean()), 4)}
