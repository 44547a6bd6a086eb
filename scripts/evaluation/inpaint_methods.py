"""Issue 24's comparison of the inpainting methods on the SAME held-out garments and holes: the blur fill, the pixel
DDPM (replace, RePaint) and the latent inpainting model, per hole shape, judged by both classifiers on the grey
intensity and by FID against other test garments.

    python scripts/evaluation/inpaint_methods.py --n 200 [--ddpm checkpoints/ddpm-fashion]
        [--latent checkpoints/ldm-inpaint-fashion-captions] [--steps 50] [--resample 5] [--out table.md]

The garments are the latent model's evaluation's (large ones of the captioned test set, `ldm_inpaint.evaluate`'s
order); the pixel methods fill their grey originals, the latent model their coloured renderings for their own
captions. Every method's kept pixels are the originals' (the latent model's put back after decoding).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from trainers.core import metrics  # noqa: E402
from trainers.core.captions import intensity  # noqa: E402
from trainers.core.checkpoint import load_model  # noqa: E402
from trainers.core.images import from_uint8, to_uint8  # noqa: E402
from trainers.ddpm import inpaint as P  # noqa: E402
from trainers.latent_diffusion import inpaint as L  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--resample", type=int, default=5)
    ap.add_argument("--ddpm", default="checkpoints/ddpm-fashion")
    ap.add_argument("--latent", default="checkpoints/ldm-inpaint-fashion-captions")
    ap.add_argument("--out", default="")
    a = ap.parse_args()

    ddpm, latent = load_model(a.ddpm), load_model(a.latent)
    test = L.dataset(latent.cfg, "test")
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(a.seed))
    large = order[test.attr["size"][order] == 1]
    pick, rest = large[:a.n], large[a.n:a.n + 2000]
    grey, labels, real = test.gray[pick], test.labels[pick], test.gray[rest]
    rgb = to_uint8(test.images(pick) * 2 - 1)
    prompts = [test.captions(int(i)) for i in pick]
    judges = {"MLP": metrics.load_classifier(metrics.CLASSIFIER_DIR.parent / "fashion-classifier-mlp"),
              "CNN": metrics.load_classifier()}

    lines = [f"On {len(pick)} held-out garments per hole shape ({a.steps} steps; RePaint r = {a.resample}; the latent "
             f"model {latent.cfg.sample_steps} DDIM steps, guidance {latent.cfg.guidance}, each garment's caption):", "",
             "| hole | method | class kept, MLP / CNN judge | FID |", "|---|---|---|---|"]
    for kind in P.MASKS:
        hole = 1 - P.make_mask(kind, len(pick), 32, torch.Generator().manual_seed(a.seed + 1))
        filled = {
            "blur fill": to_uint8(P.blur_fill(from_uint8(grey), 1 - hole)),
            "replace (pixel DDPM)": P.inpaint_images(ddpm, grey, hole, a.steps, 1, a.seed),
            f"RePaint r={a.resample} (pixel DDPM)": P.inpaint_images(ddpm, grey, hole, a.steps, a.resample, a.seed),
            "latent + caption": to_uint8(intensity(from_uint8(
                L.inpaint(latent.cfg, latent.modules, rgb, hole, prompts, a.seed)) * 0.5 + 0.5) * 2 - 1),
        }
        for method, images in filled.items():
            kept = (hole < 0.5).expand_as(images)
            assert method == "latent + caption" or torch.equal(images[kept], grey[kept]), method
            acc = {j: float((metrics.class_probs(images, net).argmax(1) == labels).float().mean())
                   for j, net in judges.items()}
            fid = metrics.fid_kid(real, images, judges["CNN"], kid=False)["fid"]
            lines.append(f"| {kind} | {method} | {acc['MLP']:.1%} / {acc['CNN']:.1%} | {fid:.2f} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines)
    if a.out:
        Path(a.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
