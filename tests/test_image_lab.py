"""The image lab: a live run streams, stops on request with a checkpoint, and a saved run loads elsewhere."""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr
import numpy as np
import pytest

from playground import gan as gan_tab
from playground import image_lab as tab
from playground.models import ModelStore
from trainers.core.errors import UserError


@pytest.fixture
def tiny_options(monkeypatch, tiny_fashion, tmp_path):
    monkeypatch.setattr(tab, "RUNS_DIR", tmp_path / "runs")
    monkeypatch.setattr(tab, "LIVE_OPTIONS", {
        "gan": {"batch_size": "16", "n_classes": "0", "ngf": "8", "ndf": "8", "z_dim": "16",
                "data_dir": str(tiny_fashion)},
        "vae": {"batch_size": "16", "latent_dim": "4", "data_dir": str(tiny_fashion)},
        "ddpm": {"batch_size": "16", "base": "8", "mults": "1,2", "T": "50", "sample_steps": "3",
                 "image_size": "16", "n_classes": "10", "data_dir": str(tiny_fashion)},
    })
    monkeypatch.setattr(tab, "COMMON", {**tab.COMMON, "sample_every": "5", "log_every": "2", "monitor_n": "0"})


def test_a_live_run_streams_and_its_saved_checkpoint_loads_in_the_gan_tab(tiny_options, tmp_path):
    frames = list(tab.train("gan", 0.05))
    grid, losses, status, run_dir = frames[-1]
    # the budget (3 s) counts from the press, and the trainer took longer to load: it stops after its first steps
    assert len(frames) >= 3 and status.startswith("done: ") and "in the time budget of 0.05 min" in status, status
    # while the trainer loads torch and the data (seconds), the seconds count on screen (they stood at "0 s")
    starting = [int(s.split("· ")[1].split()[0]) for _, _, s, _ in frames if str(s).startswith("starting the trainer")]
    assert len(starting) >= 2 and starting == sorted(starting) and starting[-1] >= 1, starting
    assert grid is not None and grid.ndim == 3
    series = {row[losses.value["columns"].index("series")] for row in losses.value["data"]}  # the plot's update
    assert {"loss_d", "loss_g"} <= series and losses.y_lim is not None
    store = ModelStore(tmp_path / "ckpts")
    store.root.mkdir()
    name = tab.save(store, run_dir, "first")
    assert name == "live-gan-first" and name in store.names("gan")
    assert not (store.root / name / "train_state.pt").exists()
    image = gan_tab.sample_grid(store, name, 0, 4, 1.0)  # another tab loads it
    assert image.ndim == 3 and image.std() > 0
    with pytest.raises(gr.Error, match="name"):
        tab.save(store, run_dir, "../escape")
    with pytest.raises(gr.Error, match="no finished run"):
        tab.save(store, str(tmp_path), "x")


def test_stopping_a_run_keeps_a_checkpoint(tiny_options):
    stream = tab.train("ddpm", 2.0)
    first = next(stream)
    run_dir = first[3]
    t0 = time.monotonic()
    stream.close()  # what Gradio does when the page's Stop cancels the event: it must not block
    assert time.monotonic() - t0 < 1
    from pathlib import Path

    from trainers.core.checkpoint import read_card

    stop = Path(run_dir) / "STOP"
    while (stop.exists() or not (Path(run_dir) / "card.json").exists()) and time.monotonic() - t0 < 60:
        time.sleep(0.2)  # the trainer sees the stop file, checkpoints and exits
    card = read_card(run_dir)
    assert 0 < card["steps"] < 50 * 16  # stopped long before its 2-minute budget


def test_the_pages_stop_ends_the_run_with_a_checkpoint_and_says_so(tiny_options):
    """Stop does not cancel the stream (a frame computed before the cancel landed after the "stopped" line):
    the stream asks the trainer to stop, waits for its checkpoint and ends on its own last word."""
    from playground.wiring import request_stop

    stream = tab.train("ddpm", 2.0)
    frames = [next(stream)]
    request_stop("lab_train")
    t0 = time.monotonic()
    frames += list(stream)
    status, run_dir = frames[-1][2], frames[-1][3]
    assert time.monotonic() - t0 < 60
    assert any(f[2].startswith("stopping at step") for f in frames[1:-1]), [f[2] for f in frames]
    assert status.startswith("stopped: ") and " steps" in status and "; save it" in status, status
    assert (Path(run_dir) / "model.safetensors").is_file()
    store = ModelStore(Path(run_dir).parent.parent / "ckpts")
    store.root.mkdir()
    t0 = time.monotonic()
    while True:  # saved as its status says ("the run is still stopping" for ever, once)
        try:
            assert tab.save(store, run_dir, "stopped") == "live-ddpm-stopped"
            break
        except gr.Error:
            assert time.monotonic() - t0 < 10
            time.sleep(0.2)
    frames = list(tab.train("gan", 0.05))  # the press was for that run, not the next one
    assert frames[-1][2].startswith("done:"), frames[-1][2]


def test_a_run_waits_for_another_pages_run_and_says_so(tiny_options):
    """One run trains at a time: a second Train says it waits (it was silent in Gradio's queue), starts when the
    first ends, and a Stop while it waits ends it without a run."""
    from playground.wiring import request_stop

    assert tab._SLOT.acquire(timeout=5)  # another page's run
    try:
        waiting = tab.train("gan", 0.05)
        assert next(waiting)[2].startswith("waiting: another page's run is training")
        stopped = tab.train("gan", 0.05)
        assert next(stopped)[2].startswith("waiting")
        request_stop("lab_train")
        assert [f[2] for f in stopped][-1].startswith("not started: you pressed Stop")
    finally:
        tab._SLOT.release()
    frames = list(waiting)
    assert frames[-1][2].startswith("done:"), frames[-1][2]
    assert tab._SLOT.acquire(blocking=False)  # and the slot is free again
    tab._SLOT.release()


def test_bad_requests(tiny_options):
    for args in [("gan", 60), ("gan", float("nan")), ("classifier", 1.0), ("gan", 0.0)]:
        with pytest.raises(gr.Error):
            list(tab.train(*args))


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed (make test installs it as root)")
@pytest.mark.parametrize("family, bar", [("gan", 1.2), ("vae", 1.8)])
def test_the_live_settings_learn_garments_within_the_budget(tmp_path, family, bar):
    """The live run's own settings on Fashion-MNIST, one torch thread as the tab runs it: class entropy of the
    fixed-noise samples (the judge's verdict spread over classes; 0 is one blob, 2.30 every class) must rise
    past `bar` within 300 steps, which the tab reaches in 20-40 s of its 1-minute default. The GAN showed
    uniform grey noise after 30 s with the earlier settings (0.16 at step 200); the VAE faint streaks. (The VAE
    measured 1.48, 1.95, 2.08 at steps 100, 200, 300, in 70 s on a loaded machine.)"""
    import csv
    import subprocess
    import sys

    opts = tab._options(family, 1.0, None, tmp_path / "run")
    opts.update(max_minutes="3", steps="300", monitor_n="200")
    r = subprocess.run([sys.executable, "-m", "trainers", "train", family, *(f"--{k}={v}" for k, v in opts.items())],
                       cwd=tab.ROOT, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    entropy = [float(row["class_entropy"]) for row in rows]
    assert int(rows[-1]["step"]) == 300 and entropy[-1] > bar and entropy[-1] > entropy[0], entropy


def test_a_public_deployment_saves_nothing_into_checkpoints(tmp_path):
    """--public (the default on a Space and with --share): Save is disabled and says why; the handler refuses."""
    import gradio as gr

    from playground import image_lab
    from playground.app import create_app

    store = ModelStore(tmp_path, read_only=True)
    with pytest.raises(gr.Error, match="public deployment"):
        image_lab.save(store, str(image_lab.RUNS_DIR / "gan-x"), "mine")
    assert list(tmp_path.iterdir()) == []
    root = Path(__file__).resolve().parents[1] / "checkpoints"
    demo = create_app(root, public=True)
    buttons = [b for b in demo.blocks.values() if isinstance(b, gr.Button) and b.value == "Save the run as a checkpoint"]
    assert buttons and not buttons[0].interactive
    assert demo.store.read_only


def test_save_is_enabled_once_a_run_has_stopped(tmp_path):
    """Save had nothing to save before the first run, yet looked ready, and it went on while a run was still
    training: it is off until a run has ended (the run's folder set), and off again while the next one runs."""
    import gradio as gr

    from playground.app import create_app

    root = Path(__file__).resolve().parents[1] / "checkpoints"
    demo = create_app(root)
    button = next(b for b in demo.blocks.values() if isinstance(b, gr.Button) and b.value == "Save the run as a checkpoint")
    assert not button.interactive
    toggles = [f for f in demo.fns.values() if [o._id for o in f.outputs][:1] == [button._id]]
    assert len(toggles) == 2
    train = next(f for f in demo.fns.values() if f.api_name == "lab_train")
    after = [f for f in toggles if f.trigger_after == train._id]  # chained on the run's end (.then)
    assert len(after) == 1
    assert after[0].fn("")["interactive"] is False and after[0].fn("/tmp/runs/gan-x")["interactive"] is True
    during = next(f for f in toggles if f is not after[0])  # the run's folder changes as the next run begins
    off, saved_line = during.fn("/tmp/runs/gan-y")
    # and the last run's "saved as `live-gan-my-run`" goes: it stayed under the next run
    assert off["interactive"] is False and saved_line == ""
    assert isinstance(during.outputs[1], gr.Markdown)


def test_the_losses_plot_draws_losses_only():
    """A GAN run's plot titled "losses" also drew D's mean outputs (logits) and a DDPM's gradient norm."""
    rows = [{"step": 10.0, "epoch": 0.0, "time_s": 1.0, "loss_d": 1.2, "d_real": 3.5, "d_fake": -2.0, "loss_g": 0.8},
            {"step": 10.0, "epoch": 0.0, "time_s": 1.0, "loss": 0.1, "grad_norm": 4.0}]
    assert set(tab._losses_table(rows)["series"]) == {"loss_d", "loss_g", "loss"}


def test_a_public_deployment_caps_each_visitors_live_training(monkeypatch):
    """On a Space (one run trains at a time, the rest wait), one stranger's runs back to back held the machine:
    each client may start PUBLIC_MINUTES_PER_HOUR of runs an hour; others are not charged for it."""
    import gradio as gr

    from playground.quotas import HourlyLedger

    clock = [1000.0]
    monkeypatch.setattr(tab, "_STARTED", HourlyLedger(lambda: clock[0]))
    tab._charge("1.2.3.4", 5.0)
    tab._charge("1.2.3.4", 5.0)
    with pytest.raises(UserError, match=r"10 minutes of live training an hour: 0.0 left now, more in 60 min"):
        tab._charge("1.2.3.4", 0.5)
    tab._charge("5.6.7.8", 5.0)  # another visitor has its own hour
    clock[0] += 3601
    tab._charge("1.2.3.4", 5.0)  # an hour later
    assert tab._STARTED.clients() == {"1.2.3.4"}  # clients with no run in the last hour are forgotten
    # through the handler: refused before it takes the machine's slot, with the message on the page
    monkeypatch.setattr(tab, "client", lambda: "9.9.9.9")
    tab._STARTED.spend("9.9.9.9", (10.0,), (10.0,))
    with pytest.raises(gr.Error, match="public deployment gives each visitor"):
        next(tab.train("gan", 1.0, None, public=True))
    assert tab._SLOT.acquire(blocking=False)
    tab._SLOT.release()


def test_the_status_line_says_the_monitor_numbers_in_words():
    """It showed the trainer's columns, "class_entropy 2.0576, fid_200 29.4283"."""
    said = tab.said_metrics({"step": 80.0, "class_entropy": 2.0576, "fid_200": 29.4283})
    assert said == "class entropy 2.97 bits (10 classes evenly: 3.32), FID of 200 samples 29.4 (lower is better)"
    # beside a later step, it says when it was measured ("step 350 · FID 29.4" read as step 350's)
    later = tab.said_metrics({"step": 80.0, "fid_200": 29.4283}, step=350)
    assert later == "at step 80: FID of 200 samples 29.4 (lower is better)"
    assert tab.said_metrics({"step": 80.0, "fid_200": 29.4283}, step=80).startswith("FID")


def test_an_early_peak_does_not_flatten_the_losses_plot():
    """A VAE's first logged loss (~2,500) put the rest of its run (~300 and falling) on the plot's floor."""
    rows = [{"step": float(s), "loss": v, "recon": v * 0.95, "kl": 20.0}
            for s, v in zip(range(10, 340, 10), [2500, 1200, 800, *np.linspace(700, 290, 30)])]
    plot = tab.losses_plot(rows)
    low, high = plot.y_lim
    assert low == 0 and 700 < high < 800 and "2,500 is above the top" in plot.title
    calm = tab.losses_plot([{"step": float(s), "loss_d": 1.4 - s / 1000, "loss_g": 0.7 + s / 1000} for s in range(10, 300, 10)])
    assert calm.title == "losses" and calm.y_lim[1] >= 0.7 + 290 / 1000  # nothing left out


def test_a_run_on_a_few_uploads_lasts_its_time_budget(tmp_path):
    """40 uploaded images at the default 50 epochs were 50 steps: a 2-minute run said "done" after 13 s of grey
    noise. Uploads train as many steps as Fashion-MNIST's 50 epochs would, so the time budget ends the run."""
    from playground.uploads import EXAMPLES

    files = [str(EXAMPLES / "7-sneaker.png")] * 40
    opts = tab._options("gan", 2.0, files, tmp_path / "run")
    batch = int(opts["batch_size"])
    steps = float(opts["epochs"]) * (40 // batch)  # whole batches an epoch, the fewest the loader can give
    assert opts["dataset"] == "folder" and steps >= int(tab.COMMON["epochs"]) * tab.FASHION_TRAIN / batch
    fashion = tab._options("gan", 2.0, None, tmp_path / "fashion")
    assert fashion["epochs"] == tab.COMMON["epochs"]
