"""Text to image as a diffusers user calls it: `StableDiffusionPipeline.from_pretrained(folder)` and
`pipe(prompt, num_inference_steps=30, guidance_scale=4)`, guided at every step with the folder's own scheduler,
on "a <colour> <garment>" prompts (no size word, as an outside evaluation asks). Each image's garment is read by
each judge (a Fashion-MNIST classifier) on its grey intensity, a small garment scaled back to the full frame
(`captions.as_large`, the size measured); its colour by its dominant hue. The judges on the real captioned test
images, read the same way, give the bar.

    python scripts/evaluation/diffusers_call.py checkpoints/ldm-fashion-captions \\
        --judges checkpoints/fashion-classifier checkpoints/fashion-classifier-mlp
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    from diffusers import StableDiffusionPipeline

    from trainers.core import metrics
    from trainers.core.captions import CLASS_WORDS, COLOURS, as_large, captioned, dominant_colour, intensity, measured_size
    from trainers.core.images import to_uint8

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--judges", nargs="+", default=["checkpoints/fashion-classifier"])
    ap.add_argument("--colours", nargs="+", default=["red", "green", "blue", "yellow"])
    ap.add_argument("--per_prompt", type=int, default=4)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--guidance", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    pipe = StableDiffusionPipeline.from_pretrained(args.folder, safety_checker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    torch.manual_seed(args.seed)
    images, labels, colours = [], [], []
    gen = torch.Generator().manual_seed(args.seed)
    for k, garment in enumerate(CLASS_WORDS):
        for colour in args.colours:
            out = pipe(f"a {colour} {garment}", num_inference_steps=args.steps, guidance_scale=args.guidance,
                       num_images_per_prompt=args.per_prompt, generator=gen, output_type="pt").images
            images.append(out.float().clamp(0, 1))
            labels += [k] * len(out)
            colours += [list(COLOURS).index(colour)] * len(out)
    rgb01, labels, colours = torch.cat(images), torch.tensor(labels), torch.tensor(colours)

    def grey(x):
        return to_uint8(as_large(intensity(x), measured_size(x)) * 2 - 1)

    real = captioned("test")
    n_real = 2000
    idx = torch.arange(n_real)
    real_rgb, real_labels = real.images(idx), real.labels[idx].long()  # RGB in [0, 1], as rendered for training
    result = {"folder": args.folder, "call": f"pipe(prompt, num_inference_steps={args.steps}, "
              f"guidance_scale={args.guidance}) with {type(pipe.scheduler).__name__}",
              "prompts": f"'a <colour> <garment>', {len(args.colours)} colours x 10 garments x {args.per_prompt}",
              "n": len(labels), "colour_accuracy": round(float((dominant_colour(rgb01) == colours).float().mean()), 4)}
    for judge in args.judges:
        net = metrics.load_classifier(judge)
        pred = metrics.class_probs(grey(rgb01), net).argmax(1)
        real_pred = metrics.class_probs(grey(real_rgb), net).argmax(1)
        result[Path(judge).name] = {"class_accuracy": round(float((pred == labels).float().mean()), 4),
                                    "real_class_accuracy": round(float((real_pred == real_labels).float().mean()), 4)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
