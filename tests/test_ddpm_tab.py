"""The diffusion tab's handlers, called without a browser on a tiny DDPM."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from playground import diffusion as tab
from playground.models import ModelStore

EXAMPLE = Path(tab.__file__).parent / "examples" / "7-sneaker.png"


@pytest.fixture(scope="module")
def store(tiny_ddpm, tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    shutil.copytree(tiny_ddpm, root / "tiny-ddpm")
    return ModelStore(root)


def test_forward_process_follows_the_closed_form():
    image = Image.open(EXAMPLE)
    clean, strip, text = tab.forward_process(image, 0, "linear")
    original = np.asarray(image.convert("L").resize((32, 32)), dtype=np.float64)
    seen = clean[::8, ::8, 0].astype(np.float64)  # upscaled 8x: one pixel per block
    assert np.abs(seen - original).mean() < 6  # t = 0: beta_0 = 1e-4, almost the image itself
    noisy, _, text = tab.forward_process(image, 999, "linear")
    # alpha_bar_999 ~ 4e-5 in two significant digits ("0.0000" read as a contradiction of sqrt's 0.006)
    assert f"$\\bar\\alpha_t$ = {float(tab._schedule('linear').alpha_bar[999]):.2e}," in text and "0.0000" not in text
    assert np.corrcoef(noisy[::8, ::8, 0].ravel(), original.ravel())[0, 1] < 0.2  # x_T is noise
    _, strip, cos_text = tab.forward_process(image, 500, "cosine")
    from playground.views import MIN_FRAME_PX, OUTPUT_WIDTH

    # the seven frames at >= MIN_FRAME_PX each, in rows that fit the output column (they were 48 px in one row)
    assert strip.shape[1] <= OUTPUT_WIDTH and strip.shape[0] >= 2 * MIN_FRAME_PX
    a = float(tab._schedule("cosine").alpha_bar[500])
    assert f"{a:.4f}" in cos_text
    for bad in [(image, 5000, "linear"), (image, float("nan"), "linear"), (image, 10, "sigmoid"), (None, 10, "linear")]:
        with pytest.raises(gr.Error):
            tab.forward_process(*bad)


def test_denoise_streams_and_exports(store):
    tab.MIN_UPDATE_S, saved = 0.0, tab.MIN_UPDATE_S  # this tiny model runs 100 steps in a blink
    try:
        runs = list(tab.denoise(store, "tiny-ddpm", 3, 2, "ddpm", 100, 0.0, "Trouser", 2.0))
    finally:
        tab.MIN_UPDATE_S = saved
    assert 10 < len(runs) <= tab.UPDATES + 2  # the view updates while the chain runs
    assert runs[0][2].startswith("starting: 100 steps") and runs[0][3].value is None  # said at once, old exports gone
    first_xt, *_ = runs[1]
    xt, x0, text, gif, mp4 = runs[-1]
    assert runs[1][3] is None and gif.endswith(".gif") and mp4.endswith(".mp4")
    assert re.fullmatch(r"done: 100 steps, ddpm, w = 2, \d+\.\d s", text), text  # how guided, how long it took
    # the finished images come before the GIF and MP4 are encoded (~0.35 s for 50 steps stood in front of them)
    shown_xt, shown_x0, making, *exports = runs[-2]
    assert making == f"{text}; making the GIF and MP4 ..." and all(e == gr.skip() for e in exports)
    assert np.array_equal(shown_xt, xt) and np.array_equal(shown_x0, x0)
    assert Image.open(gif).n_frames == tab.MAX_GIF_FRAMES and Path(mp4).stat().st_size > 1000
    # the result is held before the loop restarts (at 60 ms it flashed by)
    animation = Image.open(gif)
    animation.seek(animation.n_frames - 1)
    assert animation.info["duration"] == tab.RESULT_HOLD_S * 1000
    import av

    with av.open(mp4) as video:
        frames = [f.to_ndarray(format="gray").astype(int) for f in video.decode(video=0)]
    assert len(frames) == tab.MAX_GIF_FRAMES + tab.RESULT_HOLD_S * 20 - 1
    assert all(abs(f - frames[-1]).mean() < 2 for f in frames[-int(tab.RESULT_HOLD_S * 20):])
    # each frame names its panes in a white band above them (the exports leave the page without the boxes' labels)
    # (2 images: the exports' frames at 4/3 of the page's size, drawn at their own size with crisp titles; more
    # than 4 at 2/3, their encoding's cost growing with them)
    frame, pane = np.asarray(Image.open(gif).convert("RGB")), xt.shape[1] * 4 // 3
    assert frame.shape[0] >= xt.shape[0] * 4 // 3 + 30 and frame.shape[1] == 2 * pane + 8
    band = frame[:30]
    assert (band < 100).any(axis=2).sum() > 50 and (band[:, pane + 8:] < 100).any()  # text over both panes
    assert xt.shape == x0.shape and xt.shape[1] > xt.shape[0]  # two images side by side
    assert not np.array_equal(first_xt, xt)
    again = list(tab.denoise(store, "tiny-ddpm", 3, 2, "ddim", 10, 0.0, "Trouser", 2.0))[-1][0]
    same = list(tab.denoise(store, "tiny-ddpm", 3, 2, "ddim", 10, 0.0, "Trouser", 2.0))[-1][0]
    assert np.array_equal(again, same)  # a seed fixes the run


def test_a_long_run_says_the_time_left(store, monkeypatch):
    """DDPM's 1000 steps of 16 images ran 2.5 minutes on 2 cores with no end said: each update gives the time
    left at the pace so far (a clock here that moves 1 s a call)."""
    import itertools

    clock = itertools.count()
    monkeypatch.setattr(tab.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(tab, "MIN_UPDATE_S", 0.0)
    lines = [r[2] for r in tab.denoise(store, "tiny-ddpm", 0, 1, "ddim", 20, 0.0, "Trouser", 2.0)][1:-1]
    left = [int(m.group(1)) for line in lines if (m := re.search(r"about (\d+) s left", line))]
    assert len(left) >= 3 and left[-1] < max(left), lines  # counts down (the pace settles after a step or two)


def test_steps_comparison_uses_one_starting_noise(store):
    outs = list(tab.steps_comparison(store, "tiny-ddpm", 1, "ddim", tab.ANY_CLASS, 1.0))
    caption = outs[-1][1]  # capped at the model's T = 100; how far each is from the last, in numbers
    assert caption.startswith("mean pixel difference from the 100-step image (0 to 255): 10 steps ")
    assert ", 50 steps " in caption and "100 steps " not in caption and all(o[1] == "" for o in outs[:-2])  # until all have run
    assert outs[-1][2].startswith("done: 160 steps")
    widths = [o[0].shape[1] for o in outs if o[0] is not None]
    assert widths == sorted(widths) and widths[0] < widths[-1]


def test_why_so_many_steps_gets_better_or_equal_with_more_steps(tiny_ddpm_t1000, tmp_path):
    """What the sub-tab teaches: DDIM from one x_T at 10, 50, 200, 1000 steps converges, each image at
    least as close to the 1000-step one as the one before (x0_hat clipping once broke this at 1000 steps)."""
    shutil.copytree(tiny_ddpm_t1000, tmp_path / "t1000")
    *_, (shown, caption, progress) = tab.steps_comparison(ModelStore(tmp_path), "t1000", 0, "ddim", "Trouser", 3.0)
    assert progress.startswith("done: 1260")
    grey = shown[..., 0].astype(np.float64)  # four 16-px frames upscaled 4x, each under its title, 8 px apart
    band = shown.shape[0] - 64
    frames = [grey[band:band + 64, 72 * k:72 * k + 64] for k in range(4)]
    titles = [grey[:band, 72 * k:72 * k + 64] for k in range(4)]
    assert shown.shape[1] == 4 * 64 + 3 * 8 and band >= 30
    assert all((t < 128).sum() > 20 for t in titles)  # each image has its own caption ("10 steps", ...) drawn
    gaps = [np.abs(f - frames[-1]).mean() for f in frames[:-1]]
    assert gaps[0] >= gaps[1] >= gaps[2] and gaps[2] < 255 * 0.05, gaps
    said = [float(part.split()[-1]) for part in caption.split(": ", 1)[1].split(", ")]  # the caption's numbers
    assert caption.startswith("mean pixel difference from the 1000-step image") and len(said) == 3
    assert said == sorted(said, reverse=True)


@pytest.mark.parametrize("args", [
    ("../../x", 0, 1, "ddim", 10, 0.0, "Trouser", 2.0),
    ("tiny-ddpm", 0, 1, "ddim", 10**9, 0.0, "Trouser", 2.0),
    ("tiny-ddpm", float("nan"), 1, "ddim", 10, 0.0, "Trouser", 2.0),
    ("tiny-ddpm", 0, 500, "ddim", 10, 0.0, "Trouser", 2.0),
    ("tiny-ddpm", 0, 1, "euler", 10, 0.0, "Trouser", 2.0),
    ("tiny-ddpm", 0, 1, "ddim", 10, 2.0, "Trouser", 2.0),
    ("tiny-ddpm", 0, 1, "ddim", 10, 0.0, "Spaceship", 2.0),
    ("tiny-ddpm", 0, 1, "ddim", 10, 0.0, "Trouser", 1e9),
])
def test_bad_parameters_get_a_clear_message(store, args):
    with pytest.raises(gr.Error):
        list(tab.denoise(store, *args))


def test_the_alpha_bar_plot_marks_the_sliders_t():
    table = tab.curves_at(500, "cosine")
    marker = table[table["schedule"] == tab.MARKER]
    assert list(marker["t"]) == [500, 500, 500] and marker["alpha_bar_t"].min() == 0 and marker["alpha_bar_t"].max() == 1
    a = float(tab._schedule("cosine").alpha_bar[500])
    assert any(abs(v - a) < 1e-9 for v in marker["alpha_bar_t"])  # the line passes through the curve at t
    # the same series at every t: a plot keeps the series of its first table, so a per-t name was never redrawn
    assert set(table["schedule"]) == set(tab.curves_at(42)["schedule"]) == {"linear", "cosine", tab.MARKER}


def test_stop_ends_a_denoise_run_with_the_gif_and_mp4_of_the_steps_so_far(store):
    """The Stop button marks the run; the run ends after its current step and says where it stopped, with the
    GIF and MP4 of the steps it made (a stopped 1000-step run said "stopped" and lost its animation)."""
    from playground.wiring import request_stop, stoppable

    run = stoppable(lambda *a: (yield from tab.denoise(store, *a)), "ddpm_denoise", 2, 5, None)
    stream = run("tiny-ddpm", 0, 1, "ddpm", 50, 0.0, tab.ANY_CLASS, 1.0)
    assert next(stream)[2].startswith("starting: ")
    first = next(stream)
    assert first[2].startswith("step ")
    request_stop("ddpm_denoise")
    rest = list(stream)
    k = int(re.match(r"stopped after step (\d+)/50 \(t = \d+\): ", rest[-1][2]).group(1))
    assert 1 <= k < 50 and rest[-2][2].endswith("making the GIF and MP4 ...")
    gif, mp4 = rest[-1][3], rest[-1][4]
    with Image.open(gif) as im:
        assert 2 <= im.n_frames <= k + 1  # the frames kept so far and the last step's
    assert Path(mp4).stat().st_size > 0
    done = list(run("tiny-ddpm", 0, 1, "ddpm", 5, 0.0, tab.ANY_CLASS, 1.0))  # the next run is not stopped
    assert done[-1][2].startswith("done: 5 steps")


def test_a_stopped_run_says_at_which_step_it_stopped(store):
    """Runs that stop without exporting (`stoppable` with a message) put the step of the last status shown into
    "{at}": the line said "stopped" and not how far a 1000-step run got."""
    from playground.wiring import request_stop, stoppable

    def steps():
        for i in range(5):
            yield None, f"step {i + 1}/5 (t = {800 - 200 * i}), ~1 s left"

    run = stoppable(steps, "a_run", 1, 2, "stopped{at}: the last step shown stays")
    stream = run()
    next(stream), next(stream)
    request_stop("a_run")
    assert list(stream)[-1][1] == "stopped at step 2/5 (t = 600): the last step shown stays"
    def starting():
        yield None, "starting"
        yield None, "step 1/5 (t = 800)"  # computed, not shown: the Stop came first

    run = stoppable(starting, "a_run", 1, 2, "stopped{at}.")
    stream = run()
    next(stream)
    request_stop("a_run")
    assert list(stream)[-1][1] == "stopped."


def test_the_done_line_says_how_the_run_was_guided():
    """DDIM 1 step at w = 10 gave the same run as w = 3 (guidance only at t < 0.3 T), and the line said nothing."""
    from types import SimpleNamespace

    cfg = SimpleNamespace(guidance_interval=0.3, T=1000)
    assert tab.guidance_said(cfg, True, 10.0, [999]) == (", w = 10 on 0 of 1 step (this model is guided only at "
                                                         "t < 300, its guidance interval)")
    assert "on 2 of 4 steps" in tab.guidance_said(cfg, True, 3.0, [999, 666, 250, 0])
    assert tab.guidance_said(SimpleNamespace(guidance_interval=1.0, T=1000), True, 3.0, [999, 0]) == ", w = 3"
    assert tab.guidance_said(cfg, False, 3.0, [999]) == ", no class: unguided"


def test_a_frame_names_the_x_its_step_made():
    """A 1-step DDIM run's only frame showed the finished garment titled "x_t, t = 999"."""
    assert tab.frame_titles([999], 0) == ["x_t, t = 999", "predicted x0 at t = 999"]
    assert tab.frame_titles([999], 1) == ["x_0, the result", "the last step's x0 (t = 999)"]
    # one t per frame: "x_t, t = 979" stood beside "predicted x0 at t = 999"
    assert tab.frame_titles([999, 799, 599], 0) == ["x_t, t = 999", "predicted x0 at t = 999"]
    assert tab.frame_titles([999, 799, 599], 2) == ["x_t, t = 599", "predicted x0 at t = 599"]
    # a run of 10 steps stopped after 3: its last frame says so
    assert tab.frame_titles([999, 799, 599], 3, 10) == ["stopped after step 3/10", "predicted x0 at t = 599"]


def test_a_refused_forward_process_upload_gives_the_box_back_its_image():
    """A 1x1 PNG was refused ("too small") but stayed in the x0 box beside the sneaker's x_t: the box gets back the
    image its views are of, and not when it holds it already (the refusal was of t: no loop of refusals)."""
    import gradio as gr
    from PIL import Image

    from playground.diffusion import restored_x0

    sneaker = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8))
    tiny = Image.new("L", (1, 1))
    assert restored_x0(tiny, sneaker) is sneaker
    assert restored_x0(None, sneaker) is sneaker
    assert restored_x0(sneaker.copy(), sneaker) == gr.skip()
    assert restored_x0(tiny, None) == gr.skip()


def test_more_than_four_images_keep_the_gif_and_mp4_side_by_side_and_wide(store):
    """16 images' frames stacked x_t above x0_hat were ~900 px tall each on the page; side by side, the boxes get
    the layout ("wide") that shows them across the column's width."""
    runs = list(tab.denoise(store, "tiny-ddpm", 0, 5, "ddim", 3, 0.0, "Trouser", 2.0))
    assert "wide" in runs[0][3].elem_classes and "wide" in runs[0][4].elem_classes
    gif = Image.open(runs[-1][3])
    assert gif.width > 1.5 * gif.height > 0  # two 4-wide grids of 2 rows, side by side
    one = list(tab.denoise(store, "tiny-ddpm", 0, 1, "ddim", 3, 0.0, "Trouser", 2.0))
    assert "wide" not in one[0][3].elem_classes and Image.open(one[-1][3]).width > Image.open(one[-1][3]).height


def test_the_time_left_counts_guided_steps_at_their_cost(store, monkeypatch):
    """A guided step runs the network on a batch of two: counted as one, a 16-image run's time left read 53 s
    where 119 s remained (its guided steps, t < 300, come last)."""
    from playground import views

    import dataclasses

    cfg = dataclasses.replace(store.get("tiny-ddpm", family="ddpm").cfg, guidance_interval=0.5)
    costs = tab.step_costs(cfg, 16, True, 3.0, 20)
    assert costs[:10] == [1.0] * 10 and min(costs[10:]) > 1.8  # t >= T/2 unguided, the lower half guided
    assert tab.step_costs(cfg, 1, True, 3.0, 20)[-1] < 1.6  # one image: the batch's fixed cost weighs more
    assert tab.step_costs(cfg, 16, True, 1.0, 20) == tab.step_costs(cfg, 16, False, 3.0, 20) == [1.0] * 20
    clock = iter([0.0, 2.0])
    monkeypatch.setattr(views.time, "monotonic", lambda: next(clock))
    live = views.LiveUpdates(4, costs=[1, 1, 2, 2])
    assert live.left(1) == " · about 4 s left"  # 2 s for 2 units done, 4 units to go
