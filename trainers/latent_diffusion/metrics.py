"""How well a text-to-image model follows its prompt, measured on prompts drawn from the vocabulary.

For each image generated from "a {size} {colour} {class}":
- class: the shipped Fashion-MNIST classifier on the image's grey intensity (max over channels; a small
  garment scaled back to the full frame, `captions.as_large`) names the class asked for;
- colour: the dominant hue of the garment is nearest to the colour asked for (`captions.dominant_colour`);
- size: the garment stays inside the small box, or not (`captions.measured_size`);
- CLIP score: 100 * max(cos(image, prompt), 0) in the shipped CLIP's embedding (Hessel et al. 2021, as
  torchmetrics' CLIPScore defines it, with our CLIP instead of OpenAI's);
- FID of the grey intensities against Fashion-MNIST's test images, in the classifier's features.
The same detectors run on the real captioned test images give their ceiling (`real_*`).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ..core import metrics
from ..core.captions import SIZES, as_large, captioned, dominant_colour, intensity, measured_size, vocabulary_prompts
from ..core.images import from_uint8, to_uint8


def _clip(cfg):
    from ..core.checkpoint import load_model

    path = Path(cfg.clip)
    return load_model(path) if path.is_dir() else None


@torch.no_grad()
def clip_score(clip_loaded, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
    """100 * max(cos(E_img(x), E_txt(y)), 0) per image, uint8 (N, 3, H, W) and N prompts."""
    from ..clip.train import text_embeddings

    clip = clip_loaded.modules["clip"]
    img = torch.cat([clip.get_image_features(pixel_values=from_uint8(images[i:i + 500])).pooler_output
                     for i in range(0, len(images), 500)])
    txt = torch.cat([text_embeddings(clip_loaded.cfg, clip, prompts[i:i + 500]) for i in range(0, len(prompts), 500)])
    cos = torch.nn.functional.cosine_similarity(img, txt, dim=-1)
    return 100 * cos.clamp_min(0)


def attribute_scores(images: torch.Tensor, label: torch.Tensor, colour: torch.Tensor, size: torch.Tensor,
                     per_image: bool = False) -> dict:
    """Shares of uint8 RGB images (N, 3, 32, 32) whose class / colour / size match what was asked (with
    `per_image`: the hits themselves, bool (N,) each, under "class", "colour" and "size"; also the judge's
    grey inputs under "_grey" and its readings under "_pred")."""
    rgb01 = images.float() / 255
    grey = to_uint8(as_large(intensity(rgb01), size) * 2 - 1)
    pred = metrics.class_probs(grey, metrics.load_classifier()).argmax(1)
    hit_class, hit_colour = pred == label, dominant_colour(rgb01) == colour
    hit_size = measured_size(rgb01) == size
    if per_image:
        return {"class": hit_class, "colour": hit_colour, "size": hit_size}
    return {"class_accuracy": round(float(hit_class.float().mean()), 4),
            "colour_accuracy": round(float(hit_colour.float().mean()), 4),
            "size_accuracy": round(float(hit_size.float().mean()), 4),
            "class_and_colour_accuracy": round(float((hit_class & hit_colour).float().mean()), 4),
            "_grey": grey, "_pred": pred}


def prompt_fidelity(loaded, n: int = 1000, seed: int = 0, steps=None, guidance=None, scheduler: str = "ddim",
                    guidance_interval=None) -> dict:
    from .train import sample

    cfg = loaded.cfg
    table = vocabulary_prompts()
    order = torch.randperm(len(table), generator=torch.Generator().manual_seed(seed)).tolist()
    chosen = [table[order[i % len(table)]] for i in range(n)]
    prompts = [p for p, *_ in chosen]
    label, colour, size = (torch.tensor([c[j] for c in chosen]) for j in (1, 2, 3))
    t0 = time.perf_counter()
    images = torch.cat([sample(cfg, loaded.modules, len(prompts[i:i + 100]), torch.Generator().manual_seed(seed + i),
                               prompt=None, steps=steps, guidance=guidance, scheduler=scheduler,
                               prompts=prompts[i:i + 100], guidance_interval=guidance_interval)["images"] for i in range(0, n, 100)])
    seconds = time.perf_counter() - t0
    out = attribute_scores(images, label, colour, size)
    grey, _ = out.pop("_grey"), out.pop("_pred")
    real = captioned("test", cfg.data_dir)
    fm = real.gray[: max(n, 1000)]
    out["grey_fid_vs_fashion_mnist"] = metrics.fid_kid(fm, grey, metrics.load_classifier(), kid=False)["fid"]
    clip_loaded = _clip(cfg)
    if clip_loaded is not None:
        out["clip_score"] = round(float(clip_score(clip_loaded, images, prompts).mean()), 3)
    # the detectors' ceiling: the same measures on real captioned test images
    idx = torch.arange(min(n, len(real)))
    real_images = to_uint8(real.images(idx) * 2 - 1)
    ceiling = attribute_scores(real_images, real.labels[idx], real.attr["colour"][idx], real.attr["size"][idx])
    ceiling.pop("_grey"), ceiling.pop("_pred")
    out.update({f"real_{k}": v for k, v in ceiling.items()})
    if clip_loaded is not None:
        real_prompts = [real.captions(int(i)) for i in idx]
        out["real_clip_score"] = round(float(clip_score(clip_loaded, real_images, real_prompts).mean()), 3)
    out.update({"n": n, "eval_seed": seed, "prompts": f"{len(table)} '{{size}} {{colour}} {{class}}' prompts in turn",
                "sample_seconds_per_image": round(seconds / n, 5), "scheduler": scheduler,
                "steps": steps or cfg.sample_steps, "guidance": cfg.guidance if guidance is None else guidance,
                "guidance_interval": cfg.guidance_interval if guidance_interval is None else guidance_interval,
                "sizes": list(SIZES)})
    return out
