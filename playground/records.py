"""The Compare tab's records of training: the timeline (a run's fixed-noise snapshots replayed beside its loss
and monitored-metric curves) and the loss table (the same DCGAN under each GAN loss, FID against steps and
minutes). Laid out by `compare.build`, below the side-by-side and the X/Y grid; the functions take the model store
and the controls' values, and tests call them without a browser."""

from __future__ import annotations

import csv
import re

import numpy as np

from trainers.core.checkpoint import read_card, read_meta
from trainers.core.errors import CheckpointError, UserError
from trainers.core.images import upscale

from .errors import number, user_errors
from .models import ModelStore
from .views import series_table, short_hardware

_SNAPSHOT = re.compile(r"^step-(\d+)\.png$")


def card_value(metrics: dict, *keys):
    """The first of `keys` on the card, as written (None if none is)."""
    return next((metrics[k] for k in keys if k in metrics), None)


def card_metric(metrics: dict, *keys):
    """The first of `keys` on the card, to 3 significant digits (the table's width; the card has them all)."""
    v = card_value(metrics, *keys)
    return float(f"{v:.3g}") if isinstance(v, float) else v


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
    """Snapshot `index` of a run -> (image, caption, then up to its step: the losses, the monitored metrics other
    than FID (class entropy), and the monitored FID)."""
    from PIL import Image

    shots = snapshots(store, name)
    if not shots:
        raise UserError(f"{name} kept no snapshots")
    index = number("snapshot", index, 0, len(shots) - 1, integer=True)
    step, path = shots[index]
    with Image.open(path) as im:
        image = np.asarray(im.convert("RGB"))
    root = store.path(name)
    metrics = _csv(root / "metrics.csv")
    fids = tuple(k for k in _names(metrics, ("step",)) if k.startswith("fid"))
    # entropy (0 to 3.3 bits) and FID (tens) on one axis drew the entropy as a flat line along the floor: a plot
    # for each, as TensorBoard draws a chart per scalar
    tables = [series_table(rows, skip=skip, keep=_names(rows, skip), up_to=step)
              for rows, skip in ((_csv(root / "log.csv"), ("step", "epoch", "time_s")),
                                 (metrics, ("step", *fids)),
                                 (metrics, tuple(k for k in metrics[0] if k not in fids) if metrics else ("step",)))]
    # the entropy in bits, as the plot's title and Compare's table say (the monitor logs nats: 2.30 at most)
    entropy = tables[1]["series"] == "class_entropy"
    tables[1].loc[entropy, "value"] = tables[1].loc[entropy, "value"] / np.log(2)
    caption = f"{name}: step {step} (snapshot {index}; the slider counts them 0 to {len(shots) - 1})"
    card = read_card(root)
    if int(card.get("steps_total") or 0) > int(card.get("steps") or 0):  # ddpm-fashion: 7439 of 38734 shown
        caption += (f". This replays the run's last slice only: it went on from an earlier checkpoint "
                    f"(`--init_from`), after {int(card['steps_total']) - int(card['steps'])} steps of the "
                    f"{card['steps_total']} it trained in all, and its snapshots and curves count from there")
    # a series with one value draws no line (a line needs two points): its value is said here instead
    single = [f"{k} = {v:.4g} at step {s}" for table in tables for k, group in table.dropna().groupby("series")
              if len(group) == 1 for s, v in [(int(group["step"].iloc[0]), float(group["value"].iloc[0]))]]
    if single:
        caption += "; one value so far, not yet a line: " + ", ".join(single)
    if not metrics:  # its two metric plots are hidden: empty axes said nothing
        caption += "; this run logged no monitored metrics (class entropy, FID), so only its losses are drawn"
    later = [int(r["step"]) for r in metrics if r.get("step", "").isdigit()]
    if later and tables[1].dropna().empty and tables[2].dropna().empty:  # an empty plot with a lone step on its axis said nothing
        caption += f"; no monitored metric yet at this step (the first is at step {min(later)})"
    return upscale(image, 3), caption, *tables  # 8 across at 96 px (at 64 px a garment's detail was lost)


LOSS_COLUMNS = ["checkpoint", "loss", "G steps", "minutes", "FID (10k)", "entropy (bits)",
                "best FID_1000 (step)", "hardware"]


def loss_runs(store: ModelStore) -> list[str]:
    """The loss table's runs: the shipped unconditional DCGANs (one architecture, data and size; no mapping
    network), which differ in their loss and budget only, each with its monitored metrics.csv."""
    out = []
    for name in store.names("gan"):
        try:
            c = read_meta(store.root / name).get("config", {})
        except CheckpointError:
            continue
        if (c.get("arch") == "dcgan" and not c.get("n_classes") and not c.get("mapping_layers")
                and (store.root / name / "metrics.csv").is_file()):
            out.append(name)
    return out


def loss_table(store: ModelStore):
    """The loss table over training, from each run's own logs: (FID_1000 against generator steps, against
    wall-clock minutes (log.csv's time at each monitored step), and one row per run from its card)."""
    import pandas as pd

    by_step, by_time, rows = [], [], []
    names = loss_runs(store)
    losses = {name: read_meta(store.root / name)["config"].get("loss", "?") for name in names}
    cards = {name: read_card(store.root / name) for name in names}
    # one curve a loss in each plot (13 runs drew 13 curves whose legend ran off the plot): against generator
    # steps, the loss's run that went furthest (its equal-steps run where it has one); against minutes, its run
    # on the machine most runs share, since minutes compare only on one machine (CPU x86_64, 1x NVIDIA H200, ...)
    machines = {n: cards[n].get("hardware", "").split(",")[0] for n in names}
    machine = max(machines.values(), key=list(machines.values()).count) if names else ""
    furthest, timed = {}, {}
    for name in names:
        loss, steps = losses[name], int(cards[name].get("steps") or 0)
        if loss not in furthest or steps > int(cards[furthest[loss]].get("steps") or 0):
            furthest[loss] = name
        if machines[name] == machine and loss not in timed:
            timed[loss] = name
    for name in names:
        root, card, loss = store.root / name, cards[name], losses[name]
        times = [(int(float(r["step"])), float(r["time_s"])) for r in _csv(root / "log.csv") if r.get("time_s")]
        fids = [(int(float(r["step"])), float(r["fid_1000"])) for r in _csv(root / "metrics.csv") if r.get("fid_1000")]
        for step, fid in fids:
            if furthest[loss] == name:
                by_step.append((step, fid, loss))
            if times and timed.get(loss) == name:  # the logged time at the last logged step up to this one
                before = [t for s, t in times if s <= step] or [times[0][1]]
                by_time.append((before[-1] / 60, fid, loss))
        metrics = card.get("metrics", {})
        best = min(fids, key=lambda sf: sf[1]) if fids else None
        entropy = metrics.get("class_entropy")
        rows.append([name, loss, card.get("steps", ""), round(card["wall_time_s"] / 60, 1) if card.get("wall_time_s")
                     else "", card_metric(metrics, "fid") or "", round(entropy / np.log(2), 2) if entropy else "",
                     f"{best[1]:.1f} ({best[0]})" if best else "", short_hardware(card.get("hardware", ""))])
    steps = pd.DataFrame(by_step, columns=["generator step", "FID_1000", "loss"])
    minutes = pd.DataFrame(by_time, columns=["minutes", "FID_1000", "loss"])
    return (steps.astype({"generator step": "int64", "FID_1000": "float64", "loss": "string"}),
            minutes.astype({"minutes": "float64", "FID_1000": "float64", "loss": "string"}),
            pd.DataFrame(rows, columns=LOSS_COLUMNS))


def late_starts(by_time) -> str:
    """Why some curves of the minutes plot start late, with the minutes read from the plot's own table: a curve
    starts at its run's first FID, after as many generator steps for every loss, which the slower runs reach later."""
    if by_time.empty:
        return ""
    first = by_time.groupby("loss")["minutes"].min().sort_values()
    late = [f"{loss} after {m:.1f}" for loss, m in first.items() if m > 2 * first.iloc[0]]
    return (f" Against minutes, each curve starts at its run's first FID measurement, made after the same number of "
            f"generator steps for every loss: {first.index[0]} got there in {first.iloc[0]:.1f} minutes"
            + (f"; runs that made fewer steps a minute got there later ({', '.join(late)} minutes) and have fewer "
               "points (the table's G steps and minutes give each run's pace)" if late else "") + ".")


def _names(rows: list[dict], skip) -> list[str]:
    """Every series a run logged: each is in the table from its first snapshot on (empty until it has values),
    because a plot fixes its series from the first table it gets."""
    return [k for k in (rows[0] if rows else {}) if k not in skip]


def fid_top(store: ModelStore, name: str | None) -> float | None:
    """The FID plot's top for a run: its largest monitored FID over the whole run, plus 5%, so that the axis
    holds still while the slider scrubs and no curve runs off it (with the top left open, a walk saw the curve
    leave the plot near step 2k); None without a monitored FID."""
    rows = _csv(store.root / name / "metrics.csv") if name else []
    values = [float(v) for r in rows for k, v in r.items() if k.startswith("fid") and v not in ("", None)]
    values = [v for v in values if np.isfinite(v)]
    return 1.05 * max(values) if values else None


def _logged(store: ModelStore, name: str | None) -> bool:
    """Whether a run logged monitored metrics (metrics.csv with a row)."""
    return name is not None and bool(_csv(store.root / name / "metrics.csv"))


def _metric_title(store: ModelStore, name: str | None, what: str) -> str:
    return f"monitored {what}: {name}" if _logged(store, name) else f"{name} logged no monitored metrics"


def _snapshot_label(count: int) -> str:
    return f"snapshot (0 = first, {max(count - 1, 0)} = last)"


def build_section(store: ModelStore, with_snapshots: list[str]):
    """The timeline and the loss table, laid out where it is called; returns the run dropdown (its choices are
    refreshed with the tab's)."""
    import gradio as gr

    gr.Markdown("### Training timeline\nReplay a run's fixed-noise snapshots beside its losses and its "
                "mode-collapse signal (class entropy, small-sample FID). The monitored curves are the trainer's own "
                "checks while it trained, on 200-1000 samples with its sampler settings of the time: they compare "
                "the snapshots of one run, and are not the card's figures (10,000 samples, `python -m trainers "
                "evaluate`, with the final settings). FID is biased upward on a small sample, a little on these "
                "runs: the loss table below has each run's best monitored FID beside its card's.")
    monitored = [n for n in with_snapshots if (store.root / n / "metrics.csv").is_file()]
    first_run = (monitored or with_snapshots or [None])[0]
    count = len(snapshots(store, first_run)) if first_run else 0
    start = timeline(store, first_run, count - 1) if count else (None, "", None, None, None)
    with gr.Row():
        run = gr.Dropdown(with_snapshots, value=first_run, label="run")
        index = gr.Slider(0, max(count - 1, 1), max(count - 1, 0), step=1, label=_snapshot_label(count))
    caption = gr.Markdown(start[1])
    logged = _logged(store, first_run)
    with gr.Row():  # the snapshots get two thirds of the row: 8 across at ~96 px at 1400 px (half drew ~64 px)
        shot = gr.Image(start[0], label="samples from fixed noise", interactive=False, format="png", scale=2)
        with gr.Column(scale=1, min_width=320):
            # from 0: zoomed to the data, BEGAN's FID going from 100.37 to 100.47 was drawn as a steep rise; and
            # plain number formats (one value drew its step as "1,876.000000" and its value cut to ".881300")
            # "~r", not "~g": Vega gives the format the ticks' precision, and "~g" at 1 digit wrote 20 as "2e+1"
            entropy_plot = gr.LinePlot(start[3], x="step", y="value", color="series", y_lim=[0, np.log2(10) + 0.05],
                                       title=_metric_title(store, first_run, "class entropy (bits)"), height=180,
                                       x_axis_format="~s", y_axis_format="~r", visible=logged)
            fid_plot = gr.LinePlot(start[4], x="step", y="value", color="series", y_lim=[0, fid_top(store, first_run)],
                                   title=_metric_title(store, first_run, "FID"), height=180, x_axis_format="~s",
                                   y_axis_format="~r", visible=logged)
    # the page's width under them: in the third beside the snapshots its legend of 4-5 series was cut at the edge
    loss_plot = gr.LinePlot(start[2], x="step", y="value", color="series", height=220,
                            title=f"training log: {first_run}", x_axis_format="~s",
                            y_axis_format="~r")
    outputs = [shot, caption, loss_plot, entropy_plot, fid_plot]

    def pick(name):
        count = len(snapshots(store, name)) if name else 0
        return (gr.Slider(0, max(count - 1, 1), count - 1, step=1, label=_snapshot_label(count)),
                *timeline(store, name, count - 1))

    def retitle(name):
        """A plot keeps the series (and colours) of the table it was drawn with and only swaps the values of
        later ones (ddpm-fashion's `loss` and `fid_250` drew nothing under a GAN's legend); a new title redraws
        it whole. Sent after the new tables have arrived: sent with them, the redraw used the old ones."""
        logged = _logged(store, name)  # a run without monitored metrics drew two empty axes
        return (gr.LinePlot(title=f"training log: {name}"),
                gr.LinePlot(title=_metric_title(store, name, "class entropy (bits)"), visible=logged),
                gr.LinePlot(title=_metric_title(store, name, "FID"), y_lim=[0, fid_top(store, name)], visible=logged))

    run.change(pick, run, [index, *outputs], api_name=False).then(retitle, run, [loss_plot, entropy_plot, fid_plot],
                                                                   api_name=False)
    # release (a drag ends) and input (the number box, the arrow keys): each says which snapshot to show
    gr.on([index.release, index.input], lambda name, i: timeline(store, name, i), [run, index], outputs,
          api_name="timeline", trigger_mode="always_last")
    by_step, by_time, runs = loss_table(store)
    gr.Markdown("### The loss table\nThe same DCGAN (architecture, data, batch, Adam) trained with each GAN loss of "
                "the course notes, one curve each: FID on 1000 samples from fixed noise (the run's own monitor) against "
                "generator steps and against wall-clock time. The two budgets differ because some losses pay more per "
                "step: WGAN-GP's gradient penalty and its 5 critic steps per generator step. Against minutes, each loss's "
                "20-minute run on 2 CPU cores; against steps, its run that went furthest: where the 20 minutes made fewer "
                "steps, its `*-9400steps` run (trained on a GPU as far as the non-saturating run went in its 20 "
                "minutes; WGAN-GP's stopped at 6251). Where two losses give "
                "the same curve (hinge and non-saturating nearly do), the line drawn last hides the other: the table "
                "under the plots has each run's numbers. The table's FID is the card's, on 10k samples."
                + late_starts(by_time))
    # one above the other: side by side, each legend had room for 5 of the 8 losses at 800 px
    gr.LinePlot(by_step, x="generator step", y="FID_1000", color="loss", title="FID against generator steps",
                height=280, elem_id="loss-table-steps")
    gr.LinePlot(by_time, x="minutes", y="FID_1000", color="loss", title="FID against wall-clock minutes",
                height=280, elem_id="loss-table-minutes")
    # every run in view: at the default 500 px the last row sat below the box's edge with no sign of it; at 800 px
    # its last columns were cut with no word (`wide-table`)
    gr.Dataframe(runs, headers=LOSS_COLUMNS, interactive=False, wrap=True, elem_id="loss-table",
                 elem_classes="wide-table", max_height=60 * (len(runs) + 2))
    return run
