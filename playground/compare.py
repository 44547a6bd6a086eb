"""Tab "Compare": shipped models of any family side by side from the same seed (and class), with a
metrics table from their cards plus the sampling time measured here, and a training timeline that
replays a run's fixed-noise snapshots beside its loss and metric curves. Handlers are pure functions."""

from __future__ import annotations

import csv
import re
import time

import numpy as np
import torch

from trainers.core.checkpoint import CONFIG, WEIGHTS, read_card, read_json
from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.errors import UserError
from trainers.core.images import grid, upscale
from trainers.families import get_family

from .about import n_parameters
from .common import user_errors
from .models import ModelStore

GENERATIVE = ("gan", "vae", "ddpm")
MAX_MODELS, MAX_SAMPLES = 4, 16
ANY_CLASS = "(any)"
COLUMNS = ["model", "family", "parameters", "FID", "KID", "class entropy", "class accuracy", "ms / image (here)",
           "train time", "hardware"]
_SNAPSHOT = re.compile(r"^step-(\d+)\.png$")


def generative_names(store: ModelStore) -> list[str]:
    """Checkpoints that draw samples: GANs, VAEs with a prior, diffusion models."""
    out = []
    for name in store.names():
        config = read_json(store.root / name / CONFIG)
        family, values = config.get("family"), config.get("config", {})
        if family in GENERATIVE and not (family == "vae" and not values.get("variational", True)):
            out.append(name)
    return out


def _number(label: str, v, lo: float, hi: float) -> float:
    if v is None or not np.isfinite(v) or not lo <= v <= hi:
        raise UserError(f"{label} must be a number in [{lo}, {hi}]")
    return float(v)


def _draw(store: ModelStore, name: str, seed: int, n: int, label: int | None, steps: int, guidance: float):
    """n samples of one model from `seed` -> (uint8 (n, C, H, W), seconds, whether the class was used)."""
    if name not in generative_names(store):
        raise UserError(f"{str(name)[:80]!r} is not a generative checkpoint here")
    model = store.get(name)
    fam = get_family(model.family)
    kwargs = {}
    conditional = bool(getattr(model.cfg, "n_classes", 0))
    if conditional and label is not None:
        kwargs["label"] = label
    if model.family == "ddpm":
        kwargs.update(steps=steps, guidance=guidance)
    t0 = time.perf_counter()
    images = fam.sample(model.cfg, model.modules, n, torch.Generator().manual_seed(seed), **kwargs)["images"]
    return images, time.perf_counter() - t0, conditional and label is not None


def _metric(metrics: dict, *keys):
    for k in keys:
        if k in metrics:
            return metrics[k]
    return None


def metrics_row(store: ModelStore, name: str, seconds_per_image: float | None) -> list:
    """The card's numbers (as `python -m trainers evaluate` wrote them) and the time measured here."""
    path = store.root / name
    config, card = read_json(path / CONFIG), read_card(path)
    m = card.get("metrics", {})
    minutes = card.get("wall_time_s")
    return [name, config.get("family"), n_parameters(path / WEIGHTS), _metric(m, "fid", "prior_fid"),
            _metric(m, "kid", "prior_kid"), _metric(m, "class_entropy", "prior_class_entropy"),
            _metric(m, "class_accuracy"), None if seconds_per_image is None else round(seconds_per_image * 1e3, 2),
            None if minutes is None else f"{minutes / 60:.1f} min", card.get("hardware", "")]


@user_errors
def compare(store: ModelStore, names, seed, n, class_name, steps, guidance):
    """Two to four models from one seed -> (gallery [(grid, caption)], slider pair or None, metrics rows)."""
    names = [names] if isinstance(names, str) else list(names or [])
    if not 2 <= len(names) <= MAX_MODELS:
        raise UserError(f"choose 2 to {MAX_MODELS} models")
    seed = int(_number("seed", seed, 0, 2**63 - 1))
    n = int(_number("samples", n, 1, MAX_SAMPLES))
    steps = int(_number("diffusion steps", steps, 1, 1000))
    guidance = _number("guidance scale", guidance, 0, 20)
    label = None
    if class_name not in (None, "", ANY_CLASS):
        if class_name not in FASHION_MNIST_CLASSES:
            raise UserError(f"unknown class {str(class_name)[:40]!r}")
        label = FASHION_MNIST_CLASSES.index(class_name)
    gallery, grids, rows = [], [], []
    for name in names:
        images, seconds, used_class = _draw(store, name, seed, n, label, steps, guidance)
        g = upscale(grid(images, nrow=min(4, n)), 3)
        note = f" · {class_name}" if used_class else (" · unconditional" if label is not None else "")
        gallery.append((g, f"{name}{note} · {seconds / n * 1e3:.1f} ms/image"))
        grids.append(g)
        rows.append(metrics_row(store, name, seconds / n))
    pair = (grids[0], grids[1]) if len(grids) == 2 and grids[0].shape == grids[1].shape else None
    return gallery, pair, rows


def snapshots(store: ModelStore, name: str) -> list[tuple[int, str]]:
    """(step, path) of a run's fixed-noise snapshots, in training order."""
    folder = store.path(name) / "snapshots"
    found = [(int(m.group(1)), str(p)) for p in folder.glob("step-*.png") if (m := _SNAPSHOT.match(p.name))]
    return sorted(found)


def _csv(path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@user_errors
def timeline(store: ModelStore, name: str, index):
    """Snapshot `index` of a run -> (image, caption, losses up to its step, metrics up to its step)."""
    import pandas as pd
    from PIL import Image

    shots = snapshots(store, name)
    if not shots:
        raise UserError(f"{name} kept no snapshots")
    index = int(_number("snapshot", index, 0, len(shots) - 1))
    step, path = shots[index]
    with Image.open(path) as im:
        image = np.asarray(im.convert("RGB"))
    root = store.path(name)
    losses = [(int(r["step"]), float(v), k) for r in _csv(root / "log.csv") if int(r["step"]) <= step
              for k, v in r.items() if k not in ("step", "epoch", "time_s") and v not in ("", None)]
    metrics = [(int(r["step"]), float(v), k) for r in _csv(root / "metrics.csv") if int(r["step"]) <= step
               for k, v in r.items() if k != "step" and v not in ("", None)]
    return (upscale(image, 2), f"{name}: step {step} ({index + 1} of {len(shots)})",
            pd.DataFrame(losses, columns=["step", "value", "series"]),
            pd.DataFrame(metrics, columns=["step", "value", "series"]))


def build(store: ModelStore) -> list:
    import gradio as gr

    names = generative_names(store)
    with_snapshots = [n for n in store.names() if snapshots(store, n)]
    default = [n for n in ("dcgan-ns-20min-fashion", "dcgan-wgangp-20min-fashion") if n in names] or names[:2]
    gr.Markdown("### Compare models side by side\nThe same seed (and class) goes to every model. FID/KID, class "
                "entropy and accuracy come from each card (`python -m trainers evaluate`: the shipped classifier's "
                "features, 10k samples unless the card says otherwise); the sampling time is measured here, now.")
    with gr.Row():
        chosen = gr.Dropdown(names, value=default, multiselect=True, max_choices=MAX_MODELS, label="models (2 to 4)")
        seed = gr.Number(0, label="seed", precision=0, minimum=0)
        n = gr.Slider(1, MAX_SAMPLES, 16, step=1, label="samples per model")
        cls = gr.Dropdown([ANY_CLASS, *FASHION_MNIST_CLASSES], value=ANY_CLASS, label="class (conditional models)")
        steps = gr.Slider(5, 200, 50, step=5, label="diffusion steps (DDIM)")
        guidance = gr.Slider(0, 10, 3, step=0.5, label="guidance (diffusion)")
    go = gr.Button("Compare", variant="primary")
    gallery = gr.Gallery(label="samples", columns=4, height="auto", object_fit="contain")
    slider = gr.ImageSlider(label="two models: drag to compare", type="numpy")
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True)
    go.click(lambda *a: compare(store, *a), [chosen, seed, n, cls, steps, guidance], [gallery, slider, table],
             api_name="compare")

    gr.Markdown("### Training timeline\nReplay a run's fixed-noise snapshots beside its losses and its "
                "mode-collapse signal (class entropy, small-sample FID).")
    with gr.Row():
        run = gr.Dropdown(with_snapshots, value=with_snapshots[0] if with_snapshots else None, label="run")
        index = gr.Slider(0, 100, 0, step=1, label="snapshot")
    caption = gr.Markdown()
    with gr.Row():
        shot = gr.Image(label="samples from fixed noise", interactive=False, format="png")
        with gr.Column():
            loss_plot = gr.LinePlot(x="step", y="value", color="series", title="losses", height=220)
            metric_plot = gr.LinePlot(x="step", y="value", color="series", title="monitored metrics", height=220)
    outputs = [shot, caption, loss_plot, metric_plot]

    def pick(name):
        count = len(snapshots(store, name)) if name else 0
        return (gr.Slider(0, max(count - 1, 1), count - 1, step=1, label=f"snapshot (of {count})"),
                *timeline(store, name, count - 1))

    run.change(pick, run, [index, *outputs], api_name=False)
    index.release(lambda name, i: timeline(store, name, i), [run, index], outputs, api_name="timeline")
    return [(chosen, lambda: generative_names(store)),
            (run, lambda: [n for n in store.names() if snapshots(store, n)])]
