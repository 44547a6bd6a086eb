"""The families the trainers know, by the name used on the command line and in config.json.

A family module provides:
    Config                      frozen dataclass (with `dataset`, `data_dir`, `image_size`, `channels`)
    build(cfg)                  -> {name: nn.Module}, every module saved in model.safetensors
    optimizers(cfg, modules)    -> {name: Optimizer}, one per trained module (others, e.g. EMA, are not)
    train_step(cfg, modules, opts, batch, gen, accelerator) -> {loss name: scalar tensor}
and optionally:
    preview(cfg, modules, gen)  -> uint8 (N, C, H, W) images for the fixed-noise sample grid
    sample(cfg, modules, n, gen, label=None, **options) -> {"images": uint8 (N, C, H, W), ...}
    translate(cfg, modules, images, direction, **options) -> uint8 (N, C, H, W)
    evaluate(loaded, **options) -> {metric: value}
    sampling_settings(cfg)      -> {setting: value} recorded beside the generic evaluation's metrics
    dataset(cfg, split)         -> the training data, when it is not `core.data.load_dataset`'s
    save_pretrained(cfg, modules, folder, fp16) / load_pretrained(cfg, folder) -> {name: nn.Module}
                                the checkpoint in its library's format (transformers, diffusers)
    for_inference(cfg, modules) what `load_model` does to loaded modules so they sample fast (same outputs)
    check_resume(cfg, out)      raises UserError when `--resume` would rebuild the run's modules differently
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .core.errors import UserError

FAMILIES = {
    "autoencoder_kl": "trainers.latent_diffusion.autoencoder",
    "classifier": "trainers.classifier.train",
    "clip": "trainers.clip.train",
    "cyclegan": "trainers.cyclegan.train",
    "ddpm": "trainers.ddpm.train",
    "gan": "trainers.gan.train",
    "latent_diffusion": "trainers.latent_diffusion.train",
    "pix2pix": "trainers.pix2pix.train",
    "vae": "trainers.vae.train",
}


def get_family(name: str) -> ModuleType:
    if name not in FAMILIES:
        raise UserError(f"unknown family {name!r}; choose one of {', '.join(FAMILIES)}")
    return importlib.import_module(FAMILIES[name])
