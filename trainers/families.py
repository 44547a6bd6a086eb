"""The families the trainers know, by the name used on the command line and in config.json.

Each module follows the protocol in `core/family.py`: `Family` (Config, build, optimizers, train_step) and
the optional hooks (preview, monitor, sample, translate, evaluate, sampling_settings, dataset,
save_pretrained / load_pretrained, for_inference, check_resume), each a protocol of its own.
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
    "ldm_inpaint": "trainers.latent_diffusion.inpaint",
    "pix2pix": "trainers.pix2pix.train",
    "srgan": "trainers.srgan.train",
    "sr3": "trainers.ddpm.sr3",
    "unclip_decoder": "trainers.unclip.decoder",
    "unclip_prior": "trainers.unclip.prior",
    "vae": "trainers.vae.train",
}


# Other names a user may type for a family (the names the issue tracker and the course use); checkpoints record
# the family's own name.
ALIASES = {"inpaint_ldm": "ldm_inpaint", "sr_ddpm": "sr3"}


def canonical(name: str) -> str:
    """The family's own name for `name` or one of its `ALIASES`."""
    return ALIASES.get(name, name)


def get_family(name: str) -> ModuleType:
    name = canonical(name)
    if name not in FAMILIES:
        raise UserError(f"unknown family {name!r}; choose one of {', '.join(FAMILIES)}")
    return importlib.import_module(FAMILIES[name])
