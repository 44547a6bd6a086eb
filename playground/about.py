"""Tab "About": the loaded models, each with its card (command, data, hardware, metrics)."""

from __future__ import annotations

import json
import math

import numpy as np

from trainers.core.checkpoint import SAMPLES, read_card, read_meta

from trainers.core.errors import UserError

from .errors import user_errors
from .exports import tagged
from .views import sheet_view, training_cost
from .wiring import TabParts
from .models import ModelStore, n_parameters


HEADLINE = ("test_accuracy", "data_floor_fid", "fid", "class_entropy", "class_accuracy", "test_psnr_db", "test_neg_elbo_nats",
            "prior_fid", "prior_class_entropy", "model_psnr_db", "model_fid")  # the last two: a super-resolution model's


def models_table(store: ModelStore) -> list[list]:
    """One row per checkpoint: name, family, step, parameters, wall time, hardware, headline metrics."""
    rows = []
    for name in store.names():
        path = store.root / name
        config, card = read_meta(path), read_card(path)
        metrics = card.get("metrics", {})
        # three significant digits: the full values are on the card below (long ones ran out of the table)
        keys = [k for k in HEADLINE if k in metrics] or [  # a family of its own metrics (CLIP, CycleGAN): its first two
            k for k, v in metrics.items() if isinstance(v, float) and not k.startswith("n_")][:2]
        # class entropy in bits, as everywhere else in the app (3.32 bits: the 10 classes equally); cards keep nats
        headline = ", ".join(f"{k} {metrics[k] / math.log(2):.3g} bits" if k.endswith("class_entropy") else
                             f"{k} {metrics[k]:.3g}" if isinstance(metrics[k], float) else f"{k} {metrics[k]}"
                             for k in keys)
        seconds, machines = training_cost(card)
        rows.append([name, config.get("family"), card.get("steps_total", config.get("step")), n_parameters(path),
                     round(seconds / 60, 1) if seconds else None, machines, headline])
    return rows


def models_markdown(store: ModelStore) -> str:
    """`models_table` as a Markdown table."""
    head = ["name", "family", "steps", "parameters", "train min", "hardware", "metrics"]
    rows = [["—" if v is None else _cell(v) for v in row] for row in models_table(store)]
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                     + ["| " + " | ".join(row) + " |" for row in rows])


@user_errors
def model_card(store: ModelStore, name: str) -> tuple[str, np.ndarray | None]:
    """The card of one checkpoint as pretty JSON, and its samples grid."""
    path = store.path(name)
    card = {"config": read_meta(path), "card": read_card(path)}
    samples = None
    if (path / SAMPLES).is_file():
        from PIL import Image

        with Image.open(path / SAMPLES) as im:
            samples = sheet_view(np.asarray(im.convert("RGB")), int(card["config"].get("image_size", 32)))
    return json.dumps(card, indent=2), samples


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|")


@user_errors
def _kind(config: dict) -> str:
    """What a checkpoint is, in words: its family, and for the vae family which of its four models."""
    family, values = config.get("family"), config.get("config") or {}
    if family == "vae":
        what = ("variational autoencoder" if values.get("variational", True) else
                "denoising autoencoder" if values.get("noise_std") else "autoencoder")
        return f"{'An' if what[0] in 'aeiou' else 'A'} **{what}** (the vae family)"
    if family == "srgan":  # its first stage is SRResNet, trained without D: the lesson tells the two apart
        what = "SRGAN" if values.get("lambda_adv") else "SRResNet"
        return f"An **{what}** super-resolution model, ×{values.get('scale')} (the srgan family)"
    if family == "sr3":
        return f"An **SR3** super-resolution model, ×{values.get('scale')}: a DDPM conditioned on the small image"
    if family == "ldm_inpaint":
        return "A **latent inpainting** model: latent diffusion that sees the hole, steered by a prompt"
    return f"{'An' if str(family)[:1] in 'aeiou' else 'A'} **{family}** model"


def card_markdown(store: ModelStore, name: str) -> str:
    """One checkpoint's card for people: what it is, how it was trained (command, data, hardware, time, each
    run of its lineage) and its metrics as a table."""
    path = store.path(name)
    config, card = read_meta(path), read_card(path)
    data = card.get("data") or {}
    wall = card.get("wall_time_s")
    total = card.get("steps_total")
    runs = len(card.get("history") or [])
    lines = [f"#### {name}",
             f"{_kind(config)} ({n_parameters(path)} numbers in its weight files, EMA copies "
             f"included). " + (f"{total} training steps in all" + (f" over {runs} runs" if runs else "") + "; the last "
                               if total else "Trained ")
             + f"{card.get('steps', config.get('step'))} steps"
             + (f" ({card['epochs']:.3g} epochs at batch {card.get('batch_size')})" if card.get("epochs") else "")
             + (f"{' took' if total else ' in'} {wall / 60:.1f} min" if isinstance(wall, (int, float)) else "")
             + (f" on {card['hardware']}" if card.get("hardware") else "") + "."]
    if data:
        lines.append(f"**Data**: {data.get('dataset')}, {data.get('n_train', '?')} training images at "
                     f"{data.get('image_size', '?')} px, {data.get('channels', '?')} channel(s).")
    if card.get("command"):
        # a run resumed has a command per slice: one a line (the list was shown as Python wrote it, ['python ...'])
        command = card["command"] if isinstance(card["command"], str) else "\n".join(card["command"])
        lines += ["**Trained with**", f"```\n{command}\n```"]
    history = card.get("history") or []
    if history:
        # the commands under the table, not in it: a command column squeezed the others to a letter a line
        lines += ["**Runs of its lineage**", "", "| run | steps | hardware |", "|---|---|---|"]
        lines += [f"| {i} | {_cell(h.get('steps', ''))} | {_cell(h.get('hardware', ''))} |"
                  for i, h in enumerate(history, 1)]
        lines += ["", "Their commands, in order:", "```"]
        for h in history:
            command = h.get("command", "")
            lines += command if isinstance(command, list) else [str(command)]
        lines.append("```")
    metrics = card.get("metrics") or {}
    if metrics:
        lines += ["", "**Metrics** (`python -m trainers evaluate`"
                  + (f": `{card['evaluate_command']}`" if card.get("evaluate_command") else "") + ")", "",
                  "| metric | value |", "|---|---|"]
        lines += [f"| {_cell(k)} | {_metric_cell(k, v)} |" for k, v in metrics.items() if not isinstance(v, (dict, list))]
    return "\n".join(lines)


def _metric_cell(key: str, value) -> str:
    """A card's metric for people: an entropy (nats, as torch's log gives it) also in bits, the unit the other
    tables show (the card's 2.296 read as a different number from Compare's 3.31 bits)."""
    if "entropy" in key and isinstance(value, float):
        return f"{value:.4g} nats = {value / math.log(2):.3g} bits"
    return _cell(value)


# what each family's training preview (samples.png) shows: its `preview` in trainers/<family>/train.py
GRIDS = {"classifier": "test images, a row per class it predicts",
         "pix2pix": "test inputs, its outputs and their targets, in turn",
         "cyclegan": "test images of each domain, translated, and back",
         "dualgan": "test images of each domain, translated, and back",
         "srgan": "eight test images: shrunk (drawn large), bicubic, the model's and the original, a row each",
         "sr3": "eight test images: shrunk (drawn large), bicubic, the model's and the original, a row each",
         "ldm_inpaint": "eight test images, then each hole shape filled for their captions, a row each",
         "latent_diffusion": "a prompt per row, eight seeds each",
         "ddpm": "samples from fixed noise",
         "gan": "samples from fixed noise"}


def grid_label(store: ModelStore, name: str | None) -> str:
    """What a checkpoint's samples.png shows: an autoencoder's is test images above their reconstructions, not
    samples (it was labelled "its samples")."""
    try:
        config = json.loads((store.path(name) / "config.json").read_text()) if name else {}
    except (OSError, ValueError, UserError):
        config = {}
    family, cfg = config.get("family"), config.get("config", {})
    if family == "vae":
        what = ("rows 1–4 samples from the prior, then test images, each row above its reconstruction"
                if cfg.get("variational", True) else "test images, each row above its reconstruction")
    else:
        what = GRIDS.get(family, "what its trainer drew at the end of training")
        if family in ("gan", "ddpm"):  # an unconditional GAN's was said to have "a class per row" too
            what += " (a conditional model: a class per row)" if cfg.get("n_classes") else ", in no order of class"
    return f"its training preview (samples.png): {what}"


def build(store: ModelStore) -> TabParts:
    import gradio as gr

    gr.Markdown(
        "### Models shipped in `checkpoints/`\n"
        "Every model here was trained by this project's own trainers (`python -m trainers train ...`); "
        "its card records the exact command, the data, the hardware, the wall time and the metrics "
        "measured by `python -m trainers evaluate`. FID/KID are computed in the features of the shipped "
        "Fashion-MNIST classifier, so they compare this project's models with each other, not with "
        "published Inception FIDs. **Try first:** pick a checkpoint under the table to read its card and see "
        "its samples.")
    # every column on the page: the metrics wrap in the widest column (cut at the right, they needed a sideways
    # scroll that few found)
    # a plain table: its cells never break a number or a word, only the metrics wrap, and when the page is
    # narrower it scrolls sideways (Gradio's Dataframe at 800 px cut "parameters" to "parame", 5616 to "561/6")
    gr.Markdown(models_markdown(store), elem_id="about-models")
    names = store.names()
    first = model_card(store, names[0]) if names else ("{}", None)
    choice = gr.Dropdown(names, value=names[0] if names else None, label="checkpoint")
    text = gr.Markdown(card_markdown(store, names[0]) if names else "", elem_id="about-card")
    # the sheet has the page's width to itself, its tiles at >= MIN_FRAME_PX (it scrolls sideways when narrower)
    samples = gr.Image(value=first[1], label=grid_label(store, names[0] if names else None), type="numpy",
                       interactive=False,
                       elem_id="about-samples", elem_classes="sheet", format="png")
    with gr.Accordion("the raw files: config.json + card.json", open=False):
        card = gr.Code(value=first[0], language="json", label="config.json + card.json")
    # tagged: the samples download as a PNG named after the checkpoint (it was image.webp)
    # the card's text follows the API's event (a second .change on the dropdown: see wiring.one_event_per_change)
    # no progress overlay: a card is read in milliseconds, and drawing the overlay over the sheet and the JSON
    # and taking it down again cost the page more than the read (a card shown in 179 ms, 161 without; Chromium)
    choice.change(tagged("model_card", ["checkpoint"], lambda name: model_card(store, name)), choice, [card, samples],
                  api_name="model_card", show_progress="hidden").then(
        lambda name: (card_markdown(store, name), gr.Image(label=grid_label(store, name))), choice, [text, samples],
        api_name=False, show_progress="hidden")
    return TabParts(refresh=[(choice, store.names)])
