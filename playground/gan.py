"""Tab "GAN": a grid of samples from a GAN checkpoint for a seed (the latent walk grows here)."""

from __future__ import annotations

import numpy as np
import torch

from trainers.core.errors import UserError
from trainers.core.images import grid
from trainers.gan.train import sample

from .common import LATEX, user_errors
from .models import ModelStore

MAX_SAMPLES = 64
DISPLAY_SCALE = 3


@user_errors
def sample_grid(store: ModelStore, name: str, seed: float, n: float, truncation: float) -> np.ndarray:
    """`n` samples of checkpoint `name` drawn with `seed`, as one grid image (H, W, 3) uint8."""
    for label, v in (("seed", seed), ("n", n), ("truncation", truncation)):
        if v is None or not np.isfinite(v):
            raise UserError(f"{label} must be a finite number")
    seed, n = int(seed), int(n)
    if not 0 <= seed < 2**63 or not 1 <= n <= MAX_SAMPLES:
        raise UserError(f"seed must be in [0, 2^63) and n in [1, {MAX_SAMPLES}]")
    model = store.get(name, family="gan")
    with torch.inference_mode():
        images = sample(model.cfg, model.modules, n, torch.Generator().manual_seed(seed),
                        truncation=float(truncation))["images"]
    g = grid(images, nrow=min(8, n))
    return g.repeat(DISPLAY_SCALE, 0).repeat(DISPLAY_SCALE, 1)  # nearest-neighbour: pixels stay crisp


def build(store: ModelStore) -> None:
    import gradio as gr

    names = store.names("gan")
    gr.Markdown(
        "### GAN samples\n"
        "The generator G maps noise z ~ N(0, I) to an image; it was trained against a discriminator D on "
        "the minimax game of the course notes, "
        "$\\min_G \\max_D \\; \\mathbb{E}_{x}[\\log D(x)] + \\mathbb{E}_{z}[\\log(1 - D(G(z)))]$, "
        "with the non-saturating generator loss $-\\mathbb{E}_z[\\log D(G(z))]$. "
        "Truncation ψ scales z towards 0: less variety, cleaner images. The same seed always gives the same grid.",
        latex_delimiters=LATEX)
    with gr.Row():
        with gr.Column(scale=1):
            ckpt = gr.Dropdown(names, value=names[0] if names else None, label="checkpoint")
            seed = gr.Number(0, label="seed", precision=0, minimum=0)
            n = gr.Slider(1, MAX_SAMPLES, 16, step=1, label="samples")
            trunc = gr.Slider(0.05, 1.0, 1.0, step=0.05, label="truncation ψ")
            go = gr.Button("Sample", variant="primary")
        out = gr.Image(label="samples", type="numpy", interactive=False, format="png", elem_id="gan-samples")
    go.click(lambda *a: sample_grid(store, *a), [ckpt, seed, n, trunc], out, api_name="gan_samples")


if __name__ == "__main__":
    import gradio as gr

    with gr.Blocks(title="GAN samples") as demo:
        build(ModelStore())
    demo.launch()
