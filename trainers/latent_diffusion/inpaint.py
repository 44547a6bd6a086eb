"""Latent inpainting family: a latent diffusion U-Net that also sees the hole, saved as a diffusers
`StableDiffusionInpaintPipeline`, so that a prompt ("a red bag") says what fills it.

Conditioning on an image by concatenation (Rombach et al. 2022, sec. 4.5 and app. C; the layout of Stable
Diffusion's inpainting model): the U-Net's input is [z_t, m, E(x_masked)] along the channels, with
    m         the hole (1 = fill) shrunk to the latent's size (nearest, as the pipeline does),
    x_masked  = x * (1 - m_pixels), the image with the hole set to 0 (mid grey on [-1, 1]),
and the training objective is latent diffusion's (`train.py`) with that input:
    L = E || eps - eps_theta([z_t, m, E(x_masked)], t, tau(y)) ||^2,  z_t = sqrt(alpha_bar_t) z_0 + sqrt(1 - alpha_bar_t) eps.
Holes are drawn for every image: the shapes the evaluation measures (`ddpm.inpaint.MASKS`), a random box, or,
with probability `p_full`, the whole image (then it is text-to-image; Stable Diffusion's inpainting model used
25%). The caption is dropped with probability `p_uncond`, for classifier-free guidance.

`--init_from` a latent diffusion checkpoint (ldm-fashion-captions) copies its U-Net, with the five new input
channels at zero, as Stable Diffusion's inpainting model grew from Stable Diffusion: at step 0 it is that model,
blind to the hole.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

from ..core.errors import NothingGiven, UserError
from ..core.images import from_uint8, to_uint8
from ..ddpm.diffusion import q_sample
from ..ddpm.inpaint import MASKS, make_mask
from ..ddpm.samplers import guided
from ..ddpm.train import optimise, schedule
from . import train as L
from .sampling import decode, encode_prompts, guides

BOX = "random box"
HOLES = (*MASKS, BOX)  # what training draws (and "everything" with p_full)


@dataclasses.dataclass(frozen=True)
class Config(L.Config):
    p_full: float = 0.25  # probability that the hole is the whole image

    def validate(self) -> None:
        super().validate()
        if not 0 <= self.p_full <= 1:
            raise UserError(f"--p_full must be in [0, 1], got {self.p_full}")


def latent_channels(modules: dict) -> int:
    return modules["vae"].config.latent_channels


def build(cfg: Config) -> dict:
    """latent diffusion's parts, the U-Net taking 2 x latent channels + 1 (z_t, the masked image's latent, m)."""
    from diffusers import UNet2DConditionModel

    parts = L.build(cfg)
    c = latent_channels(parts)
    for name in ("unet", "unet_ema"):
        config = {**parts[name].config, "in_channels": 2 * c + 1, "out_channels": c}
        parts[name] = UNet2DConditionModel.from_config(config)
    parts["unet_ema"].load_state_dict(parts["unet"].state_dict())
    parts["unet_ema"].requires_grad_(False).eval()
    return parts


optimizers = L.optimizers
check_resume = L.check_resume
dataset = L.dataset


def init_from(cfg: Config, modules: dict, parent) -> dict[str, str]:
    """`--init_from` a latent diffusion checkpoint on the same autoencoder and text encoder: its EMA U-Net, the
    input convolution's new channels (the hole and the masked image's latent) at zero."""
    from ..unclip.embeddings import same_weights

    if parent.family != "latent_diffusion":
        raise UserError(f"--init_from={parent.path} holds a {parent.family!r} model; latent inpainting starts from "
                        "its own checkpoints or a latent_diffusion one")
    for part, option in (("vae", "--vae"), ("text_encoder", "--clip")):
        if not same_weights(parent.modules[part], modules[part]):
            raise UserError(f"--init_from={parent.path} was trained with another {part} than {option} gives")
    source = dict(parent.modules["unet_ema"].state_dict())
    w = source["conv_in.weight"]
    extra = modules["unet"].config.in_channels - w.shape[1]
    source["conv_in.weight"] = torch.cat([w, w.new_zeros(w.shape[0], extra, *w.shape[2:])], 1)
    for name in ("unet", "unet_ema"):
        try:
            modules[name].load_state_dict(source)
        except RuntimeError as e:
            raise UserError(f"--init_from={parent.path}: its U-Net does not fit (give the same --widths, "
                            f"--layers_per_block and --head_dim): {str(e)[:200]}") from None
    unet = f"{parent.path}: unet_ema (the hole's {extra} input channels at zero)"
    return {"unet": unet, "unet_ema": unet, "vae": cfg.vae, "text_encoder": cfg.clip}


def random_holes(n: int, size: int, gen: torch.Generator, p_full: float) -> torch.Tensor:
    """(n, 1, size, size) holes (1 = fill): each one of `HOLES` at random, or the whole image with p_full."""
    kind = torch.randint(0, len(HOLES), (n,), generator=gen)
    holes = torch.zeros(n, 1, size, size)
    for k, name in enumerate(HOLES):
        idx = (kind == k).nonzero().flatten()
        if not len(idx):
            continue
        if name == BOX:
            for i in idx.tolist():
                h, w = (torch.randint(size // 4, 3 * size // 4 + 1, (2,), generator=gen)).tolist()
                y, x = int(torch.randint(0, size - h + 1, (), generator=gen)), int(torch.randint(0, size - w + 1, (), generator=gen))
                holes[i, 0, y:y + h, x:x + w] = 1
        else:
            holes[idx] = 1 - make_mask(name, len(idx), size, gen)
    full = torch.rand(n, generator=gen) < p_full
    holes[full] = 1
    return holes


def masked(x: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """x_masked = x * (hole < 0.5): the hole set to 0, as `StableDiffusionInpaintPipeline` makes it."""
    return x * (hole < 0.5)


def latent_hole(hole: torch.Tensor, latent_size: int) -> torch.Tensor:
    """m at the latent's size: nearest, as the pipeline shrinks the mask."""
    return F.interpolate(hole, size=(latent_size, latent_size))


def train_step(cfg: Config, modules: dict, opts: dict, batch: dict, gen: torch.Generator, accelerator) -> dict:
    unet, vae = modules["unet"], modules["vae"]
    x = batch["image"]  # (B, 3, 32, 32) in [-1, 1]
    b, device = x.shape[0], x.device
    frozen = L.frozen_outputs(modules)
    sf = vae.config.scaling_factor
    z0 = frozen.posterior(vae, x, batch["index"]).sample(generator=gen) * sf
    hole = random_holes(b, x.shape[-1], gen, cfg.p_full).to(device)
    with torch.no_grad():
        z_masked = vae.encode(masked(x, hole)).latent_dist.sample(generator=gen) * sf
    drop = torch.rand(b, generator=gen, device=gen.device) < cfg.p_uncond
    cond = frozen.states(L.text_tokenizer(modules), modules["text_encoder"],
                         ["" if d else c for d, c in zip(drop.tolist(), batch["caption"])])
    t = torch.randint(0, cfg.T, (b,), generator=gen, device=gen.device).to(device)
    eps = torch.randn(z0.shape, generator=gen, device=gen.device).to(device)
    zt = q_sample(schedule("linear", cfg.T, str(device)), z0, t, eps)
    inp = torch.cat([zt, latent_hole(hole, z0.shape[-1]), z_masked], 1)
    # minimise || eps - eps_theta([z_t, m, E(x_masked)], t, tau(y)) ||^2
    loss = F.mse_loss(unet(inp, t, encoder_hidden_states=cond).sample, eps)
    return optimise(loss, opts, modules, accelerator, cfg.grad_clip, cfg.ema_decay)


def pipeline(cfg: Config, modules: dict, fp16: bool = False):
    """A `StableDiffusionInpaintPipeline` over the modules (the EMA U-Net); the clipping DDIM of
    `train.scheduler_config` is set after construction (see `sampling.make_pipeline`)."""
    from diffusers import DDIMScheduler, StableDiffusionInpaintPipeline

    def part(name):
        return copy.deepcopy(modules[name]).half() if fp16 else modules[name]

    pipe = StableDiffusionInpaintPipeline(
        vae=part("vae"), text_encoder=part("text_encoder"), tokenizer=L.text_tokenizer(modules),
        unet=part("unet_ema"), scheduler=DDIMScheduler(**{**L.scheduler_config(cfg), "clip_sample": False}),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save_pretrained(cfg: Config, modules: dict, folder: Path, fp16: bool = True) -> None:
    """The diffusers pipeline folder, its weights in fp16 (loaded back as fp32)."""
    pipeline(cfg, modules, fp16).save_pretrained(folder, safe_serialization=True)


def load_pretrained(cfg: Config, folder: Path) -> dict:
    from diffusers import StableDiffusionInpaintPipeline

    pipe = StableDiffusionInpaintPipeline.from_pretrained(folder, use_safetensors=True, dtype=torch.float32,
                                                          safety_checker=None, requires_safety_checker=False)
    pipe.text_encoder.pipeline_tokenizer = pipe.tokenizer
    return {"unet_ema": pipe.unet, "vae": pipe.vae, "text_encoder": pipe.text_encoder}


def make_pipeline(cfg: Config, modules: dict):
    from diffusers import DDIMScheduler

    pipe = pipeline(cfg, modules)
    pipe.scheduler = DDIMScheduler(**L.scheduler_config(cfg))  # clips z0_hat to the latents' range
    return pipe


def _check(images: torch.Tensor, holes: torch.Tensor, prompts: list[str]) -> torch.Tensor:
    if images.ndim != 4 or images.shape[1] != 3:
        raise UserError(f"latent inpainting takes RGB images (N, 3, H, W), got {tuple(images.shape)}")
    if holes.ndim != 4 or holes.shape[1] != 1 or holes.shape[-2:] != images.shape[-2:] or len(holes) not in (1, len(images)):
        raise UserError(f"the hole must be (N, 1, {images.shape[-2]}, {images.shape[-1]}), got {tuple(holes.shape)}")
    holes = (holes.float() > 0.5).float().expand(len(images), -1, -1, -1)
    if not bool(holes.flatten(1).amax(1).all()):
        raise NothingGiven("the hole is empty: paint the part to fill in")
    if len(prompts) != len(images):
        raise UserError(f"{len(prompts)} prompts for {len(images)} images")
    return holes


@torch.no_grad()
def fill(pipe, images: torch.Tensor, holes: torch.Tensor, prompts: list[str], gen: torch.Generator, steps: int = 30,
         guidance: float = 3.0) -> Iterator[tuple[int, int, torch.Tensor, torch.Tensor | None]]:
    """`StableDiffusionInpaintPipeline.__call__` unrolled (tested to give its images for the same generator):
    uint8 RGB images (N, 3, H, W), holes (N or 1, 1, H, W; 1 = fill), one prompt each. Yields
    (i, t, z_{t'}, z0_hat) per step, then (steps, 0, z_0, uint8 decoded images) once: the whole image decoded,
    the kept pixels too (they went through the autoencoder; `paste` puts the originals back)."""
    holes = _check(images, holes, prompts)
    if not 1 <= steps <= pipe.scheduler.config.num_train_timesteps:
        raise UserError(f"steps must be in [1, {pipe.scheduler.config.num_train_timesteps}], got {steps}")
    unet, vae, sched = pipe.unet, pipe.vae, pipe.scheduler
    device = unet.device
    guided_run = guides(guidance)
    cond, uncond = encode_prompts(pipe, list(prompts), None, guidance)
    text = torch.cat([uncond, cond]) if guided_run else cond
    sched.set_timesteps(steps, device=device)
    c, size = vae.config.latent_channels, unet.config.sample_size
    latents = torch.randn((len(images), c, size, size), generator=gen, device=gen.device).to(device)
    latents = latents * sched.init_noise_sigma
    x = from_uint8(images).to(device)
    z_masked = vae.encode(masked(x, holes.to(device))).latent_dist.sample(generator=gen) * vae.config.scaling_factor
    m = latent_hole(holes.to(device), size)
    if guided_run:
        m, z_masked = torch.cat([m, m]), torch.cat([z_masked, z_masked])
    for i, t in enumerate(sched.timesteps):
        z_in = sched.scale_model_input(torch.cat([latents] * 2) if guided_run else latents, t)
        eps = unet(torch.cat([z_in, m, z_masked], 1), t, encoder_hidden_states=text).sample
        if guided_run:  # eps_hat = eps(z_t, "") + w (eps(z_t, y) - eps(z_t, ""))
            eps = guided(*eps.chunk(2), guidance)
        out = sched.step(eps, t, latents)
        latents = out.prev_sample
        yield i, int(t), latents, getattr(out, "pred_original_sample", None)
    yield steps, 0, latents, decode(pipe, latents)


MIN_FIT = 0.5  # the least share of the kept pixels' energy a colour gain must explain (`colour_matched`)


def colour_matched(result: torch.Tensor, images: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    """`result` with each image's channels scaled by the gain that best maps its kept pixels onto the original's:
    a = sum_kept(x * r) / sum_kept(r * r), least squares through 0 (black stays black), within [1/4, 4]. The
    autoencoder and the sampler redraw the whole garment at a brightness of their own (a red dress's kept part came
    back at a third of its level, a shirt's at 0.55 or 1.2), and its hole, pasted among the original's pixels,
    showed as a dark or bright band. The colour correction of img2img tools, as one gain per channel.

    Only where a gain explains the kept pixels: the fit's R^2 through 0, num^2 / (den sum_kept x^2), at least
    MIN_FIT. A fill that drew another garment over the whole picture (a blue dress on a sneaker) has nothing of the
    original there to match, and its gain (0.003) dimmed the hole to a dark box; it keeps its own colours."""
    keep = (holes < 0.5).float().expand_as(result)
    r, x = result.float(), images.float()
    num, den = (keep * x * r).sum((2, 3), keepdim=True), (keep * r * r).sum((2, 3), keepdim=True)
    energy = (keep * x * x).sum((2, 3), keepdim=True)
    # a channel the original lacks around the hole (energy 0): any fill there is the sampler's, and is dimmed
    fit = torch.where(energy > 1.0, num ** 2 / (den * energy).clamp_min(1.0), torch.ones_like(den))
    gain = torch.where((den > 1.0) & (fit >= MIN_FIT), num / den.clamp_min(1.0), torch.ones_like(den)).clamp(0.25, 4.0)
    return (r * gain).round().clamp(0, 255).to(result.dtype)


def paste(result: torch.Tensor, images: torch.Tensor, holes: torch.Tensor) -> torch.Tensor:
    """The originals' kept pixels put back around the filled hole (uint8 (N, 3, H, W)), the fill's colours matched
    to theirs first (`colour_matched`)."""
    keep = (holes < 0.5).expand_as(result)
    return torch.where(keep, images, colour_matched(result, images, holes))


def inpaint(cfg: Config, modules: dict, images: torch.Tensor, holes: torch.Tensor, prompts: list[str],
            seed: int = 0, steps: int | None = None, guidance: float | None = None, batch: int = 250) -> torch.Tensor:
    """uint8 RGB images with their holes filled for the prompts, the kept pixels the originals'."""
    pipe = make_pipeline(cfg, modules)
    holes = _check(images, holes, prompts)
    gen = torch.Generator(pipe.unet.device).manual_seed(int(seed))
    out = []
    for i in range(0, len(images), batch):
        *_, (_, _, _, decoded) = fill(pipe, images[i:i + batch], holes[i:i + batch], prompts[i:i + batch], gen,
                                      steps or cfg.sample_steps, cfg.guidance if guidance is None else guidance)
        out.append(paste(decoded, images[i:i + batch], holes[i:i + batch]))
    return torch.cat(out)


def preview(cfg: Config, modules: dict, gen: torch.Generator) -> torch.Tensor:
    """Eight test images per row: originals, each hole shape of `MASKS` filled for the image's own caption."""
    test = dataset(cfg, "test")
    items = [test[i * (len(test) // 8)] for i in range(8)]
    images = to_uint8(torch.stack([it["image"] for it in items]))
    prompts = [it["caption"] for it in items]
    rows = [images]
    for kind in MASKS:
        holes = 1 - make_mask(kind, 8, cfg.image_size, torch.Generator().manual_seed(1))
        seed = int(torch.randint(0, 2 ** 31, (1,), generator=gen, device=gen.device))
        rows.append(inpaint(cfg, modules, images, holes, prompts, seed))
    return torch.cat(rows)


def evaluate(loaded, n: int = 500, seed: int = 0, steps: int | None = None, guidance: float | None = None,
             **_) -> dict:
    """Held-out: n captioned test images of large garments per hole shape of `MASKS`, filled for their own
    caption. Per shape: the share whose class the judges still read in the grey intensity (the max over channels:
    the colour is the prompt's, the garment the judge's), FID of that intensity against other test garments,
    and how far the autoencoder moved the kept pixels before they were put back (mean |error| on [0, 255])."""
    from ..core import metrics
    from ..core.captions import intensity

    cfg = loaded.cfg
    test = dataset(cfg, "test")
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))
    large = order[test.attr["size"][order] == 1]  # large garments: the judges' size
    pick, rest = large[:n], large[n:n + 2000]
    images = to_uint8(test.images(pick) * 2 - 1)
    labels = test.labels[pick]
    prompts = [test.captions(int(i)) for i in pick]
    real = test.gray[rest]  # the grey garments themselves: every colour is at full value, so this is their intensity
    judges = {"cnn": metrics.load_classifier(),
              "mlp": metrics.load_classifier(metrics.CLASSIFIER_DIR.parent / "fashion-classifier-mlp")}
    n = len(pick)
    result: dict = {"n_test": n, "steps": steps or cfg.sample_steps,
                    "guidance": cfg.guidance if guidance is None else guidance}
    pipe = make_pipeline(cfg, loaded.modules)
    for kind in MASKS:
        holes = 1 - make_mask(kind, n, cfg.image_size, torch.Generator().manual_seed(seed + 1))
        gen = torch.Generator().manual_seed(seed)
        raw = []
        for i in range(0, n, 250):
            *_, (_, _, _, decoded) = fill(pipe, images[i:i + 250], holes[i:i + 250], prompts[i:i + 250], gen,
                                          steps or cfg.sample_steps, result["guidance"])
            raw.append(decoded)
        raw = torch.cat(raw)
        keep = (holes < 0.5).expand_as(raw)
        key = kind.replace(" ", "_")
        result[f"{key}_kept_error"] = round(float((raw.float() - images.float()).abs()[keep].mean()), 3)
        grey = to_uint8(intensity(from_uint8(paste(raw, images, holes)) * 0.5 + 0.5) * 2 - 1)
        for name, net in judges.items():
            result[f"{key}_class_kept_{name}"] = round(float((metrics.class_probs(grey, net).argmax(1) == labels)
                                                             .float().mean()), 4)
        result[f"{key}_fid"] = round(metrics.fid_kid(real, grey, judges["cnn"], kid=False)["fid"], 3)
    return result
