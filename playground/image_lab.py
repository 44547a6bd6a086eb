"""Tab "Train live", image lab: a short run of the GAN, VAE or DDPM trainer, watched while it trains.

The run is the project's own trainer (`python -m trainers train`) in a child process on one torch
thread, so the rest of the app keeps a core; its log, fixed-noise snapshots and class-entropy signal
stream into the page as it writes them. A run is bounded in time (MAX_MINUTES) and in data; only one
runs at a time (queue); "Stop" asks the trainer to stop at its next step with a checkpoint, and the
stream says when it has. "Save" copies the run into the checkpoints folder as `live-<family>-<name>`, where
every other tab finds it (their checkpoint lists refresh when a tab is opened); at most MAX_SAVED live
runs are kept, the oldest removed first.
"""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from trainers.core.checkpoint import STATE
from trainers.core.errors import UserError

from .errors import choice, number, user_errors
from .quotas import HourlyLedger
from .uploads import open_upload
from .views import series_table, sheet_view
from .wiring import client, said_unchanged, stop_button, stop_clear, stop_requested
from .models import ModelStore

ROOT = Path(__file__).resolve().parents[1]
RUNS_DIR = Path(tempfile.gettempdir()) / "playground-runs"
MAX_MINUTES, MAX_UPLOADS, MAX_UPLOAD_BYTES, MAX_SAVED = 5.0, 2000, 200 * 2**20, 5
RUN_TTL_S = 3600  # run folders (and their resume state) older than this are deleted
# a public deployment (a Space, --share): the minutes of live training one visitor may start in an hour. The
# machine trains one run at a time (the rest wait), so one stranger's runs back to back held it for everyone
PUBLIC_MINUTES_PER_HOUR = 10.0
_STARTED = HourlyLedger()  # client -> (when, minutes) of its runs in the last hour
LIVE_PREFIX = "live-"
# small, fast settings: snapshots every 100 steps so the page has something to show every few seconds
LIVE_OPTIONS = {
    # chosen so that a 1-minute run on one core shows garments (tried on Fashion-MNIST, 60 s, 1 thread: batch 64
    # with ngf = ndf = 32 and lr 2e-4 reached class entropy 1.85 and FID-200 48 in 500 steps; this reaches
    # 1.6 by step 200 and 2.19 / FID-200 19 in 1400 steps): small networks take more steps a second, G learns
    # twice as fast as D (TTUR, Heusel et al. 2017), and a short run's EMA must move fast
    "gan": {"batch_size": "32", "ngf": "16", "ndf": "16", "lr_g": "1e-3", "lr_d": "5e-4", "n_classes": "0",
            "ema_decay": "0.98"},
    # 60 s on one thread (400 steps): lr 2e-3 reached class entropy 2.10 / FID-200 31.7, against 2.06 / 33.9 at
    # 1e-3; a latent of 8 or batch 64 did worse. Its prior samples stay blurry (a VAE's are): the grid also shows
    # reconstructions, which are recognisable from the first snapshots
    "vae": {"batch_size": "128", "latent_dim": "16", "lr": "2e-3"},
    "ddpm": {"batch_size": "32", "base": "16", "sample_steps": "10", "n_classes": "10"},
}
# what the snapshot grid shows, said under it while a run streams (each family's `preview`)
GRID_NOTE = {"gan": "the grid: 64 samples from fixed noise",
             "vae": "the grid: rows 1–4 are samples from the prior N(0, I); rows 5–8 are test garments, each "
                    "row above its reconstruction",
             "ddpm": "the grid: samples from fixed noise, one row per class (T-shirt/top first)"}
COMMON = {"epochs": "50", "log_every": "10", "sample_every": "100", "ckpt_every": "100000", "monitor_n": "200",
          "device": "cpu"}
FASHION_TRAIN = 60_000  # Fashion-MNIST's training images
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _options(family: str, minutes, uploads: list[str] | None, out: Path) -> dict:
    family = choice("family", family, list(LIVE_OPTIONS))
    minutes = number("the time budget in minutes", minutes, 0.05, MAX_MINUTES)
    opts = {**COMMON, **LIVE_OPTIONS[family], "out": str(out), "max_minutes": str(minutes)}
    if family == "ddpm":
        opts["monitor_n"] = "0"  # each DDPM sample costs sample_steps network calls
    if uploads:
        batch = int(opts["batch_size"])
        if len(uploads) > MAX_UPLOADS:
            raise UserError(f"upload {batch} to {MAX_UPLOADS} images (one batch at least), got {len(uploads)}")
        if sum(Path(f).stat().st_size for f in uploads) > MAX_UPLOAD_BYTES:
            raise UserError(f"the uploads exceed {MAX_UPLOAD_BYTES >> 20} MB in total")
        for f in uploads:  # the trainer opens them with plain Pillow: only images the app would open itself
            try:  # checked before they are counted: one text file was refused as "got 1" image
                open_upload(f)
            except UserError as e:
                raise UserError(f"{Path(f).name}: {e}") from None
        if len(uploads) < batch:
            raise UserError(f"upload {batch} to {MAX_UPLOADS} images (one batch at least), got {len(uploads)}")
        data = out / "data"
        data.mkdir(parents=True)
        for i, f in enumerate(uploads):
            shutil.copy(f, data / f"{i:05d}{Path(f).suffix.lower()}")
        opts.update(dataset="folder", data_dir=str(data), monitor_n="0")  # the classifier knows garments only
        # the time budget ends the run, as on Fashion-MNIST: 50 epochs of 40 uploads were 50 steps, and a 2-minute
        # run said "done" after 13 s of grey noise. As many steps as 50 epochs of Fashion-MNIST's 60,000 images
        # (whole batches: 40 uploads are one batch of 32 an epoch)
        steps = int(COMMON["epochs"]) * (FASHION_TRAIN // batch)
        opts["epochs"] = str(math.ceil(steps / (len(uploads) // batch)))
        if "n_classes" in opts:
            opts["n_classes"] = "0"
    return opts


# logged beside the losses but on other scales: D's mean output on real and on generated images (logits), the
# gradient's norm. The plot is titled "losses", and drew them among the losses
NOT_LOSSES = ("d_real", "d_fake", "grad_norm")


def _losses_table(rows: list[dict]):
    return series_table(rows, skip=("step", "epoch", "time_s", *NOT_LOSSES))


def losses_plot(rows: list[dict]):
    """The losses plot's update: the table, and a y-range that an early peak does not set. A VAE's first logged
    loss (~2,500) flattened the rest of its run (~300 and falling) onto the floor; the peak is left above the
    top (the plot clips its lines) and the title says so."""
    import gradio as gr

    table = _losses_table(rows)
    values = table["value"].dropna()
    if values.empty:
        return table
    steps = sorted(table["step"].unique())
    late = table[table["step"] >= steps[min(max(2, len(steps) // 10), len(steps) - 1)]]["value"].dropna()
    top, late_top = float(values.max()), float(late.max()) if len(late) else float(values.max())
    low = min(0.0, float(values.min()) * 1.05)
    if len(steps) >= 5 and top - low > 2 * (late_top - low) > 0:
        return gr.LinePlot(table, y_lim=[low, late_top + 0.1 * (late_top - low)],
                           title=f"losses (the first steps' {top:,.4g} is above the top)")
    return gr.LinePlot(table, y_lim=[low, top + 0.05 * (top - low) or 1.0], title="losses")


def said_metrics(row: dict, step: int | None = None) -> str:
    """A monitor row (`trainers.core.metrics.monitor`) in words: the status line showed "class_entropy 2.0576,
    fid_200 29.4283", the trainer's column names, where the other tabs say what a number is. Measured at another
    step than `step` (the monitor runs every few hundred), it says at which: "step 350 · FID 29" read as step 350's."""
    said = []
    for key, value in row.items():
        if key == "class_entropy":
            # in bits, as Compare and the training timelines say it (the monitor logs nats)
            said.append(f"class entropy {value / np.log(2):.2f} bits (10 classes evenly: 3.32)")
        elif (m := re.fullmatch(r"fid_(\d+)", key)):
            said.append(f"FID of {m.group(1)} samples {value:.1f} (lower is better)")
        elif key != "step":
            said.append(f"{key.replace('_', ' ')} {value:.3g}")
    at = int(row.get("step", -1))
    return f"at step {at}: {', '.join(said)}" if step is not None and at != step else ", ".join(said)


def _read_rows(path: Path) -> list[dict]:
    import csv

    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in r.items() if v not in ("", None)} for r in csv.DictReader(f)]


def _read_grid(path: Path):
    from PIL import Image

    try:
        with Image.open(path) as im:  # 8 x 8 samples of 32 px, each shown at >= MIN_FRAME_PX
            return sheet_view(np.asarray(im.convert("RGB")), 32)
    except (OSError, ValueError):  # not written yet, or being replaced right now
        return None


def _prune_runs() -> None:
    if not RUNS_DIR.is_dir():
        return
    now = time.time()
    for old in RUNS_DIR.iterdir():
        try:
            if now - old.stat().st_mtime > RUN_TTL_S:
                shutil.rmtree(old)
        except OSError:  # another request removed it first
            pass


def _finish(proc: subprocess.Popen, stop_file: Path, data: Path) -> None:
    """Ask a running trainer to stop (it checkpoints and exits), wait, then drop the uploaded data."""
    if proc.poll() is None:
        stop_file.touch()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    stop_file.unlink(missing_ok=True)  # also when the page's Stop made it, and the trainer has already exited
    shutil.rmtree(data, ignore_errors=True)


# one run trains at a time on this machine. A second page's Train waits here and says so: it waited in Gradio's
# queue instead (one place), silent, and a user saw "▶ Train" do nothing while another page's run went on
_SLOT = threading.Lock()
_RUNNING = {"ends": 0.0}  # when the run holding the slot reaches its time budget (monotonic seconds)


def _charge(who: str | None, minutes: float) -> None:
    """Count a public run's minutes against its client's hour, or refuse it, saying how much is left and when."""
    refused = _STARTED.spend(who, (minutes,), (PUBLIC_MINUTES_PER_HOUR,))
    if refused is not None:
        (spent,), wait = refused
        raise UserError(f"this public deployment gives each visitor {PUBLIC_MINUTES_PER_HOUR:g} minutes of live "
                        f"training an hour: {max(PUBLIC_MINUTES_PER_HOUR - spent, 0):.1f} left now, more in "
                        f"{wait / 60:.0f} min (lower the time budget, or run the app on your own machine)")


@user_errors
def train(family: str, minutes, uploads=None, public: bool = False):
    """Run the trainer as a child process (one torch thread, so the app stays responsive) and yield
    (sample grid, losses, status, run folder) whenever its log or snapshot changes. The page's Stop, or
    closing the stream, asks the trainer to stop through its --stop_file; it saves a checkpoint and exits.
    While another page's run trains, the status says so and the run starts when that one ends. `public`: the
    minutes are counted against the client's PUBLIC_MINUTES_PER_HOUR."""
    import gradio as gr

    minutes = number("the time budget in minutes", minutes, 0.05, MAX_MINUTES)
    if public:
        _charge(client(), minutes)
    stop_clear("lab_train")
    while not _SLOT.acquire(timeout=1.0):
        if stop_requested("lab_train"):
            stop_clear("lab_train")
            yield gr.skip(), gr.skip(), "not started: you pressed Stop while it waited for the other run", gr.skip()
            return
        left = max(0.0, _RUNNING["ends"] - time.monotonic())
        yield gr.skip(), gr.skip(), (f"waiting: another page's run is training on this machine (one at a time); "
                                     f"yours starts when it ends, within about {left + 15:.0f} s"), gr.skip()
    try:
        _RUNNING["ends"] = time.monotonic() + 60 * float(minutes) + 30  # + start-up and the final checkpoint
        yield from _train(family, minutes, uploads)
    finally:
        _SLOT.release()


def _train(family: str, minutes, uploads=None):
    import gradio as gr

    _prune_runs()
    run_dir = RUNS_DIR / f"{family}-{uuid.uuid4().hex[:8]}"
    opts = _options(family, minutes, [getattr(u, "name", u) for u in uploads or []], run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    note = GRID_NOTE["gan" if opts.get("n_classes") == "0" else family]  # your images have no classes
    stop_file = run_dir / "STOP"
    cmd = [sys.executable, "-m", "trainers", "train", family, *(f"--{k}={v}" for k, v in opts.items()),
           f"--stop_file={stop_file}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    log_path = run_dir / "trainer.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seen, t0, stopping, by_budget = None, time.monotonic(), False, False
    # the budget counts from the press: the trainer's own clock starts once it has loaded torch and the data, and
    # a 1-minute run took 75 s. (Its --max_minutes stays, for a run whose loading outlasts the budget.)
    budget_s = 60 * float(opts["max_minutes"])
    stop_clear("lab_train")

    def stopping_line() -> str:
        why = f"time budget of {float(opts['max_minutes']):g} min reached" if by_budget else "stopping"
        return (f"{why} at step {step}: the trainer is saving a checkpoint ({time.monotonic() - stop_t:.0f} s so "
                "far); Save turns on once it is saved")

    step = 0
    try:
        while True:
            done = proc.poll() is not None
            rows = _read_rows(run_dir / "log.csv")
            asked = not stopping and not done and stop_requested("lab_train")
            if asked or (not stopping and not done and rows and time.monotonic() - t0 >= budget_s):
                # the page's Stop or the budget: checkpoint, exit, then say so
                stopping, by_budget = True, not asked
                stop_file.touch()
                seen, stop_t = None, time.monotonic()  # show "stopping" at once
            metrics = _read_rows(run_dir / "metrics.csv")
            samples = run_dir / "samples.png"
            stamp = (len(rows), len(metrics), samples.stat().st_mtime if samples.exists() else 0)
            if stamp != seen or done:
                seen = stamp
                step = int(rows[-1]["step"]) if rows else 0
                extra = said_metrics(metrics[-1], step) if metrics else ""
                status = (f"step {step} · {time.monotonic() - t0:.0f} s" + (f" · {extra}" if extra else "")
                          + f"  \n{note}")
                if not rows:  # the trainer loads torch and the data first: about 10 s of nothing to show
                    status = f"starting the trainer (loading torch and the data) · {time.monotonic() - t0:.0f} s"
                if stopping and not done:
                    status = stopping_line()
                if done:
                    # the trainer has exited: its stop file goes now, not in `_finish`'s thread after the last frame
                    # (Save, pressed at once, found it and said "the run is still stopping")
                    stop_file.unlink(missing_ok=True)
                    lines = log_path.read_text()[-400:].strip().splitlines()
                    # or the trainer's own budget, where it ran out first (its first steps outlasting the app's)
                    by_budget = by_budget or (not stopping and any("time budget of" in line for line in lines))
                    ended = "stopped" if stopping and not by_budget else "done"
                    within = f" in the time budget of {float(opts['max_minutes']):g} min" if by_budget else ""
                    # the last metrics and what the grid's rows are stay said: the grid's label points at this
                    # line, which said only "done" once the run ended
                    status = (f"{ended}: {step} steps{within}" + (f" · {extra}" if extra else "")
                              + f"; save it to use it in the other tabs  \n{note}") if proc.returncode == 0 \
                        else "the run failed: " + (lines[-1] if lines else f"exit code {proc.returncode}")
                # no table before the first log row: the plot fixes its series (colours, legend) from the first
                # table it gets, and an empty one left it with none, drawing no line all run
                yield _read_grid(samples), losses_plot(rows) if rows else None, status, str(run_dir)
            elif stopping:  # the seconds it has been stopping, so that a wait of seconds reads as work, not a hang
                yield gr.skip(), gr.skip(), stopping_line(), gr.skip()
            elif not rows:  # its seconds count while the trainer loads (a walk saw "0 s" for 19 s, as if hung)
                yield (gr.skip(), gr.skip(), "starting the trainer (loading torch and the data) · "
                       f"{time.monotonic() - t0:.0f} s", gr.skip())
            if done:
                break
            time.sleep(0.5)
    finally:
        # cancelled (Gradio closes the stream on its event loop, so nothing here may block) or done
        threading.Thread(target=_finish, args=(proc, stop_file, run_dir / "data"), daemon=True).start()
        stop_clear("lab_train")


READ_ONLY_NOTE = ("this is a public deployment: runs are not saved into its checkpoints (run the app on your own "
                  "machine to save and reuse them)")


@user_errors
def save(store: ModelStore, run_dir: str, name: str) -> str:
    """Copy a finished live run into the checkpoints folder as live-<family>-<name>; returns its name."""
    if store.read_only:
        raise UserError(READ_ONLY_NOTE)
    if not run_dir:
        raise UserError("train a run first")
    if not isinstance(run_dir, str):
        raise UserError("no finished run to save: train one and let it stop (or stop it) first")
    src = Path(run_dir).resolve()
    if src.parent != RUNS_DIR.resolve() or not (src / "model.safetensors").is_file():
        raise UserError("no finished run to save: train one and let it stop (or stop it) first")
    if not _NAME.match(name or ""):
        raise UserError("name: 1 to 40 letters, digits, - or _")
    family = src.name.split("-")[0]
    target = store.root / f"{LIVE_PREFIX}{family}-{name}"
    if target.exists():
        raise UserError(f"{target.name} exists: choose another name")
    if (src / "STOP").exists() or not (src / "card.json").is_file():
        raise UserError("the run is still stopping: save it in a moment")
    tmp = store.root / f".{target.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns(STATE, "data", "STOP", "trainer.log"))
    tmp.rename(target)
    os.utime(target)  # copytree copied the run's times; the prune below goes by when it was saved
    live = sorted((d for d in store.root.iterdir() if d.name.startswith(LIVE_PREFIX)), key=lambda d: d.stat().st_mtime)
    for old in live[:-MAX_SAVED]:
        shutil.rmtree(old, ignore_errors=True)
    return target.name


def build(store: ModelStore) -> None:
    import gradio as gr

    run_dir = gr.State("")
    gr.Markdown("### Train live: an image model on Fashion-MNIST (or your images)\n**Try first:** press "
                "*▶ Train* with the GAN and watch garments appear within about a minute; then train the VAE and "
                "compare how their samples sharpen.")
    with gr.Row():
        with gr.Column(scale=1, min_width=260):
            family = gr.Radio(list(LIVE_OPTIONS), value="gan", label="family")
            minutes = gr.Slider(0.1, MAX_MINUTES, 1.0, step=0.1, label="time budget (minutes)",
                                info=f"this public deployment: {PUBLIC_MINUTES_PER_HOUR:g} minutes of live training "
                                     f"per visitor an hour" if store.read_only else None)
            least = min(int(o["batch_size"]) for o in LIVE_OPTIONS.values())  # the VAE's refusal names its own
            # the rule said up front (it came as an error after Train), and a long list scrolls in the box: 40
            # files pushed ▶ Train below the fold
            uploads = gr.File(file_count="multiple", file_types=["image"], height=150,
                              label=f"your images (optional: {least} to {MAX_UPLOADS})")  # short: beside its buttons
            with gr.Row():
                go = gr.Button("▶ Train", variant="primary")
                stop = gr.Button("■ Stop")
            # saving apart from the run's buttons, in its own box: it looked like Stop, just below it
            with gr.Group():
                name = gr.Textbox("my-run", label="after a run: save it as live-<family>-<name>",
                                  interactive=not store.read_only)
                save_btn = gr.Button("Save the run as a checkpoint", variant="secondary",
                                     interactive=False)  # nothing to save until a run has begun
            saved = gr.Markdown(READ_ONLY_NOTE.capitalize() + "." if store.read_only else "")
        with gr.Column(scale=3):
            # a live run has nothing to show before it starts; say what pressing Train will show, and when
            status = gr.Markdown("Press **▶ Train**: a small GAN (or the family you pick: VAE, DDPM) trains here, on these CPU cores, on "
                                 "Fashion-MNIST. Its samples from fixed noise appear below every few seconds, and "
                                 "garments within about a minute; the losses are plotted as it goes.")
            grid = gr.Image(label="snapshot grid (the line above says what its rows are)", interactive=False, format="png", elem_id="lab-grid",
                            elem_classes="sheet")
            # steps as 2k, 4k: the full numbers' last ticks ran together ("580600")
            plot = gr.LinePlot(x="step", y="value", color="series", title="losses", height=300, x_axis_format="~s")
    # several may wait (and say so) while one trains: `train` holds the machine's one slot
    run = go.click(said_unchanged(functools.partial(train, public=store.read_only)), [family, minutes, uploads],
                   [grid, plot, status, run_dir], api_name="lab_train",
                   concurrency_limit=4, concurrency_id="image-lab", show_progress="hidden")
    # Save is for a run that has stopped (it went on while the run was still training): off while one runs
    run.then(lambda r: gr.update(interactive=bool(r) and not store.read_only), run_dir, save_btn, api_name=False,
             show_progress="hidden")
    stop_button(stop, "lab_train")
    # and the last run's "saved as" line goes (it stayed under the next run)
    run_dir.change(lambda r: (gr.update(interactive=False), gr.skip() if store.read_only else ""), run_dir,
                   [save_btn, saved], api_name=False, show_progress="hidden")
    save_btn.click(lambda r, n: f"saved as `{save(store, r, n)}`: pick it in the other tabs", [run_dir, name], saved,
                   api_name="lab_save")
