"""The compare tab: the same seed to models of different families, card metrics, the training timeline."""

from __future__ import annotations

import json
import shutil

import gradio as gr
import numpy as np
import pytest
import torch

from playground import compare as tab
from playground import records
from playground.models import ModelStore
from trainers.core.errors import UserError


@pytest.fixture(scope="module")
def store(tiny_gan, tiny_ddpm, tmp_path_factory):
    root = tmp_path_factory.mktemp("compare-store")
    shutil.copytree(tiny_gan, root / "tiny-gan")
    shutil.copytree(tiny_ddpm, root / "tiny-ddpm")
    return ModelStore(root)


def test_metrics_table_shows_what_evaluate_wrote(store):
    from trainers.__main__ import main

    assert main(["evaluate", str(store.root / "tiny-gan"), "--n", "64", "--seed", "0"]) == 0
    card = json.loads((store.root / "tiny-gan" / "card.json").read_text())
    row = tab.metrics_row(store, "tiny-gan", 0.001)
    assert row[tab.COLUMNS.index("FID")] == pytest.approx(card["metrics"]["fid"], rel=5e-3)  # 3 digits shown
    # the card's own value in bits, rounded once: 2.2718 nats rounded to 2.27 first read 3.27 bits (About: 3.28)
    bits = card["metrics"]["class_entropy"] / np.log(2)
    assert row[tab.COLUMNS.index("class entropy (bits)")] == float(f"{bits:.3g}"), (row, bits)
    assert row[tab.COLUMNS.index("ms / image (here)")] == 1.0
    assert row[tab.COLUMNS.index("family")] == "gan"
    assert row[tab.COLUMNS.index("class accuracy")] == "—"  # unconditional: said, not left blank


def test_train_time_counts_a_runs_whole_lineage(store, tmp_path):
    """A model continued on another machine (--init_from) shows its total time and every machine it used."""
    import shutil as sh

    root = tmp_path / "lineage"
    sh.copytree(store.root / "tiny-gan", root / "m")
    card = json.loads((root / "m" / "card.json").read_text())
    card.update(wall_time_s=60.0, wall_time_total_s=3600.0, hardware="1x NVIDIA H100 80GB HBM3",
                history=[{"steps": 10, "hardware": "CPU x86_64, 2 cores (torch threads 1)"}])
    (root / "m" / "card.json").write_text(json.dumps(card))
    row = tab.metrics_row(ModelStore(root), "m", None)
    assert row[tab.COLUMNS.index("train time")] == "60.0 min"
    assert row[tab.COLUMNS.index("hardware")] == "CPU + 1x H100 80GB HBM3"


def test_compare_draws_every_model_from_one_seed(store):
    assert set(tab.generative_names(store)) == {"tiny-gan", "tiny-ddpm"}
    gallery, pair, rows = tab.compare(store, ["tiny-gan", "tiny-ddpm"], 3, 4, "Trouser", 5, 2.0)
    # a column a model and a row a metric, as the samples sit side by side (ten metrics across were cut at 800 px)
    assert list(rows.columns) == ["", "tiny-gan", "tiny-ddpm"] and list(rows[""]) == tab.COLUMNS[1:]
    assert rows.set_index("").loc["family"].tolist() == ["gan", "ddpm"]
    assert "unconditional" in gallery[0][1] and "Trouser" in gallery[1][1]  # only the DDPM is conditional
    again, _, _ = tab.compare(store, ["tiny-gan", "tiny-ddpm"], 3, 4, "Trouser", 5, 2.0)
    assert all((a[0] == b[0]).all() for a, b in zip(gallery, again))  # a seed fixes every model's samples
    assert pair is None  # 32 px GAN vs 16 px DDPM: no slider between different sizes
    three = tab.compare(store, ["tiny-gan", "tiny-gan", "tiny-ddpm"], 3, 4, "Trouser", 5, 2.0)
    # 3 models: the first two slide; the gallery's sheets are the samples alone (its captions sit under them, by
    # the page's CSS: a white band drawn for them in the image showed as an empty strip in every download)
    assert three[1] is not None and np.array_equal(three[1][0], three[0][0][0])
    assert list(three[2].columns) == ["", "tiny-gan", "tiny-gan (2)", "tiny-ddpm"]
    for bad in [(["tiny-gan"],), (["tiny-gan", "../../etc"],), (["tiny-gan", "tiny-ddpm"], float("nan")),
                (["tiny-gan", "tiny-ddpm"], 0, 1000)]:
        args = list(bad) + [0, 4, tab.ANY_CLASS, 5, 2.0][len(bad) - 1:]
        with pytest.raises(gr.Error):
            tab.compare(store, *args)
        with pytest.raises(gr.Error):  # the page's, refused before any model is drawn
            next(tab.compare_live(store, *args))
    # the page shows each model as it is drawn (a 42-s comparison showed only a timer), the slider once two are in
    live = list(tab.compare_live(store, ["tiny-gan", "tiny-gan", "tiny-ddpm"], 3, 4, "Trouser", 5, 2.0))
    assert [len(g) for g, _, _ in live] == [1, 2, 3] and live[0][1] == gr.skip()
    assert [len(t.columns) - 1 for _, _, t in live] == [1, 2, 3]
    # with no diffusion model still to come, no frame before the last (each costs the page a render)
    assert [len(g) for g, _, _ in tab.compare_live(store, ["tiny-ddpm", "tiny-gan"], 3, 4, "Trouser", 5, 2.0)] == [2]
    assert np.array_equal(live[-1][1][0], three[1][0]) and all(
        np.array_equal(a[0], b[0]) for a, b in zip(live[-1][0], three[0]))


def test_timeline_replays_snapshots_with_their_curves(store):
    shots = records.snapshots(store, "tiny-ddpm")
    assert shots and shots == sorted(shots)
    image, caption, losses, scores, fids = records.timeline(store, "tiny-ddpm", len(shots) - 1)
    assert image.ndim == 3 and f"step {shots[-1][0]}" in caption
    assert f"snapshot {len(shots) - 1}; the slider counts them 0 to {len(shots) - 1}" in caption  # as the slider
    assert "loss" in set(losses["series"]) and losses["step"].max() <= shots[-1][0]
    # the first snapshot's tables already name every series the run logged (a plot fixes its series from the
    # first table it gets): those without values yet are empty rows
    _, first_caption, first_losses, first_scores, first_fids = records.timeline(store, "tiny-ddpm", 0)
    assert set(first_losses["series"]) == set(losses["series"])
    # a series with one value draws no line: the caption gives its value instead
    single = [k for t in (first_losses, first_scores, first_fids) for k, g in t.dropna().groupby("series") if len(g) == 1]
    for k in single:
        assert f"{k} = " in first_caption
    assert ("not yet a line" in first_caption) == bool(single)
    assert set(first_scores["series"]) == set(scores["series"]) and set(first_fids["series"]) == set(fids["series"])
    with pytest.raises(gr.Error):
        records.timeline(store, "tiny-ddpm", 99)


def test_timeline_plots_entropy_and_fid_apart(store, tmp_path):
    """Class entropy (0 to 3.3 bits) and FID (tens) on one axis drew the entropy as a flat line at FID's foot."""
    shutil.copytree(store.path("tiny-ddpm"), tmp_path / "run")
    (tmp_path / "run" / "metrics.csv").write_text("step,class_entropy,fid_1000\n10,1.5,60.0\n20,2.5,40.0\n")
    _, caption, losses, scores, fids = records.timeline(ModelStore(tmp_path), "run", 0)
    assert set(scores["series"]) == {"class_entropy"} and set(fids["series"]) == {"fid_1000"}
    # in bits, as its title and Compare's table say: the monitor logs nats
    assert scores.dropna()["value"].tolist() == pytest.approx([1.5 / np.log(2), 2.5 / np.log(2)])
    assert "class_entropy" not in set(losses["series"])
    assert records._metric_title(ModelStore(tmp_path), "run", "FID") == "monitored FID: run"
    assert records._metric_title(store, "tiny-gan", "FID") == "tiny-gan logged no monitored metrics"


def test_a_run_without_monitored_metrics_says_so_and_hides_their_plots(store, tmp_path):
    """Its class-entropy and FID plots were two empty axes; they are hidden (`_logged` sets their visibility)
    and the caption says why only the losses are drawn."""
    shutil.copytree(store.path("tiny-ddpm"), tmp_path / "run")
    (tmp_path / "run" / "metrics.csv").unlink(missing_ok=True)
    image, caption, losses, scores, fids = records.timeline(ModelStore(tmp_path), "run", 0)
    assert not records._logged(ModelStore(tmp_path), "run")
    assert "logged no monitored metrics" in caption and not losses.dropna().empty
    assert scores.dropna().empty and fids.dropna().empty
    from PIL import Image
    with Image.open(records.snapshots(ModelStore(tmp_path), "run")[0][1]) as im:
        assert image.shape[:2] == (3 * im.height, 3 * im.width)  # 32-px samples at 96 px
    (tmp_path / "run" / "metrics.csv").write_text("step,class_entropy,fid_1000\n10,1.5,60.0\n")
    assert records._logged(ModelStore(tmp_path), "run")
    assert "logged no monitored metrics" not in records.timeline(ModelStore(tmp_path), "run", 0)[1]


def test_xy_headers_are_short_and_distinct():
    assert tab._short("dcgan-ns-20min-fashion", 15) == "dcgan-ns-20min"
    assert tab._short("dcgan-wgangp-20min-fashion", 15) == "dcgan-\nwgangp-20min"  # whole, on two lines
    assert tab._short("live-gan-my-very-long-run-name", 15) == "live-gan-my-\nvery-long-run…"
    assert tab._short(3, 15) == "3"


def test_xy_grid_cells_and_png_metadata(store):
    from PIL import Image

    image, path = tab.xy_grid(store, "tiny-gan", "checkpoint", "tiny-gan, tiny-ddpm", "seed", "0, 1, 2", 0, 5, 2.0,
                              1.0, "ddim", "Bag")  # a class: with "(any)" the DDPM's cells name theirs on a line more
    my = tab.XY_MARGINS[1]
    mx = image.shape[1] - 2 * tab.CELL  # the row headers' column: at least XY_MARGINS[0], wider for long names
    assert image.shape[0] == my + 3 * tab.CELL and mx >= tab.XY_MARGINS[0]
    corner = image[:my, :mx].min(2) < 200  # "rows: seed / columns: checkpoint", whole, left of the first column
    assert corner.any() and not corner[:, -6:].any(), "the axes' names run into the first column's header"
    cell = lambda j, i: image[my + j * tab.CELL + 2: my + (j + 1) * tab.CELL - 2,  # noqa: E731
                              mx + i * tab.CELL + 2: mx + (i + 1) * tab.CELL - 2]
    assert not (cell(0, 0) == cell(1, 0)).all()  # another seed, another sample
    again, _ = tab.xy_grid(store, "tiny-gan", "seed", "1", "guidance", "1, 3", 0, 5, 2.0, 1.0, "ddim", tab.ANY_CLASS)
    mx2 = again.shape[1] - tab.CELL  # one column
    assert (again[my + 2: my + tab.CELL - 2, mx2 + 2: mx2 + tab.CELL - 2] == cell(1, 0)).all()  # seed 1, GAN ignores w
    import json

    meta = json.loads(Image.open(path).text["playground"])
    assert meta["api"] == "xy_grid" and meta["inputs"]["X values"] == "tiny-gan, tiny-ddpm"
    assert meta["inputs"]["Y"] == "seed" and meta["inputs"]["steps"] == 5 and meta["inputs"]["sampler"] == "ddim"
    for bad in [("seed", "0", "seed", "1"), ("seed", "a, b", "steps", "5"), ("steps", "1000, 1000", "seed", "0, 1, 2"),
                ("checkpoint", "../x", "seed", "0"), ("colour", "red", "seed", "0")]:
        with pytest.raises(gr.Error):
            tab.xy_grid(store, "tiny-ddpm", *bad, 0, 5, 2.0, 1.0, "ddim", tab.ANY_CLASS)


def test_an_xy_axis_refusal_quotes_the_value_as_typed(store):
    """A walk typed guidance "-5" and read "got '-5.0'"; a seed of 1.5 was drawn as seed 1 without a word."""
    with pytest.raises(UserError, match=r"guidance must be a number in \[0, 20\], got '-5'"):
        tab._axis(store, "guidance", "1, -5")
    with pytest.raises(UserError, match=r"^seed must be a whole number in \[0, 2\^63 − 1\], got '1.5'$"):
        tab._axis(store, "seed", "0, 1.5")
    assert tab._axis(store, "seed", "0, 3, 4611686018427387905") == [0, 3, 2**62 + 1]  # exact, not through a float
    assert tab._axis(store, "seed", "9223372036854775807, +7") == [2**63 - 1, 7]  # the bound its message quotes
    assert tab._axis(store, "guidance", "0, 2.5") == [0.0, 2.5]
    from playground.errors import number

    # an emptied seed box read "got 'None'", its bound as 9223372036854775807
    with pytest.raises(UserError, match=r"^seed is empty: give a number in \[0, 2\^63 − 1\]$"):
        number("seed", None, 0, 2**63 - 1)
    with pytest.raises(UserError, match=r"^truncation must be a number in \[0.05, 1\], got 'x'$"):
        number("truncation", "x", 0.05, 1.0)
    # whole numbers are whole and exact: 2^63 − 1 went through a float as 2^63 and was refused as out of bounds
    assert number("seed", 2**63 - 1, 0, 2**63 - 1, integer=True) == 2**63 - 1
    assert number("seed", np.int64(5), 0, 9, integer=True) == 5 and number("steps", 30.0, 1, 50, integer=True) == 30
    for bad in (1.5, "1.5", True, float("nan"), "1e400", "x"):
        with pytest.raises(UserError, match=r"^steps must be a whole number in \[1, 50\], got "):
            number("steps", bad, 1, 50, integer=True)
    with pytest.raises(UserError, match=r"^steps is empty: give a whole number in \[1, 50\]$"):
        number("steps", " ", 1, 50, integer=True)


def test_xy_grid_batches_ddim_cells_into_the_same_samples_each_draws_alone(store):
    """A 16-cell DDIM grid ran 16 chains; it runs one per (steps, guidance), and each cell is still the sample its
    seed and class give alone (uint8 within 1: only the batch's arithmetic order differs)."""
    cells = [{"checkpoint": "tiny-ddpm", "seed": seed, "steps": 5, "guidance": w, "truncation": 1.0,
              "sampler": "ddim", "class": c} for seed in (0, 1) for w in (1.0, 3.0) for c in (tab.ANY_CLASS, "Bag")]
    cells.append({**cells[0], "sampler": "ddpm"})  # a stochastic sampler stays one chain per cell
    alone = [tab._cell(store, c) for c in cells]
    batched = tab._cells(store, cells)
    assert all(a.shape == b.shape == (3, 16, 16) for a, b in zip(alone, batched))
    assert max((a.int() - b.int()).abs().max().item() for a, b in zip(alone, batched)) <= 1
    assert not (batched[0] == batched[1]).all() and not (batched[0] == batched[4]).all()  # class and seed matter


def test_an_any_class_cell_of_a_conditional_model_draws_its_class_from_its_seed(store):
    """Every "(any)" cell of a conditional model was class 0 (a cell is one sample, and the classes cycle from 0):
    a walk's X/Y grid of ddpm-fashion over eight seeds showed eight tops. Each cell now draws its class from its
    seed, the classes vary over seeds, and a cell is the sample of that class chosen by name."""
    cells = [{"checkpoint": "tiny-ddpm", "seed": seed, "steps": 3, "guidance": 2.0, "truncation": 1.0,
              "sampler": "ddim", "class": tab.ANY_CLASS} for seed in range(8)]
    drawn = [tab.cell_class(c) for c in cells]
    assert len(set(drawn)) >= 4 and drawn == [tab.cell_class(c) for c in cells]
    named = [{**c, "class": tab.FASHION_MNIST_CLASSES[k]} for c, k in zip(cells, drawn)]
    for a, b in zip(tab._cells(store, cells), tab._cells(store, named)):
        assert torch.equal(a, b)
    assert torch.equal(tab._cell(store, {**cells[1], "sampler": "ddpm"}), tab._cell(store, {**named[1], "sampler": "ddpm"}))
    # and each such cell names its class under it (a line more a row); a chosen class needs none
    grids = [tab.xy_grid(store, "tiny-ddpm", "checkpoint", "tiny-ddpm", "seed", "0, 1", 0, 3, 2.0, 1.0, "ddim", c)[0]
             for c in (tab.ANY_CLASS, "Bag")]
    assert grids[0].shape[0] - grids[1].shape[0] == 2 * 14


def test_the_loss_table_plots_each_shipped_loss_run_from_its_own_logs():
    """One curve a loss in each plot, FID_1000 read from the run's metrics.csv: against generator steps the
    loss's run that went furthest, against minutes (log.csv) its 20-minute CPU run; the table has every run,
    its FID the card's."""
    import csv

    shipped = ModelStore()
    runs = records.loss_runs(shipped)
    assert {"dcgan-ns-20min-fashion", "dcgan-wgangp-20min-fashion", "dcgan-wgangp-6251steps-fashion"} <= set(runs)
    assert not {"dcgan-mapping-fashion", "cdcgan-ns-fashion"} & set(runs)  # another architecture or a class input
    by_step, by_time, rows = records.loss_table(shipped)
    assert list(rows["checkpoint"]) == runs
    losses = {name: json.loads((shipped.root / name / "config.json").read_text())["config"]["loss"] for name in runs}
    assert set(by_step["loss"]) == set(by_time["loss"]) == set(losses.values()) and len(set(losses.values())) == 8

    def logged(name):
        return [(int(r["step"]), float(r["fid_1000"])) for r in csv.DictReader(open(shipped.root / name / "metrics.csv"))]

    for loss in set(losses.values()):
        mine = [n for n in runs if losses[n] == loss]
        steps = {n: json.loads((shipped.root / n / "card.json").read_text())["steps"] for n in mine}
        curve = by_step[by_step["loss"] == loss]
        assert list(zip(curve["generator step"], curve["FID_1000"])) == logged(max(mine, key=steps.get))
        timed = by_time[by_time["loss"] == loss]
        on_cpu = [n for n in mine if "20min" in n]
        assert len(on_cpu) == 1 and list(timed["FID_1000"]) == [f for _, f in logged(on_cpu[0])]
        minutes = timed["minutes"].tolist()
        assert minutes == sorted(minutes) and 0 < minutes[-1] <= 21  # the 20-minute budget
    assert by_step[by_step["loss"] == "wgan-gp"]["generator step"].max() == 6251  # its equal-steps run
    assert by_step[by_step["loss"] == "non-saturating"]["generator step"].max() >= 9380
    for name in runs:
        card = json.loads((shipped.root / name / "card.json").read_text())
        assert rows[rows["checkpoint"] == name]["FID (10k)"].item() == float(f"{card['metrics']['fid']:.3g}")  # as Compare's table


def test_each_compared_models_download_is_named_by_it_without_the_settings_it_ignores(store, tmp_path, monkeypatch):
    """A sample sheet downloaded from the gallery was `compare_seed-3_..._steps-5_guidance-2` for every model: no
    model's name, and diffusion settings on a GAN's sheet."""
    from playground import exports

    monkeypatch.setattr(exports, "EXPORT_DIR", tmp_path / "exports")
    run = exports.tagged("compare", ["models", "seed", "samples", "class", "steps", "guidance"],
                         lambda *a: tab.compare(store, *a), unused=lambda m: tab.unused_settings(store, m))
    gallery, _, _ = run(["tiny-gan", "tiny-ddpm"], 3, 4, "Trouser", 5, 2.0)
    names = [exports.download_name(image) for image, _ in gallery]
    assert names == ["compare-tiny-gan_seed-3_samples-4", "compare-tiny-ddpm_seed-3_samples-4_Trouser_steps-5_guidance-2"]


def test_the_xy_grids_image_and_file_have_one_name(store, tmp_path, monkeypatch):
    from pathlib import Path

    from playground import exports

    monkeypatch.setattr(exports, "EXPORT_DIR", tmp_path / "exports")
    names = ["checkpoint", "X", "X values", "Y", "Y values", "seed", "steps", "guidance", "truncation", "sampler",
             "class"]
    image, path = exports.tagged("xy_grid", names, lambda *a: tab.xy_grid(store, *a))(
        "tiny-gan", "checkpoint", "tiny-gan, tiny-ddpm", "seed", "0, 1", 0, 5, 2.0, 1.0, "ddim", tab.ANY_CLASS)
    assert Path(path).name == exports.download_name(image) + ".png"
    assert Path(path).name.startswith("xy-grid_checkpoint_tiny-gan+tiny-ddpm_seed_0+1")
    # the base checkpoint box, which a grid over checkpoints ignores, is not in the names (a walk's grid over four
    # models was named after a fifth); with checkpoint not an axis, it is
    image, path = exports.tagged("xy_grid", names, lambda *a: tab.xy_grid(store, *a))(
        "tiny-ddpm", "checkpoint", "tiny-gan", "seed", "0, 1", 0, 5, 2.0, 1.0, "ddim", tab.ANY_CLASS)
    assert "tiny-ddpm" not in Path(path).name and "tiny-ddpm" not in exports.download_name(image)
    _, path = exports.tagged("xy_grid", names, lambda *a: tab.xy_grid(store, *a))(
        "tiny-ddpm", "seed", "0, 1", "steps", "2, 4", 0, 5, 2.0, 1.0, "ddim", tab.ANY_CLASS)
    assert "tiny-ddpm" in Path(path).name
    # nor the settings an axis replaces or no model of the grid uses (a GAN grid named "seed" twice, and its
    # diffusion steps, guidance and sampler)
    name = Path(path).name
    assert "_seed-" not in name and "_steps-" not in name and "truncation" not in name and "guidance-2" in name
    _, path = exports.tagged("xy_grid", names, lambda *a: tab.xy_grid(store, *a))(
        "tiny-gan", "seed", "0, 1", "truncation", "0.5, 1", 0, 5, 2.0, 1.0, "ddim", tab.ANY_CLASS)
    assert Path(path).name.startswith("xy-grid_seed_0+1_truncation_0.5+1_tiny-gan") and "steps" not in Path(path).name
    assert "guidance" not in Path(path).name and "ddim" not in Path(path).name, Path(path).name


def test_the_time_per_image_is_not_a_first_calls_setup(store, monkeypatch):
    """The first model of a comparison showed 3.7 ms/image and the second 0.2: its first call paid a setup the
    others did not (a new worker thread's pool, a busy start-up). One slow call among fast ones is not the time."""
    from types import SimpleNamespace

    real = tab.get_family("gan")
    calls, clock = [], [0.0]  # the module's clock: each call takes what the test says, whatever the machine's load

    def sample(*a, **k):
        calls.append(1)
        # the first timed call (the first of all is the model's warm-up) pays a setup; the others take 2 ms
        clock[0] += 0.06 if len(calls) == 2 else 0.002
        return real.sample(*a, **k)

    monkeypatch.setattr(tab, "get_family", lambda name: SimpleNamespace(sample=sample))
    monkeypatch.setattr(tab, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    monkeypatch.setattr(tab, "_WARM", set())
    _, seconds, _ = tab._draw(store, "tiny-gan", 0, 4, None, 10, 1.0)
    assert seconds == pytest.approx(0.002) and len(calls) == 6  # the warm-up, then the best of 5


def test_an_xy_axis_no_model_uses_says_so(store):
    """'steps' on a GAN's grid drew identical rows with nothing said: such an axis is named "unused here"."""
    assert tab._ignores(store, "tiny-gan", "steps") and tab._ignores(store, "tiny-gan", "sampler")
    assert tab._ignores(store, "tiny-ddpm", "truncation") and not tab._ignores(store, "tiny-ddpm", "steps")
    assert not tab._ignores(store, "tiny-gan", "truncation") and not tab._ignores(store, "tiny-gan", "seed")
    said, _ = tab.xy_grid(store, "tiny-gan", "seed", "0, 1", "steps", "10, 50", 0, 10, 1.0, 1.0, "ddim", tab.ANY_CLASS)
    used, _ = tab.xy_grid(store, "tiny-ddpm", "seed", "0, 1", "steps", "10, 50", 0, 10, 1.0, 1.0, "ddim", tab.ANY_CLASS)
    assert said.shape[1] > used.shape[1]  # the corner's longer words widen the row headers' margin


def test_an_xy_axis_greys_the_control_it_replaces():
    """Truncation on an axis left the ψ slider live, and dragging it changed nothing: the grid's own control that
    an axis sets is not interactive and its label names the axis; the others stay live. The tab has each control
    once (built as components, the updates had drawn a second set of them on the page)."""
    import gradio as gr

    from playground.models import ModelStore

    params = ["checkpoint", "truncation", "sampler"]
    ckpt, trunc, sampler = tab.axis_controls(params, "truncation", "checkpoint")
    assert trunc["interactive"] is False and trunc["label"].endswith("set by the X axis")
    assert ckpt["interactive"] is False and ckpt["label"].endswith("set by the Y axis")
    assert ckpt["elem_classes"] == ["set-by-axis"] and trunc["elem_classes"] == []  # its name hidden (page.CSS)
    assert sampler["interactive"] is True and "axis" not in sampler["label"]
    ckpt, trunc, _ = tab.axis_controls(params, "seed", "steps")
    assert trunc["interactive"] is True and ckpt["label"] == "checkpoint (when not an axis)"
    assert ckpt["elem_classes"] == []
    with gr.Blocks() as demo:
        tab.build(ModelStore())
    labels = [getattr(b, "label", None) for b in demo.blocks.values()]
    assert labels.count("checkpoint: set by the X axis") == 1 and labels.count("truncation ψ (GANs)") == 1


def test_a_cell_whose_model_ignores_an_axis_says_so_under_it(store):
    """A GAN beside a DDPM with steps on an axis: the GAN's cells repeat down the steps, which read as a broken
    grid; each says "steps unused" on a line under it, and the DDPM's cells, which use the steps, say nothing."""
    image, _ = tab.xy_grid(store, "tiny-gan", "checkpoint", "tiny-gan, tiny-ddpm", "steps", "2, 4", 0, 2, 1.0, 1.0,
                           "ddim", "Bag")  # a class chosen: no "(any)" cell names the class it drew
    plain, _ = tab.xy_grid(store, "tiny-ddpm", "checkpoint", "tiny-ddpm", "steps", "2, 4", 0, 2, 1.0, 1.0, "ddim",
                           "Bag")
    rows = (image.shape[0] - tab.XY_MARGINS[1]) // 2
    assert rows == tab.CELL + 14 and plain.shape[0] == tab.XY_MARGINS[1] + 2 * tab.CELL  # a line only when needed
    left = image.shape[1] - 2 * tab.CELL  # the first column (the GAN's), then the DDPM's
    for j in range(2):
        band = image[tab.XY_MARGINS[1] + j * rows + tab.CELL: tab.XY_MARGINS[1] + (j + 1) * rows]
        assert (band[:, left:left + tab.CELL] < 200).any()  # written under the GAN's cell
        assert (band[:, left + tab.CELL:] == 255).all()  # nothing under the DDPM's


def test_the_minutes_plot_says_why_some_curves_start_late():
    """A walk saw the slow losses' curves begin minutes in, with nothing said: the text names each late start,
    read from the plot's own table."""
    import pandas as pd

    by_time = pd.DataFrame([(1.2, 90.0, "non-saturating"), (3.0, 40.0, "non-saturating"), (7.6, 80.0, "wgan-gp"),
                            (1.5, 85.0, "lsgan")], columns=["minutes", "FID_1000", "loss"])
    said = records.late_starts(by_time)
    assert "non-saturating got there in 1.2 minutes" in said and "wgan-gp after 7.6" in said and "lsgan" not in said
    assert records.late_starts(by_time[by_time["loss"] != "wgan-gp"]).endswith("1.2 minutes.")
    assert records.late_starts(by_time.iloc[:0]) == ""


def test_the_timeline_of_a_run_that_went_on_from_a_checkpoint_says_it_shows_the_last_slice(store, tmp_path):
    """ddpm-fashion's replay ends at step 7439 while its card says 38734 steps in all: its last run started from
    an earlier checkpoint, and the caption says so and where the slice begins."""
    import json

    shutil.copytree(store.path("tiny-ddpm"), tmp_path / "run")
    card = json.loads((tmp_path / "run" / "card.json").read_text())
    plain = records.timeline(ModelStore(tmp_path), "run", 0)[1]
    card.update(steps_total=int(card["steps"]) + 1000)
    (tmp_path / "run" / "card.json").write_text(json.dumps(card))
    said = records.timeline(ModelStore(tmp_path), "run", 0)[1]
    assert "last slice" not in plain and "last slice" in said
    assert f"after 1000 steps of the {card['steps_total']} it trained in all" in said


def test_a_text_to_image_cell_names_the_prompt_it_drew(store):
    """Compare has no prompt box: a walk saw the text-to-image column draw purple garments and nothing said what
    was asked. Each such cell says its prompt: "a <class>", with "(any)" the class its seed drew (as a conditional
    model's cell draws it; the captions' first prompt, "a small purple pullover", made every such cell one)."""
    assert tab._prompt_drawn(store, {"class": "Bag", "seed": 0}) == "a bag"
    assert tab._prompt_drawn(store, {"class": "Ankle boot", "seed": 0}) == tab._condition("latent_diffusion", 9)["prompt"]
    drawn = [tab._prompt_drawn(store, {"class": tab.ANY_CLASS, "seed": s}) for s in range(8)]
    assert drawn[3] == tab._condition("latent_diffusion", tab.cell_class({"class": tab.ANY_CLASS, "seed": 3}))["prompt"]
    assert len(set(drawn)) >= 4
