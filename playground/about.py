"""Tab "About": the loaded models, each with its card (command, data, hardware, metrics)."""

from __future__ import annotations

import json
import math

import numpy as np

from trainers.core.checkpoint import SAMPLES, read_card, read_meta, weight_files

from .common import TabParts, user_errors
from .models import ModelStore


HEADLINE = ("test_accuracy", "data_floor_fid", "fid", "kid", "class_entropy", "test_psnr_db", "test_neg_elbo_nats",
            "prior_fid", "prior_class_entropy")


def n_parameters(path) -> str:
    """Parameter count of a checkpoint folder from its safetensors headers alone (no tensor is read)."""
    from safetensors import safe_open

    try:
        n = 0
        for weights in weight_files(path):
            with safe_open(str(weights), framework="pt") as f:
                n += sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys()
                         if not k.endswith("num_batches_tracked"))
    except Exception:
        return "?"
    return f"{n / 1e6:.2f} M"


def models_table(store: ModelStore) -> list[list]:
    """One row per checkpoint: name, family, step, parameters, wall time, hardware, headline metrics."""
    rows = []
    for name in store.names():
        path = store.root / name
        config, card = read_meta(path), read_card(path)
        metrics = card.get("metrics", {})
        headline = ", ".join(f"{k}={metrics[k]}" for k in HEADLINE if k in metrics)
        rows.append([name, config.get("family"), config.get("step"), n_parameters(path),
                     card.get("wall_time_s"), card.get("hardware", ""), headline])
    return rows


@user_errors
def model_card(store: ModelStore, name: str) -> tuple[str, np.ndarray | None]:
    """The card of one checkpoint as pretty JSON, and its samples grid."""
    path = store.path(name)
    card = {"config": read_meta(path), "card": read_card(path)}
    samples = None
    if (path / SAMPLES).is_file():
        from PIL import Image

        with Image.open(path / SAMPLES) as im:
            samples = np.asarray(im.convert("RGB"))
    return json.dumps(card, indent=2), samples


def build(store: ModelStore) -> TabParts:
    import gradio as gr

    gr.Markdown(
        "### Models shipped in `checkpoints/`\n"
        "Every model here was trained by this project's own trainers (`python -m trainers train ...`); "
        "its card records the exact command, the data, the hardware, the wall time and the metrics "
        "measured by `python -m trainers evaluate`. FID/KID are computed in the features of the shipped "
        "Fashion-MNIST classifier, so they compare this project's models with each other, not with "
        "published Inception FIDs.")
    gr.Dataframe(value=models_table(store), interactive=False,
                 headers=["name", "family", "step", "parameters", "train s", "hardware", "metrics"])
    names = store.names()
    first = model_card(store, names[0]) if names else ("{}", None)
    choice = gr.Dropdown(names, value=names[0] if names else None, label="checkpoint")
    with gr.Row():
        card = gr.Code(value=first[0], language="json", label="config.json + card.json")
        samples = gr.Image(value=first[1], label="samples.png", type="numpy", interactive=False)
    choice.change(lambda name: model_card(store, name), choice, [card, samples], api_name="model_card")
    return TabParts(refresh=[(choice, store.names)])
