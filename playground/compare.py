"""Tab "Compare": shipped models of any family side by side from the same seed (and class), with a
metrics table from their cards plus the sampling time measured here, and a training timeline that
replays a run's fixed-noise snapshots beside its loss and metric curves. Handlers are pure functions."""

from __future__ import annotations

import time
import weakref

import numpy as np
import torch

from trainers.core.checkpoint import read_card, read_meta
from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.errors import CheckpointError, UserError
from trainers.core.images import grid, upscale
from trainers.families import get_family

from .errors import number, user_errors
from .views import font_at, training_cost
from .wiring import TabParts, wire
from .models import ModelStore, n_parameters
from . import records
from .records import card_metric, card_value, snapshots

GENERATIVE = ("gan", "vae", "ddpm", "latent_diffusion")
MAX_MODELS, MAX_SAMPLES = 4, 16
ANY_CLASS = "(any)"
COLUMNS = ["model", "family", "parameters", "FID", "KID", "class entropy (bits)", "class accuracy", "ms / image (here)",
           "train time", "hardware"]


def generative_names(store: ModelStore) -> list[str]:
    """Checkpoints that draw samples: GANs, VAEs with a prior, diffusion models."""
    out = []
    for name in store.names():
        try:
            config = read_meta(store.root / name)
        except CheckpointError:  # a broken folder is listed nowhere, as ModelStore.names(family) does
            continue
        family, values = config.get("family"), config.get("config", {})
        if family in GENERATIVE and not (family == "vae" and not values.get("variational", True)):
            out.append(name)
    return out


def _prompt_drawn(store: ModelStore, settings: dict) -> str:
    """The prompt a text-to-image model draws for a grid cell's settings: "a <class>", the class `cell_class`'s."""
    return _condition("latent_diffusion", cell_class(settings))["prompt"]


def _condition(family: str, label: int) -> dict:
    """A class as each family takes it: a label, or for text-to-image models the prompt "a <class>"."""
    if family == "latent_diffusion":
        from trainers.core.captions import CLASS_WORDS

        return {"prompt": f"a {CLASS_WORDS[label]}"}
    return {"label": label}


_WARM: weakref.WeakSet = weakref.WeakSet()  # the networks of the loaded models that have sampled once


def unused_settings(store: ModelStore, name: str) -> tuple[str, ...]:
    """The Compare settings a model ignores (left out of its downloads' names): the diffusion steps and guidance
    for a model that does not diffuse, the class for an unconditional one."""
    try:
        model = store.get(name)
    except (UserError, CheckpointError):
        return ()
    unused = () if model.family in ("ddpm", "latent_diffusion") else ("steps", "guidance")
    conditional = bool(getattr(model.cfg, "n_classes", 0)) or model.family == "latent_diffusion"
    return unused + (() if conditional else ("class",))


def _ignores(store: ModelStore, name: str, setting: str) -> bool:
    """Whether a model's samples do not depend on an X/Y grid setting: those of `unused_settings`, truncation for
    a diffusion model and the sampler for one that does not diffuse."""
    diffuses = store.get(name).family in ("ddpm", "latent_diffusion")
    return setting in unused_settings(store, name) or setting == ("truncation" if diffuses else "sampler")


def _draw(store: ModelStore, name: str, seed: int, n: int, label: int | None, steps: int, guidance: float):
    """n samples of one model from `seed` -> (uint8 (n, C, H, W), seconds, whether the class was used)."""
    model = store.get(name)
    fam = get_family(model.family)
    kwargs = {}
    conditional = bool(getattr(model.cfg, "n_classes", 0)) or model.family == "latent_diffusion"
    if conditional and label is not None:
        kwargs.update(_condition(model.family, label))
    if model.family in ("ddpm", "latent_diffusion"):
        kwargs.update(steps=steps, guidance=guidance)
    net = next(iter(model.modules.values()))
    if net not in _WARM:  # a model's first call pays for its kernels' setup: 7.3 ms/image, then 0.5
        fam.sample(model.cfg, model.modules, n, torch.Generator().manual_seed(seed),
                   **{**kwargs, **({"steps": 1} if "steps" in kwargs else {})})
        _WARM.add(net)
    t0 = time.perf_counter()
    images = fam.sample(model.cfg, model.modules, n, torch.Generator().manual_seed(seed), **kwargs)["images"]
    seconds = time.perf_counter() - t0
    # a GAN's few ms vary by 3x from call to call, and a call on a thread new to torch pays for its thread pool
    # (the first model in the app showed 3.7 ms/image, the second 0.2): the best of up to 5 in a quarter second,
    # as timeit takes the best of its repeats
    spent = seconds
    for _ in range(4):
        if spent + seconds > 0.25:
            break
        t0 = time.perf_counter()
        fam.sample(model.cfg, model.modules, n, torch.Generator().manual_seed(seed), **kwargs)
        dt = time.perf_counter() - t0
        spent, seconds = spent + dt, min(seconds, dt)
    return images, seconds, conditional and label is not None


def _bits(nats: float | None) -> float | None:
    """A card's class entropy (nats, as torch's log gives it) in bits, the unit both tables here show: the loss
    table said 3.28 bits and this one 2.27 (nats) for the same model. From the card's own value: rounded to 2.27 nats
    first, 2.2718 read 3.27 bits here and 3.28 in the loss table and on About."""
    return None if nats is None else float(f"{nats / np.log(2):.3g}")


def metrics_row(store: ModelStore, name: str, seconds_per_image: float | None) -> list:
    """The card's numbers (as `python -m trainers evaluate` wrote them) and the time measured here."""
    path = store.root / name
    config, card = read_meta(path), read_card(path)
    m = card.get("metrics", {})
    seconds, machines = training_cost(card)
    row = [name, config.get("family"), n_parameters(path), card_metric(m, "fid", "prior_fid", "grey_fid_vs_fashion_mnist"),
           card_metric(m, "kid", "prior_kid"), _bits(card_value(m, "class_entropy", "prior_class_entropy")),
           card_metric(m, "class_accuracy"), None if seconds_per_image is None else round(seconds_per_image * 1e3, 2),
           None if seconds is None else f"{seconds / 60:.1f} min", machines]
    return ["—" if v is None else v for v in row]  # a metric the model has not (an empty cell read as missing data)


@user_errors
def compare(store: ModelStore, names, seed, n, class_name, steps, guidance):
    """Two to four models from one seed -> (gallery [(grid, caption)], slider pair or None, metrics table)."""
    *_, last = compared(store, names, seed, n, class_name, steps, guidance)
    return last


@user_errors
def compare_live(store: ModelStore, *settings):
    """`compared` for the page: each model's samples and its column as soon as they are drawn (ddpm-fashion at 200
    steps, w = 10 and 16 samples took 42 s with only a timer on screen), the slider once two are in."""
    import gradio as gr

    names = settings[0] if isinstance(settings[0], (list, tuple)) else [settings[0]]
    # frames before the last only while a diffusion model is to come: a GAN or VAE draws in milliseconds, and each
    # frame streamed costs the page a round of encoding and rendering
    slow = {i for i, name in enumerate(names) if name in generative_names(store)
            and store.get(name).family in ("ddpm", "latent_diffusion")}
    for k, (gallery, pair, table) in enumerate(compared(store, *settings)):
        if k == len(names) - 1 or any(i > k for i in slow):
            yield gallery, gr.skip() if len(gallery) < 2 else pair, table


def compared(store: ModelStore, names, seed, n, class_name, steps, guidance):
    """`compare`'s (gallery, slider pair or None, table) after each model drawn, the settings checked first."""
    names = [names] if isinstance(names, str) else list(names or [])
    if not 2 <= len(names) <= MAX_MODELS:
        raise UserError(f"choose 2 to {MAX_MODELS} models")
    known = generative_names(store)
    for name in names:  # every model checked before the first is drawn: the page shows each as it comes
        if name not in known:
            raise UserError(f"{str(name)[:80]!r} is not a generative checkpoint here")
    seed = number("seed", seed, 0, 2**63 - 1, integer=True)
    n = number("samples", n, 1, MAX_SAMPLES, integer=True)
    steps = number("diffusion steps", steps, 1, 1000, integer=True)
    guidance = number("guidance scale", guidance, 0, 20)
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
        # the slider compares two: the first two models chosen (it sat blank with 3 or 4)
        pair = (grids[0], grids[1]) if len(grids) >= 2 and grids[0].shape == grids[1].shape else None
        yield list(gallery), pair, side_by_side(rows)


def side_by_side(rows: list[list]):
    """Metrics rows (one a model, as COLUMNS) -> a table with a column a model and a row a metric, as the samples
    above sit side by side: ten metrics across were wider than the page at 800 px, and its last ones (train time,
    hardware) sat behind a sideways scroll."""
    import pandas as pd

    names = [str(r[0]) for r in rows]
    headers = [n if names.index(n) == i else f"{n} ({i + 1})" for i, n in enumerate(names)]  # a model twice
    return pd.DataFrame([[str(v) for v in values] for values in zip(*rows)][1:], columns=headers,
                        index=COLUMNS[1:]).reset_index(names="")


XY_PARAMS = ("checkpoint", "seed", "steps", "guidance", "truncation", "sampler", "class")
# what an axis offers when it is chosen (guidance matters only with a class: pick one, or make class the other axis)
XY_EXAMPLES = {"seed": "0, 1, 2, 3", "steps": "10, 50, 200", "guidance": "0, 1, 3, 6", "truncation": "0.5, 0.7, 1.0",
               "sampler": "ddim, ddpm", "class": "T-shirt/top, Trouser, Sneaker, Bag"}
MAX_AXIS, MAX_DIFFUSION_CALLS, CELL = 8, 4000, 132  # a 32-px sample at 4x (128 px) in each cell
XY_MARGINS = 110, 38  # the row headers' least width (wider for long ones); the column headers' height (two lines)


def _axis(store: ModelStore, param: str, text: str) -> list:
    """'a, b, c' -> the values of one axis, each checked like the control it stands for."""
    from trainers.ddpm.samplers import SAMPLERS

    if param not in XY_PARAMS:
        raise UserError(f"axis must be one of {', '.join(XY_PARAMS)}")
    items = [v.strip() for v in str(text or "").split(",") if v.strip()]
    if not 1 <= len(items) <= MAX_AXIS:
        raise UserError(f"give 1 to {MAX_AXIS} comma-separated values for {param}")
    if param == "checkpoint":
        bad = [v for v in items if v not in generative_names(store)]
        if bad:
            raise UserError(f"not a generative checkpoint: {bad[0][:60]!r}")
        return items
    if param == "sampler":
        if any(v not in SAMPLERS for v in items):
            raise UserError(f"sampler must be one of {', '.join(SAMPLERS)}")
        return items
    if param == "class":
        if any(v not in (ANY_CLASS, *FASHION_MNIST_CLASSES) for v in items):
            raise UserError(f"class must be {ANY_CLASS} or one of {', '.join(FASHION_MNIST_CLASSES)}")
        return items
    lo, hi, whole = {"seed": (0, 2**63 - 1, True), "steps": (1, 1000, True), "guidance": (0, 20, False),
                     "truncation": (0.05, 1.0, False)}[param]
    return [number(param, v, lo, hi, integer=whole) for v in items]  # the text as typed in its message


def _short(value, width: int) -> str:
    """An axis value as a header of two lines at most, broken after a hyphen where it can be: checkpoints
    without the common "-fashion", the rest cut with an ellipsis ("dcgan-wgangp-2…" hid which run it was)."""
    import textwrap

    lines = textwrap.wrap(str(value).removesuffix("-fashion"), width) or [""]
    text = "\n".join(lines[:2])
    return text if len(lines) <= 2 else text[:-1] + "…"


def cell_class(settings: dict) -> int:
    """The class a conditional model draws an X/Y cell in: the chosen one, or with "(any)" one drawn from the cell's
    seed. A cell is one sample, and a conditional model given no class cycles through the classes from 0: every
    "(any)" cell was class 0, and a walk took ddpm-fashion and cdcgan-ac-fashion for models of tops only."""
    if settings["class"] != ANY_CLASS:
        return FASHION_MNIST_CLASSES.index(settings["class"])
    gen = torch.Generator().manual_seed(int(settings["seed"]))
    return int(torch.randint(len(FASHION_MNIST_CLASSES), (1,), generator=gen))


def _cell(store: ModelStore, settings: dict) -> torch.Tensor:
    """One sample under `settings` -> uint8 (3, H, W); settings a model does not have are ignored."""
    model = store.get(settings["checkpoint"])
    cfg, fam = model.cfg, get_family(model.family)
    kwargs = {}
    if getattr(cfg, "n_classes", 0) or model.family == "latent_diffusion":
        kwargs.update(_condition(model.family, cell_class(settings)))
    if model.family == "gan":
        kwargs["truncation"] = settings["truncation"]
    if model.family == "ddpm":
        kwargs.update(sampler=settings["sampler"], steps=settings["steps"], guidance=settings["guidance"])
    if model.family == "latent_diffusion":
        kwargs.update(scheduler=settings["sampler"], steps=settings["steps"], guidance=settings["guidance"])
    image = fam.sample(cfg, model.modules, 1, torch.Generator().manual_seed(settings["seed"]), **kwargs)["images"]
    return image.expand(-1, 3, -1, -1)[0] if image.shape[1] == 1 else image[0]


@torch.no_grad()
def _cells(store: ModelStore, cells: list[dict]) -> list[torch.Tensor]:
    """Every cell's sample, as `_cell` draws it alone. A pixel DDPM's DDIM cells that share steps and guidance
    run as one batch, each from its own seed's x_T and with its own class: DDIM (η = 0) draws no noise after
    x_T, so batching changes nothing but the time (16 cells of 50 steps: one chain, not sixteen)."""
    from trainers.core.data import class_labels
    from trainers.core.images import to_uint8
    from trainers.ddpm.train import initial_noise, reverse

    out: list = [None] * len(cells)
    batches: dict = {}
    for k, settings in enumerate(cells):
        if store.get(settings["checkpoint"]).family == "ddpm" and settings["sampler"] == "ddim":
            batches.setdefault((settings["checkpoint"], settings["steps"], settings["guidance"]), []).append(k)
        else:
            out[k] = _cell(store, settings)
    for (name, steps, guidance), ks in batches.items():
        model = store.get(name)
        cfg = model.cfg
        x = torch.cat([initial_noise(cfg, 1, torch.Generator().manual_seed(cells[k]["seed"])) for k in ks])
        y = None
        if cfg.n_classes:
            y = torch.cat([class_labels(cfg.n_classes, 1, cell_class(cells[k])) for k in ks])
        for _, _, x, _ in reverse(cfg, model.modules, x, torch.Generator(), y, "ddim", steps, 0.0, guidance):
            pass
        for k, image in zip(ks, to_uint8(x)):
            out[k] = image.expand(3, -1, -1) if image.shape[0] == 1 else image
    return out


@user_errors
def xy_grid(store: ModelStore, checkpoint, x_param, x_text, y_param, y_text, seed, steps, guidance, truncation,
            sampler, class_name):
    """Rows over one parameter, columns over another, one sample per cell -> (image, PNG path).
    The PNG carries every setting in its metadata (text chunk "playground")."""
    import json

    from PIL import Image, ImageDraw

    from trainers.core.images import png_bytes

    from .exports import META_KEY, export_file, skip_setting

    xs, ys = _axis(store, x_param, x_text), _axis(store, y_param, y_text)
    if x_param == y_param:
        raise UserError("choose two different parameters for X and Y")
    if "checkpoint" in (x_param, y_param):
        skip_setting("checkpoint")  # the base checkpoint box: not in this grid
    base = {"checkpoint": checkpoint, "seed": seed, "steps": steps, "guidance": guidance, "truncation": truncation,
            "sampler": sampler, "class": class_name or ANY_CLASS}
    for param in ("seed", "steps", "guidance", "truncation", "sampler", "class"):
        if param not in (x_param, y_param):  # the fixed settings pass the same checks as an axis
            base[param] = _axis(store, param, str(base[param]))[0]
    if "checkpoint" not in (x_param, y_param):
        base["checkpoint"] = _axis(store, "checkpoint", checkpoint)[0]
    cells = [[{**base, x_param: x, y_param: y} for x in xs] for y in ys]
    # the download's name: without the fixed settings an axis replaces or no model of the grid uses (a GAN grid's
    # file was "…_seed_0+1+2+3_seed-0_steps-50_guidance-1_ddim_any.png")
    for param in ("seed", "steps", "guidance", "truncation", "sampler", "class"):
        if param in (x_param, y_param) or all(_ignores(store, c["checkpoint"], param) for row in cells for c in row):
            skip_setting(param)
    calls = sum(c["steps"] * 2 for row in cells for c in row if store.get(c["checkpoint"]).family == "ddpm")
    if calls > MAX_DIFFUSION_CALLS:
        raise UserError(f"this grid needs about {calls} diffusion network calls (limit {MAX_DIFFUSION_CALLS}): "
                        "fewer cells or fewer steps")
    font = font_at(14)  # Pillow's bitmap font was ~8 px
    # the axes' names, once, in the corner (one line "seed \\ checkpoint" was cut and ran into the first header)
    # an axis no model of the grid uses (steps for a GAN) says so: its identical rows read as a broken grid
    idle = {p for p in (x_param, y_param) if p != "checkpoint" and all(
        _ignores(store, c["checkpoint"], p) for row in cells for c in row)}
    corner = "\n".join(f"{axis}: {p}" + (" (unused here)" if p in idle else "")
                        for axis, p in (("rows", y_param), ("columns", x_param)))
    heads = [_short(y, 17) for y in ys]
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widest = max(probe.multiline_textbbox((0, 0), t, font=font)[2] for t in [corner, *heads])
    margin_x, margin_y = max(XY_MARGINS[0], widest + 12), XY_MARGINS[1]
    # a cell whose model ignores an axis the others use (steps for the GAN of a GAN-and-DDPM grid) says so under
    # it: its copies along that axis read as a broken grid
    # and a text-to-image cell names the prompt it drew (Compare has no prompt box: "a <class>", else the
    # captions' first prompt)
    # and a conditional model's "(any)" cell names the class its seed drew (a row of one garment read as chosen)
    notes = [[([f"“{_prompt_drawn(store, c)}”"] if store.get(c["checkpoint"]).family == "latent_diffusion" else
               [f"class {FASHION_MNIST_CLASSES[cell_class(c)]}"]
               if getattr(store.get(c["checkpoint"]).cfg, "n_classes", 0) and c["class"] == ANY_CLASS else [])
              + [f"{p} unused" for p in (x_param, y_param) if p != "checkpoint" and p not in idle
                 and _ignores(store, c["checkpoint"], p)] for c in row] for row in cells]
    pitch = CELL + (14 if any(any(row) for row in notes) else 0)  # a row's height, with a line for such notes
    canvas = Image.new("RGB", (margin_x + CELL * len(xs), margin_y + pitch * len(ys)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.multiline_text((4, 2), corner, fill=(90, 90, 90), font=font, spacing=2)
    for i, x in enumerate(xs):  # each column and row headed by its value alone, short enough to stay distinct
        draw.multiline_text((margin_x + i * CELL + 4, 2), _short(x, 15), fill=(0, 0, 0), font=font, spacing=2)
    samples = iter(_cells(store, [settings for row in cells for settings in row]))
    for j, head in enumerate(heads):
        draw.multiline_text((4, margin_y + j * pitch + CELL // 2 - 12), head, fill=(0, 0, 0), font=font, spacing=2)
        for i in range(len(xs)):
            tile = Image.fromarray(next(samples).permute(1, 2, 0).numpy()).resize((CELL - 4, CELL - 4),
                                                                                 Image.Resampling.NEAREST)
            canvas.paste(tile, (margin_x + i * CELL + 2, margin_y + j * pitch + 2))
            if notes[j][i]:
                note = ", ".join(notes[j][i])
                fitted = next((f for f in map(font_at, range(11, 7, -1)) if draw.textlength(note, font=f)
                               <= CELL - 6), font_at(8))
                draw.text((margin_x + i * CELL + 4, margin_y + j * pitch + CELL - 1), note, fill=(90, 90, 90),
                          font=fitted)
    image = np.asarray(canvas)
    inputs = {"checkpoint": checkpoint, "X": x_param, "X values": x_text, "Y": y_param, "Y values": y_text,
              **{k: v for k, v in base.items() if k != "checkpoint"}}
    meta = {META_KEY: json.dumps({"api": "xy_grid", "inputs": inputs})}
    return image, export_file(png_bytes(image, meta), "xy-grid", ".png")


def axis_controls(params: list[str], x: str, y: str) -> tuple[dict, ...]:
    """Updates for the X/Y grid's own controls (of `params`): one an axis sets is greyed and says so; the
    checkpoint box also hides its name (`set-by-axis`), kept for when the axis changes: greyed, it still read as
    the grid's model."""
    import gradio as gr

    label = {"checkpoint": "checkpoint", "truncation": "truncation ψ (GANs)", "sampler": "sampler (diffusion)"}
    updates = []
    for param in params:
        axis = "X" if x == param else "Y" if y == param else None
        text = label[param] if axis is None else f"{label[param]}: set by the {axis} axis"
        if param == "checkpoint" and axis is None:
            text += " (when not an axis)"
        hidden = ["set-by-axis"] if param == "checkpoint" and axis is not None else []
        updates.append(gr.update(interactive=axis is None, label=text, elem_classes=hidden))
    return tuple(updates)


def build(store: ModelStore) -> TabParts:
    import gradio as gr

    names = generative_names(store)
    # the generative runs: a classifier's snapshots are its data, not samples from fixed noise
    with_snapshots = [n for n in generative_names(store) if snapshots(store, n)]
    default = [n for n in ("dcgan-ns-20min-fashion", "dcgan-wgangp-20min-fashion") if n in names] or names[:2]
    gr.Markdown("### Compare models side by side\nThe same seed (and class) goes to every model. FID/KID, class "
                "entropy (in bits: 3.32 when the 10 classes are equally likely) and accuracy come from each card (`python -m trainers evaluate`: the shipped classifier's "
                "features, 10k samples unless the card says otherwise); the sampling time is measured here, now. Class "
                "accuracy exists only for models that take a class; KID is an unbiased estimate, so near 0 it can dip "
                "just below. **Try first:** add a third model and press *Compare*; then replay a run in the training "
                "timeline below.")
    with gr.Row():  # the models get room for their names (at 800 px they wrapped over 3 lines), the row wraps
        # the limit said: a fifth model was refused without a word (a walk)
        chosen = gr.Dropdown(names, value=default, multiselect=True, max_choices=MAX_MODELS, label="models (2 to 4)",
                             info=f"at most {MAX_MODELS}: remove one to add another", scale=3, min_width=420)
        seed = gr.Number(0, label="seed", precision=0, minimum=0)
        n = gr.Slider(1, MAX_SAMPLES, 16, step=1, label="samples per model", min_width=200)  # its name on one line
        cls = gr.Dropdown([ANY_CLASS, *FASHION_MNIST_CLASSES], value=ANY_CLASS, label="class (conditional models)")
        steps = gr.Slider(5, 200, 50, step=5, label="diffusion steps (DDIM)")
        guidance = gr.Slider(0, 10, 1, step=0.5, label="guidance (diffusion)")
    go = gr.Button("Compare", variant="primary")
    # two models a row: four in one row drew each of a model's 16 samples at ~66 px
    gallery = gr.Gallery(label="samples", elem_id="compare-gallery", elem_classes="full-gallery", columns=2,
                         height="auto", object_fit="contain",
                         format="png")
    slider = gr.ImageSlider(label="the first two models: drag to compare", type="numpy", format="png")
    # no wrapping: Gradio's table breaks words anywhere ("c l a s s", "9.6 233") in columns too narrow for them;
    # the numbers are short (3 significant digits), and below ~1000 px the table scrolls sideways
    # a column a model (names break at their hyphens): two models fit the page at 800 px (the browser test
    # checks it); across, its last columns sat behind a sideways scroll
    table = gr.Dataframe(headers=["", "model 1", "model 2"], interactive=False, wrap=True, elem_id="compare-table")
    parts = TabParts()
    wire(go.click, "compare", {"models": chosen, "seed": seed, "samples": n, "class": cls, "steps": steps,
                               "guidance": guidance}, lambda *a: (yield from compare_live(store, *a)),
         [gallery, slider, table], parts,
         opening=len(default) >= 2, unused=lambda model: unused_settings(store, model))

    gr.Markdown("### X/Y grid\nRows and columns over any two parameters, one sample per cell; settings a model "
                "does not have (truncation for a diffusion model, steps for a GAN) are ignored for it; guidance changes "
                "nothing without a class (choose one, or make class the other axis). A model with a guidance interval "
                "guides only its last steps (ddpm-fashion: t < 0.3 T, see Diffusion), when the garment's shape is "
                "already set: expect its guidance cells to differ in detail, not in kind.")
    with gr.Row():
        x_param = gr.Dropdown(list(XY_PARAMS), value="checkpoint", label="X")
        x_values = gr.Textbox(", ".join(default), label="X values (comma-separated)")
        y_param = gr.Dropdown(list(XY_PARAMS), value="seed", label="Y")
        y_values = gr.Textbox("0, 1, 2, 3", label="Y values")
    defaults = {**XY_EXAMPLES, "checkpoint": ", ".join(default)}
    # a new axis gets values of its own kind (the checkpoint names stayed when X became "steps")
    with gr.Row():
        # the first of the models compared above, and it follows them (it opened on the list's first, a model
        # none had picked: a walk)
        base_ckpt = gr.Dropdown(names, value=(default or names or [None])[0], label="checkpoint (when not an axis)")
        trunc = gr.Slider(0.05, 1.0, 1.0, step=0.05, label="truncation ψ (GANs)")
        sampler = gr.Radio(["ddim", "ddpm"], value="ddim", label="sampler (diffusion)")
    # the grid's own controls greyed while an axis sets them (a walk dragged ψ with truncation on an axis, and
    # nothing changed); the shared ones above also serve Compare, so they stay
    own = {"checkpoint": base_ckpt, "truncation": trunc, "sampler": sampler}
    for control, update in zip(own.values(), axis_controls(list(own), x_param.value, y_param.value)):  # as it opens
        control.interactive, control.label, control.elem_classes = (update["interactive"], update["label"],
                                                                     update["elem_classes"])
    # one event per axis's change (see wiring.one_event_per_change), then the controls it sets greyed
    for param, values in ((x_param, x_values), (y_param, y_values)):
        param.change(lambda p: defaults.get(p, ""), param, values, api_name=False, show_progress="hidden").then(
            lambda x, y: axis_controls(list(own), x, y), [x_param, y_param], list(own.values()), api_name=False,
            show_progress="hidden")
    chosen.change(lambda picked, current: picked[0] if picked and current not in picked else gr.skip(),
                  [chosen, base_ckpt], base_ckpt, api_name=False, show_progress="hidden", queue=False)
    xy_go = gr.Button("Make the grid", variant="primary")
    xy_image = gr.Image(label="X/Y grid", interactive=False, format="png",  # 128-px cells, never shrunk:
                        elem_classes="sheet")  # a wide grid scrolls sideways in a narrow column
    xy_file = gr.File(label="PNG (settings in its metadata)")
    wire(xy_go.click, "xy_grid", {"checkpoint": base_ckpt, "X": x_param, "X values": x_values, "Y": y_param,
                                  "Y values": y_values, "seed": seed, "steps": steps, "guidance": guidance,
                                  "truncation": trunc, "sampler": sampler, "class": cls},
         lambda *a: xy_grid(store, *a), [xy_image, xy_file], parts, opening=bool(default))

    run = records.build_section(store, with_snapshots)
    parts.refresh = [(chosen, lambda: generative_names(store)), (base_ckpt, lambda: generative_names(store)),
                     (run, lambda: [n for n in generative_names(store) if snapshots(store, n)])]
    return parts
