"""The app's handlers (called as plain functions) and its launch settings."""

import inspect
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground import about, classifier, gan
from playground.app import CACHE_CLEANUP, MAX_FILE_SIZE, QUEUE_MAX_SIZE, create_app, launch_kwargs
from playground.uploads import image_to_grey
from playground.views import short_hardware
from playground.models import ModelStore
from trainers.core.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def store(tmp_path, tiny_gan):
    shutil.copytree(tiny_gan, tmp_path / "tiny-gan")
    shutil.copytree(ModelStore().path("fashion-classifier"), tmp_path / "fashion-classifier")
    return ModelStore(tmp_path)


def test_gan_sample_grid_is_seeded(store):
    a = gan.sample_grid(store, "tiny-gan", 5, 4, 1.0)
    b = gan.sample_grid(store, "tiny-gan", 5, 4, 1.0)
    c = gan.sample_grid(store, "tiny-gan", 6, 4, 1.0)
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # one sample is drawn at twice the frames' least size (it was a 96-px image in a 700-px box), within the column
    from playground.views import GRID_WIDTH, MIN_FRAME_PX

    one = gan.sample_grid(store, "tiny-gan", 5, 1, 1.0)
    assert 2 * MIN_FRAME_PX <= one.shape[1] <= GRID_WIDTH, one.shape


@pytest.mark.parametrize("name, seed, n", [("../../etc", 0, 4), ("fashion-classifier", 0, 4),
                                           ("tiny-gan", float("nan"), 4), ("tiny-gan", 0, 10**9)])
def test_gan_handler_refuses_bad_parameters(store, name, seed, n):
    import gradio as gr

    with pytest.raises(gr.Error):
        gan.sample_grid(store, name, seed, n, 1.0)


def test_classifier_handler_recognises_a_test_garment(store, tmp_path):
    from trainers.core.data import load_dataset

    test = load_dataset("fashion-mnist", split="test", image_size=28)
    hits = 0
    for i in range(20):
        img = Image.fromarray(test.images[i, 0].numpy())
        probs, seen = classifier.classify(store, "fashion-classifier", img, "auto")
        assert seen.shape == (32, 32) and abs(sum(probs.values()) - 1) < 1e-4
        hits += max(probs, key=probs.get) == test.classes[int(test.labels[i])].replace("T-shirt/top", "T-shirt/top")
    assert hits >= 16


def test_the_classifier_says_when_an_image_is_unlike_its_data(store):
    """A new user uploaded noise and a photo-like image and got a confident class with no word of doubt."""
    from trainers.core.data import load_dataset

    test = load_dataset("fashion-mnist", split="test", image_size=28)
    quiet = 0
    for i in range(20):  # the test set's own garments: nothing to say for nearly all of them
        probs, seen = classifier.classify(store, "fashion-classifier", Image.fromarray(test.images[i, 0].numpy()))
        quiet += classifier.doubt(probs, seen) == ""
        assert classifier.read_note(store, "fashion-classifier", np.stack([seen] * 3, -1)) == classifier.doubt(probs, seen)
    assert quiet >= 18
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8))
    said = classifier.doubt(*classifier.classify(store, "fashion-classifier", noise))
    assert "unlike the data" in said and "only the 10 Fashion-MNIST classes" in said
    black = Image.new("L", (28, 28))  # an empty upload was read as "Bag 83%", unremarked
    said = classifier.doubt(*classifier.classify(store, "fashion-classifier", black))
    assert "(nearly) empty" in said
    lit = np.zeros((32, 32))
    lit[8:24, 10:22] = 200  # a centred garment-sized patch: nothing unlike the data, only the doubt of the bars
    unsure = classifier.doubt({"Bag": 0.4, "Coat": 0.35, "Shirt": 0.25}, lit)
    assert unsure.startswith("**The classifier is unsure:** Bag at 40%, then Coat at 35%")


def test_image_to_grey_handles_transparency_and_inversion():
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    rgba.paste((255, 255, 255, 255), (10, 10, 30, 30))
    arr = image_to_grey(rgba, 32, "auto")
    assert arr[0, 0] == 0 and arr[16, 16] == 255  # transparent -> black background, garment stays light
    white_bg = Image.new("L", (40, 40), 255)
    white_bg.paste(0, (10, 10, 30, 30))
    arr = image_to_grey(white_bg, 32, "auto")
    assert arr[0, 0] == 0 and arr[16, 16] == 255  # dark garment on white is inverted
    with pytest.raises(UserError):
        image_to_grey(None)
    with pytest.raises(UserError, match="1x1 px: too small"):  # it was stretched into a noise blob
        image_to_grey(Image.new("L", (1, 1), 200))
    assert image_to_grey(Image.new("L", (8, 8), 0)).shape == (32, 32)


def test_about_lists_models_with_cards(store):
    rows = about.models_table(store)
    assert {r[0] for r in rows} == {"tiny-gan", "fashion-classifier"}
    table = about.models_markdown(store).splitlines()
    assert len(table) == 2 + len(rows) and all(line.count(" | ") == 6 for line in table[2:])
    assert short_hardware("CPU x86_64, 2 cores (torch threads 1)") == "CPU, 1 of 2 cores"
    assert short_hardware("CPU x86_64, 2 cores") == "CPU, 2 cores"
    assert short_hardware("1x NVIDIA H100 80GB HBM3") == "1x H100 80GB HBM3"
    card, samples = about.model_card(store, "fashion-classifier")
    card = json.loads(card)
    assert card["config"]["family"] == "classifier" and "test_accuracy" in card["card"]["metrics"]
    assert samples is not None and samples.ndim == 3


def test_launch_settings_are_safe(store):
    kw = launch_kwargs("127.0.0.1", 7860, False, store.root)
    assert kw["server_name"] == "127.0.0.1" and kw["max_file_size"] == MAX_FILE_SIZE
    assert kw["allowed_paths"] == [] and str(store.root) in kw["blocked_paths"]
    assert kw["show_error"] is False and kw["ssr_mode"] is False
    assert kw["run_history"] is False  # no copy of every run's inputs and outputs in the visitor's browser
    demo = create_app(store.root)
    assert demo._queue.max_size == QUEUE_MAX_SIZE
    assert demo.delete_cache == CACHE_CLEANUP and CACHE_CLEANUP[1] <= 3600  # Gradio's file cache is pruned
    api_names = {d.api_name for d in demo.fns.values() if d.api_name}
    assert {"gan_samples", "gan_walk", "gan_loop", "gan_edit", "classify", "model_card", "vae_interpolate",
            "vae_latent_map", "vae_arithmetic", "vae_prior_samples", "vae_denoise", "ddpm_denoise", "ddpm_steps",
            "ddpm_forward", "lab_play", "lab_step", "lab_reset", "lab_train", "lab_save", "compare", "timeline", "xy_grid", "pix2pix", "pix2pix_drawing", "cyclegan",
            "restore_settings"} <= api_names


def test_exports_are_pruned_after_their_time(monkeypatch, tmp_path):
    import os
    import time

    from playground import exports
    monkeypatch.setattr(exports, "EXPORT_DIR", tmp_path / "exports")
    old = exports.export_file(b"GIF89a old", "walk", ".gif")
    os.utime(old, (time.time() - exports.EXPORT_TTL_S - 1,) * 2)
    new = exports.export_file(b"GIF89a new", "walk", ".gif")
    assert not os.path.exists(old) and open(new, "rb").read() == b"GIF89a new"


def test_no_trigger_starts_two_events_that_would_rerun_each_other():
    """Gradio's page defers a change that comes while an event on it runs, then re-sends it to every event on
    that trigger: two such events re-ran each other for as long as the page was open (typing a prompt, or a
    CycleGAN example setting image and domain at once). Each trigger starts one."""
    import gradio as gr

    from playground.app import create_app
    from playground.wiring import one_event_per_change

    assert one_event_per_change(create_app().config) == []
    with gr.Blocks() as demo:  # the check sees the pattern
        a, b = gr.Textbox(), gr.Textbox()
        gr.on([a.change], lambda x: x, a, b)
        a.change(lambda x: x, a, b)
    assert len(one_event_per_change(demo.config)) == 1


# the actions a tab does not open with a result of: each with the reason a user sees
NOT_OPENED = {
    "classify": "the tab opens on a prediction computed as it is built",
    "classify_drawing": "the pad opens empty, ready to draw",
    "pix2pix": "shares its outputs with the drawing's opening",
    "lab_play": "the 2-D lab opens on its step 0 (lab_reset)", "lab_step": "the same", "lab_train": "a user's run",
    "lab_save": "saves a user's run", "lesson_run": "a lesson step's view opens with the step",
    "model_card": "About opens on the first card, rendered as it is built", "timeline": "Compare's own opening",
    "restore_settings": "an export dropped by the user",
    # the page's load events are at their budget of outputs (test_e2e's plain page): the unCLIP page opens on its
    # prompt's images, the embedding map and variations; these two sections below them wait for their buttons
    "unclip_interpolate": "the load events' budget", "unclip_text_diff": "the load events' budget",
}


def test_every_public_endpoint_is_named_on_purpose():
    """An event left with Gradio's default name is an API endpoint nobody meant (`/lambda`: Train live's Save
    button greyed, callable by any client)."""
    import re

    demo = create_app()
    named = [d.api_name for d in demo.fns.values() if d.api_visibility != "private"]
    assert named and not [n for n in named if re.fullmatch(r"(lambda|unnamed|fn|false|true)(_\d+)?", str(n))]


def test_every_action_opens_with_its_result_or_says_why_not():
    """Every sub-tab opens on its main action's result (a walk opened six of them on empty boxes); the costly
    "Why so many steps" comparison and unCLIP's embedding map (seconds) are computed by the start-up work and
    shown when their tabs are opened."""
    from playground.wiring import Opening

    demo = create_app()
    late = [w.api for w in demo.warmers if isinstance(w, Opening)]
    opened = {o.api for o in demo.openings} | set(late)
    public = {d.api_name for d in demo.fns.values() if d.api_visibility == "public"}
    assert public - opened - {n for n in public if n.startswith("load_example")} == set(NOT_OPENED)
    assert late == ["ddpm_steps", "unclip_embeddings"]


def test_an_opening_shown_when_its_tab_opens_never_replaces_a_users_result():
    import gradio as gr

    from playground.wiring import Opening, shown_when_opened

    runs = []

    def fn(seed):
        runs.append(seed)
        return np.full((8, 8), 100 + seed, np.uint8), f"seed {seed}"

    opening = Opening("demo", ["seed"], fn, [0], 2)
    with gr.Blocks() as demo:
        with gr.Tab("late") as tab:
            seed = gr.Number(0)
            image, text = gr.Image(), gr.Markdown()
        shown_when_opened(tab, opening, [seed], [0], [image, text])
    fill = next(d.fn for d in demo.fns.values() if d.targets == [(tab._id, "select")])
    shown, said = fill(None, 0)  # an empty tab, on the defaults: the opening, computed once
    assert said == "seed 0" and np.asarray(shown).mean() == 100
    fill(None, 0)
    assert runs == [0]
    skip = gr.skip()
    assert fill(np.zeros((8, 8)), 0) == (skip, skip)  # a result on screen stays
    assert fill(None, 3) == (skip, skip)  # settings changed: the opening is not of them
    assert runs == [0]


def test_an_openings_done_line_says_it_ran_when_the_app_started():
    """"done: 1260 steps in 20.0 s" on a tab just opened read as a run that had just happened."""
    from playground.wiring import Opening

    def run(seed):
        yield None, "running 3 steps: 1/3"
        yield np.zeros((8, 8), np.uint8), "done: 3 steps in 20.0 s. The images converge."

    image, said = Opening("demo", ["seed"], run, [0], 2)()
    assert said == "example run when the app started: 3 steps in 20.0 s. The images converge."
    assert Opening("demo", ["seed"], lambda seed: "seed done: 1", [0], 1)() == "seed done: 1"  # only a done line


def test_opening_a_tab_refreshes_its_checkpoint_lists():
    """One list takes a bare update (a list would become the dropdown's value), several a tuple."""
    import gradio as gr

    from playground.app import _refreshed

    one = _refreshed([lambda: ["a", "b"]])
    assert isinstance(one, gr.Dropdown) and [c[0] for c in one.choices] == ["a", "b"]
    two = _refreshed([lambda: ["a"], lambda: ["c"]])
    assert isinstance(two, tuple) and len(two) == 2


def test_start_up_refuses_dependencies_below_their_security_floors():
    from playground.app import check_dependency_floors

    check_dependency_floors()  # the pinned versions pass
    for name, old in [("gradio", "4.44.1"), ("pillow", "10.2.0"), ("torch", "2.5.1+cu121")]:
        with pytest.raises(RuntimeError, match=f"{name} {old.split('+')[0]}|{name} {old}"):
            check_dependency_floors({name: old})


def test_gradios_image_cache_is_written_atomically(tmp_path):
    """Concurrent identical outputs rewrite the same content-addressed cache file: a reader must never see
    it short (Gradio's own write truncates it first; `harden_gradio_cache` renames a finished file into place)."""
    import os
    import threading
    from pathlib import Path

    from gradio import processing_utils
    from PIL import Image

    from playground.uploads import harden_gradio_cache

    harden_gradio_cache()
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    path = processing_utils.save_pil_to_cache(image, str(tmp_path), format="png")
    full = os.path.getsize(path)
    stop, short = threading.Event(), []

    def write():
        while not stop.is_set():
            assert processing_utils.save_img_array_to_cache(np.asarray(image), str(tmp_path), format="png") == path

    def read():
        for _ in range(3000):
            with open(path, "rb") as f:
                n = len(f.read())
            if n != full:
                short.append(n)

    writers = [threading.Thread(target=write) for _ in range(3)]
    for w in writers:
        w.start()
    read()
    stop.set()
    for w in writers:
        w.join()
    assert not short, f"{len(short)} reads saw a partial file, e.g. {short[:3]} of {full} bytes"
    assert not list(Path(path).parent.glob(".*.tmp"))


def test_about_renders_each_card_for_people():
    """A card as people read it (not raw JSON): what it is, the command, its lineage and a metrics table."""
    from playground import about

    store = ModelStore(ROOT / "checkpoints")
    text = about.card_markdown(store, "ddpm-fashion")
    card = json.loads((ROOT / "checkpoints" / "ddpm-fashion" / "card.json").read_text())
    assert text.startswith("#### ddpm-fashion") and f"{card['steps_total']} training steps in all" in text
    assert card["command"] in text and "| metric | value |" in text
    assert f"| fid | {card['metrics']['fid']:.4g} |" in text
    assert text.count("H100") >= 2  # the lineage says which runs used the lent GPU
    # a run resumed in slices: its commands one a line, not the list as Python writes it ("['python -m ...")
    listed = next(p.parent.name for p in sorted((ROOT / "checkpoints").glob("*/card.json"))
                  if isinstance(json.loads(p.read_text()).get("command"), list))
    commands = json.loads((ROOT / "checkpoints" / listed / "card.json").read_text())["command"]
    text = about.card_markdown(store, listed)
    assert "['python" not in text and "\n".join(commands) in text
    # a preview's caption says a class per row only of a conditional model (an unconditional GAN's said it too)
    assert "a class per row" in about.grid_label(store, "cdcgan-ac-fashion")
    assert "a class per row" in about.grid_label(store, "ddpm-fashion")
    assert "in no order of class" in about.grid_label(store, "dcgan-ns-20min-fashion")


def test_a_user_error_logs_one_line_not_a_stack_trace(caplog):
    import gradio as gr

    from playground.errors import user_errors

    @user_errors
    def handler():
        raise UserError("the seed must be a whole number")

    with caplog.at_level("WARNING", logger="playground"), pytest.raises(gr.Error) as e:
        handler()
    assert e.value.print_exception is False  # Gradio prints no traceback for it
    assert [r.getMessage() for r in caplog.records] == ["user error in handler: the seed must be a whole number"]


def test_gradios_own_input_checks_log_one_line_not_a_stack_trace(caplog):
    """A value Gradio refuses before any handler runs (not among a dropdown's choices, past a slider's
    maximum) reaches the user with Gradio's message, up until closed like the app's own refusals (Gradio's
    closed after 10 s: a walker who typed a negative seed looked back and saw nothing), and the log gets one
    line, not a traceback."""
    import gradio as gr

    from playground.uploads import quiet_validation

    with gr.Blocks() as demo:
        choice = gr.Dropdown(["a", "b"], value="a", label="checkpoint")
        n = gr.Slider(1, 64, 16, step=1, label="samples")
    quiet_validation(demo)
    for component, bad, message in [(choice, "../../etc/passwd", "checkpoint: Value: .*not in the list of choices"),
                                     (n, 400, "samples: Value 400 is greater than maximum value 64")]:
        with caplog.at_level("WARNING", logger="playground"), pytest.raises(gr.Error, match=message) as e:
            component.preprocess(bad)
        assert e.value.print_exception is False and e.value.duration is None
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["user error in checkpoint",
                                                                      "user error in samples"]
    assert choice.preprocess("b") == "b" and n.preprocess(3) == 3  # good values pass as before


def test_an_image_input_that_pillow_cannot_read_gets_a_clear_message(tmp_path, caplog):
    """Gradio decodes an uploaded image before any handler; a text file named .png failed there silently."""
    import gradio as gr
    from gradio.data_classes import ImageData

    from playground.uploads import quiet_validation

    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    with gr.Blocks() as demo:
        image = gr.Image(type="pil", label="image")
    quiet_validation(demo)
    with caplog.at_level("WARNING", logger="playground"), pytest.raises(gr.Error, match="not an image") as e:
        image.preprocess(ImageData(path=str(fake)))
    assert "PNG" in e.value.message and e.value.print_exception is False


def test_start_up_leaves_the_heavy_imports_and_first_results_to_the_background():
    """Building the app with the shipped models imports neither diffusers/transformers nor torchvision (with
    torch._dynamo behind them: seconds each, the page answered after ~27 s on a busy machine). The warm-up
    imports them once the server is up; the VAE map and the forward process, drawn at build time before,
    are openings now, with a result."""
    import subprocess
    import sys

    code = ("import sys; from playground.app import create_app; create_app(); "
            "print([m for m in ('diffusers', 'transformers', 'torchvision', 'torch._dynamo') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
    demo = create_app()
    openings = {o.api: o for o in demo.openings}
    scatter, manifold = openings["vae_latent_map"]()  # images as served (tagged with their settings)
    assert np.asarray(scatter).ndim == 3 and np.asarray(manifold).std() > 0
    noisy, over_t, numbers = openings["ddpm_forward"]()
    assert np.asarray(noisy).std() > 0 and np.asarray(over_t).ndim == 3 and numbers.startswith("**t = 250**")
    # Translation opens on a drawn outline's result, the outline shown left of it (the tab's text says so)
    drawing = np.asarray(openings["pix2pix_drawing"]._run.args[1].convert("L"))
    assert drawing.shape == (280, 280) and 0.02 < (drawing < 128).mean() < 0.2  # dark lines on white
    pair, _, text = openings["pix2pix_drawing"]()
    assert "reads the output as **Sneaker**" in text and np.asarray(pair).std() > 0


def test_app_py_runs_torch_with_one_thread_per_handler_thread_unless_told_otherwise():
    """Gradio runs handlers in worker threads, where each of torch's OpenMP regions cost 40-90 us with 2 threads
    on 2 cores (`python -m bench --only threads`: text to image took 2.3x as long). app.py sets OMP_NUM_THREADS=1
    before torch loads, and keeps a value the user set."""
    import os
    import subprocess
    import sys

    code = ("import threading, app, torch; got = []; "
            "t = threading.Thread(target=lambda: got.append(torch.get_num_threads())); t.start(); t.join(); "
            "print(got[0])")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    for given, want in ((None, "1"), ("2", "2")):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                             env=env if given is None else {**env, "OMP_NUM_THREADS": given})
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.split()[-1] == want, (given, out.stdout)


def test_the_lazy_library_imports_resolve_once_under_concurrent_first_calls():
    """diffusers' and transformers' first `from X import Y` is not thread-safe; every path that needs them
    resolves them first, under one lock, and only once."""
    from concurrent.futures import ThreadPoolExecutor

    from trainers.latent_diffusion import sampling

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: sampling.resolve_lazy_imports(), range(16)))
    import diffusers

    assert sampling._resolved and diffusers.StableDiffusionPipeline.__name__ == "StableDiffusionPipeline"


def test_a_refused_action_keeps_the_results_on_screen(store):
    """A refusal (a gr.Error) leaves what was shown as it was, under its message: the results used to be emptied,
    and new users lost the walk they were studying to a typo in the next one's seeds. No named action is
    followed by a step that empties its outputs on failure (a step on failure may give a run's button back)."""
    import gradio as gr

    demo = create_app(store.root)
    deps = list(demo.fns.values())
    wired = {d._id: d for d in deps if d.api_name in {"gan_walk", "vae_interpolate", "text_to_image", "pix2pix",
                                                       "ddpm_denoise", "classify", "xy_grid"}}
    assert len(wired) >= 6
    after = [d for d in deps if d.trigger_only_on_failure and d.trigger_after in wired]
    assert any(isinstance(o, gr.Button) for d in after for o in d.outputs)  # the streamed runs' buttons come back
    emptying = [wired[d.trigger_after].api_name for d in after
                if {o._id for o in d.outputs} & {o._id for o in wired[d.trigger_after].outputs}]
    assert not emptying, f"{emptying} empty their results when refused"


def test_a_cold_load_stalls_neither_other_models_nor_loads_twice(store, tiny_gan, monkeypatch):
    """ModelStore locks per checkpoint: while one model loads (a cold LDM takes seconds), another model's cache
    hit answers at once; two requests for the same cold model load it once."""
    import threading
    import time

    from playground import models

    shutil.copytree(tiny_gan, store.root / "slow")
    store.get("tiny-gan")  # cached
    real, calls, started = models.load_model, [], threading.Event()

    def slow_load(path, device):
        calls.append(Path(path).name)
        if Path(path).name == "slow":
            started.set()
            time.sleep(2.0)
        return real(path, device)

    monkeypatch.setattr(models, "load_model", slow_load)
    loaders = [threading.Thread(target=store.get, args=("slow",)) for _ in range(2)]
    for t in loaders:
        t.start()
    assert started.wait(10)
    t0 = time.monotonic()
    assert store.get("tiny-gan").family == "gan"
    assert time.monotonic() - t0 < 1.0  # not behind the 2-s load
    for t in loaders:
        t.join()
    assert calls.count("slow") == 1 and store.get("slow") is store.get("slow")


def test_light_strokes_on_a_cleared_editor_reach_the_model_as_drawn():
    """A VAE editor's brush starts white; on a cleared editor (its canvas white) the flattened drawing was plain
    white and refused as empty. The strokes come from the editor's layer instead: light on black."""
    from playground.uploads import as_image

    white = Image.new("RGB", (280, 280), "white")
    layer = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    layer.paste((255, 255, 255, 255), (100, 60, 180, 220))  # a white block drawn with the white brush
    grey = image_to_grey(as_image({"background": None, "layers": [layer], "composite": white}), 32)
    assert grey[16, 16] > 200 and grey[2, 2] < 30  # the stroke light, the rest black
    with pytest.raises(UserError, match="empty"):  # nothing drawn at all: still refused
        as_image({"background": None, "layers": [Image.new("RGBA", (280, 280), (0, 0, 0, 0))], "composite": white})


def test_every_handler_gets_the_event_data_it_asks_for():
    """A handler that takes `evt: gr.SelectData` receives it only if Gradio can resolve the annotation: under
    `from __future__ import annotations` with gradio imported inside a function it could not, and Inpaint's
    gallery pick received nothing and failed on every click (no message)."""
    import typing

    import gradio as gr

    demo = create_app(ROOT / "checkpoints")
    wanting = 0
    for dep in demo.fns.values():
        fn = inspect.unwrap(dep.fn) if dep.fn else None
        if fn is None:
            continue
        raw = [p for p in inspect.signature(fn).parameters.values() if "Data" in str(p.annotation)]
        if not raw:
            continue
        wanting += 1
        hints = typing.get_type_hints(fn)  # NameError: the annotation does not resolve where Gradio looks
        assert any(isinstance(h, type) and issubclass(h, gr.EventData) for h in hints.values()), fn
    assert wanting >= 3  # the VAE's two and Inpaint's


def test_the_theme_serves_whole_font_files_only():
    """Gradio's SemiBold Source Sans Pro is a 5-KB subset without "A": headings read "GAN" with a small thin A.
    Every face the app's theme declares must be a whole font file."""
    import re
    from pathlib import Path

    import gradio as gr

    from playground.app import theme

    static = Path(gr.__file__).parent / "templates" / "frontend" / "static" / "fonts"
    faces = [f for f in theme()._font if isinstance(f, gr.themes.LocalFont)]
    files = re.findall(r"static/fonts/([^']+\.woff2)", "\n".join(f.stylesheet()["css"] for f in faces))
    assert files and all((static / f).stat().st_size > 20_000 for f in files), files


def test_the_side_by_side_goes_when_its_image_changes(store):
    """Translation → CycleGAN: a new image (or domain) above left the old comparison below, captioned as if of the
    new image and naming the old one's classes."""
    from playground import translation

    demo = create_app(store.root)
    deps = [d for d in demo.fns.values() if d.fn is not None and inspect.unwrap(d.fn) is translation.stale_views]
    assert len(deps) == 1 and {e for _, e in deps[0].targets} == {"change"} and len(deps[0].targets) == 3
    for shown in ("cyc-vs-dual", "cyc-strip"):  # one event clears both (two re-ran each other forever)
        assert next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == shown) in deps[0].outputs
    assert translation.stale_translation(np.zeros((4, 4, 3), np.uint8))[2] == translation.STALE_TRANSLATION
    assert translation.stale_side_by_side(np.zeros((4, 4, 3), np.uint8)) == (None, translation.STALE)
    import gradio as gr

    assert translation.stale_side_by_side(None) == (gr.skip(), gr.skip())  # nothing shown: nothing to clear


def test_a_translation_goes_when_its_checkpoint_changes(store):
    """Translation: a walk switched CycleGAN's checkpoint to DualGAN and read CycleGAN's round trip and cycle error
    under DualGAN's name; Pix2Pix kept the sketch model's output under the silhouette model's."""
    import gradio as gr

    from playground import translation

    demo = create_app(store.root)
    for fn, shown in ((translation.stale_cyclegan_model, "cyc-strip"), (translation.stale_pix2pix_model, "p2p-pair")):
        deps = [d for d in demo.fns.values() if d.fn is not None and inspect.unwrap(d.fn) is fn]
        assert len(deps) == 1 and [e for _, e in deps[0].targets] == ["change"]
        trigger = demo.blocks[deps[0].targets[0][0]]
        assert isinstance(trigger, gr.Dropdown) and trigger.label.startswith("checkpoint")
        assert next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == shown) in deps[0].outputs
        picture, heat, note = fn(np.zeros((4, 4, 3), np.uint8))
        assert picture is None and heat is None and "checkpoint changed" in note
        assert fn(None) == (gr.skip(),) * 3  # nothing shown: nothing to clear


def test_a_refusal_says_the_results_on_screen_are_from_before(store):
    """A refused action leaves the last results on screen (`wire`); beside the new error they read as its own,
    unless the message says they are from before. Said for a refusal, not for an error after a run's frames."""
    import gradio as gr

    from playground.wiring import UNCHANGED, said_unchanged

    demo = create_app(store.root)
    dep = next(d for d in demo.fns.values() if d.api_name == "gan_samples")
    with pytest.raises(gr.Error) as e:
        dep.fn("tiny-gan", float("nan"), 4, 1.0)
    assert e.value.message.startswith("seed must be") and e.value.message.endswith(UNCHANGED)

    def refused():
        raise gr.Error("no")
        yield 1

    def failed_midway():
        yield 1
        raise gr.Error("no")

    with pytest.raises(gr.Error) as e:
        list(said_unchanged(refused)())
    assert e.value.message == f"no. {UNCHANGED}"  # "…then translate it Nothing on screen…" ran two into one
    with pytest.raises(gr.Error) as e:
        list(said_unchanged(failed_midway)())
    assert e.value.message == "no"


def test_a_client_is_its_connections_address():
    """Per-client caps key on the connection's address (uvicorn resolves a trusted proxy's X-Forwarded-For into
    it; a header the client writes itself is not believed), else the session; outside an event, no client."""
    from types import SimpleNamespace

    from gradio.context import LocalContext

    from playground.wiring import client

    assert client() is None
    for request, expected in ((SimpleNamespace(headers={"x-forwarded-for": "6.6.6.6"}, session_hash="s",
                                                client=SimpleNamespace(host="10.0.0.7")), "10.0.0.7"),
                              (SimpleNamespace(headers={}, client=None, session_hash="s"), "s")):
        token = LocalContext.request.set(request)
        try:
            assert client() == expected
        finally:
            LocalContext.request.reset(token)


def test_a_streamed_run_shows_its_first_step_then_paced_steps_and_never_its_last(monkeypatch):
    """One rule for every streamed run (DDPM, text to image, inpainting): step 0 at once, then at most `at_most`
    updates at least `interval_s` apart, counted from when the last was shown, and none at the last step."""
    from playground import views

    clock = [0.0]
    monkeypatch.setattr(views.time, "monotonic", lambda: clock[0])

    def shown(steps, at_most, wait_after_each):
        live, out = views.LiveUpdates(steps, at_most, interval_s=0.1), []
        for i in range(steps):
            clock[0] += 0.06  # a step's compute
            if live.due(i):
                out.append(i)
                clock[0] += wait_after_each  # the page's side of the update
                live.shown()
        return out

    assert shown(2, 60, 0.0) == [0] and shown(2, 60, 5.0) == [0]  # a 2-step run: the same under any load
    assert shown(100, 10, 0.0) == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]  # every 10th (0.6 s apart)
    assert shown(100, 100, 0.0) == list(range(0, 99, 2))  # every step allowed: paced by the 0.1 s
    assert shown(100, 100, 1.0) == list(range(0, 99, 2))  # a slow page does not make the next come sooner...
    assert shown(10, None, 0.2) == [0, 2, 4, 6, 8]  # ...at most is optional
    assert shown(10, None, 0.0)[-1] == 8 and shown(11, None, 0.0)[-1] == 8  # never the last step


def test_a_refused_upload_says_it_cleared_the_classifiers_box_and_prediction(store):
    """Classifier → Upload: a refused file (1 x 1 px) empties the box and the prediction (an old prediction beside
    no image read as the new one's). Its message says so: it said only why, and the next Classify's "Nothing on
    screen was changed" seemed to contradict the emptied screen."""
    import gradio as gr

    from playground.wiring import UNCHANGED

    demo = create_app(store.root)
    upload = next(d for d in demo.fns.values() if d.targets and d.targets[0][1] == "upload"
                  and any(getattr(b, "elem_id", None) == "clf-seen" for b in d.outputs))
    with pytest.raises(gr.Error) as e:
        upload.fn("fashion-classifier", Image.new("RGB", (1, 1)), "auto")
    assert "1x1" in e.value.message and e.value.message.endswith("The box and the prediction were cleared.")
    assert UNCHANGED not in e.value.message
    good = Image.fromarray(np.full((28, 28), 200, np.uint8))
    probs, seen = upload.fn("fashion-classifier", good, "auto")
    assert len(probs) == 10 and seen.shape[:2] == (32, 32)


def test_why_so_many_steps_reads_its_own_class_and_guidance(store):
    """Diffusion → Why so many steps used the Reverse process sub-tab's class: its controls are its own."""
    demo = create_app(store.root)
    deps = {d.api_name: d for d in demo.fns.values() if d.api_name in ("ddpm_denoise", "ddpm_steps")}

    def control(dep, label):
        return next(b for b in dep.inputs if getattr(b, "label", "").startswith(label))

    for label in ("class", "guidance"):
        assert control(deps["ddpm_steps"], label) is not control(deps["ddpm_denoise"], label)


def test_an_untouched_drawing_pad_is_said_to_be_empty(store):
    """Classifier → Draw with nothing drawn said the upload's "no image given: upload one ...", where
    Translation's pad says it is empty."""
    import gradio as gr

    for empty in (None, {"background": None, "layers": [], "composite": None}):
        with pytest.raises(gr.Error) as e:
            classifier.classify_drawing(store, "fashion-classifier", empty)
        assert e.value.message.startswith("the drawing pad is empty")
        # headed as what it is: "Error" over "draw a garment on it" read as if the app had failed
        assert e.value.title == "Nothing given yet"
    with pytest.raises(gr.Error) as e:  # a file that is not an image is an error
        classifier.classify(store, "fashion-classifier", {"composite": None, "layers": [], "background": None})
    assert e.value.title == "Error"
    shape = np.full((28, 28), 255, np.uint8)
    shape[4:24, 9:19] = 0  # a dark block drawn on white
    drawn = Image.fromarray(shape)
    probs, _ = classifier.classify_drawing(store, "fashion-classifier", {"background": None, "layers": [],
                                                                            "composite": drawn})
    assert len(probs) == 10


def test_a_stream_computes_its_next_frame_while_the_page_takes_the_last():
    """Gradio asks for a stream's next frame only after encoding and sending the last, so a diffusion run's
    compute stood still at every frame (`run_ahead`). Ahead: the same frames in order, the next one computed
    while the page holds the last and never more than one further, the caller's context carried, errors raised
    as they were, and a stream closed early closes the handler with its worker."""
    import contextvars
    import threading

    import gradio as gr

    from playground.wiring import run_ahead

    who = contextvars.ContextVar("who", default=None)
    started, computing, log = [], threading.Event(), {}

    def handler(n):
        try:
            for k in range(n):
                started.append(k)
                if k == 1:
                    computing.set()
                yield k, who.get()
        finally:
            log["closed"] = threading.current_thread().name

    assert run_ahead(len) is len  # a plain handler stays as it is
    who.set("page 1")
    stream = run_ahead(handler)(5)
    assert next(stream) == (0, "page 1")
    assert computing.wait(10)  # frame 1 computed while the page held frame 0 (plain: only at the next `next`)
    threading.Event().wait(0.2)
    assert started == [0, 1, 2]  # frame 1 waits in the hand-over, frame 2 is ready: no further
    assert list(stream) == [(k, "page 1") for k in range(1, 5)]
    assert log["closed"].startswith("ahead-")

    log.clear(), started.clear()
    stream = run_ahead(handler)(1000)
    next(stream)
    stream.close()  # returns at once (Gradio may close a stream on its event loop); the worker ends itself
    for worker in [t for t in threading.enumerate() if t.name.startswith("ahead-")]:
        worker.join(10)
    assert "closed" in log and len(started) < 20  # closed at its next frame
    assert not [t for t in threading.enumerate() if t.name.startswith("ahead-")]

    def refused():
        yield 1
        raise gr.Error("no such checkpoint")

    stream = run_ahead(refused)()
    assert next(stream) == 1
    with pytest.raises(gr.Error, match="no such checkpoint"):
        next(stream)


def test_gradios_page_is_served_with_the_status_edits_and_nothing_else(tmp_path):
    """`serve_edited_gradio_page`: the pinned Gradio's two page scripts carry every text the edits replace, once;
    the server sends them edited (and only so: the rest of each is Gradio's, byte for byte), valid JavaScript, and
    every other asset as Gradio ships it. A Gradio build without the texts gets nothing edited."""
    import subprocess

    import gradio as gr
    from fastapi.testclient import TestClient
    from gradio import route_utils

    from playground.page import GRADIO_PAGE_EDITS, edited_gradio_scripts, serve_edited_gradio_page

    folder = Path(route_utils.BUILD_PATH_LIB)
    names = serve_edited_gradio_page()
    assert sorted(n.split("-")[0] + "-" for n in names) == sorted(GRADIO_PAGE_EDITS), names
    with gr.Blocks() as demo:
        gr.Markdown("x")
    client = TestClient(gr.routes.App.create_app(demo))
    for name in names:
        served = client.get(f"/assets/{name}")
        assert served.status_code == 200 and "javascript" in served.headers["content-type"]
        expected = (folder / name).read_text(encoding="utf-8")
        for old, new in GRADIO_PAGE_EDITS[name.split("-")[0] + "-"]:
            assert old in expected and old not in served.text and new in served.text
            expected = expected.replace(old, new)
        assert served.text == expected
        if shutil.which("node"):  # it parses: a broken edit would leave a blank page
            script = tmp_path / f"{name[:-3]}.mjs"
            script.write_text(served.text, encoding="utf-8")
            done = subprocess.run(["node", "--check", str(script)], capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
    other = next(p for p in sorted(folder.glob("*.js")) if p.name not in names)
    assert client.get(f"/assets/{other.name}").content == other.read_bytes()
    (tmp_path / "Blocks-x.js").write_text("async update_loading_stati_state(){}", encoding="utf-8")
    assert edited_gradio_scripts(tmp_path) == {}


def test_the_edited_tree_lookup_finds_what_gradios_walk_finds_as_the_tree_changes(tmp_path):
    """The `core-` edit: Gradio's depth-first search for a component by id, with the path to each id kept and
    followed first. Run in node on a tree of 300 nodes, then after the tree changed under the kept paths (children
    inserted before a found node, a subtree moved elsewhere, a node replaced by a new object with its id, a node
    removed): for every id, and for ids not in the tree, it returns the very node the plain walk returns."""
    import subprocess

    from playground.page import GRADIO_PAGE_EDITS

    if not shutil.which("node"):
        pytest.skip("node is not installed")
    (plain, edited), = GRADIO_PAGE_EDITS["core-"]
    script = tmp_path / "z.js"
    script.write_text(edited + "\n" + plain.replace("function Z(", "function plainZ(").replace("=Z(", "=plainZ(") + """
let next = 1, all = [];
function grow(depth) {
  const node = {id: next++, children: []};
  all.push(node);
  if (depth < 5) for (let k = 0; k < 3 + (node.id % 2); k++) if (next < 300) node.children.push(grow(depth + 1));
  return node;
}
const root = grow(0);
function check(stage) {
  for (let id = 0; id <= next + 2; id++) {
    const a = Z(root, id), b = plainZ(root, id);
    if (a !== b) { console.log(stage, id, a && a.id, b && b.id); process.exit(1); }
  }
}
check("fresh"); check("kept");
const parent = all.find(n => n.children.length > 2 && n.children[1].children.length);
parent.children.unshift({id: next++, children: []});
check("inserted");
const moved = parent.children.splice(2, 1)[0];
root.children[0].children.push(moved);
check("moved");
const target = moved.children[0];
moved.children[0] = {id: target.id, children: target.children};
check("replaced");
moved.children.pop();
check("removed");
console.log("ok");
""", encoding="utf-8")
    done = subprocess.run(["node", str(script)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr


def test_a_running_streamed_run_says_so_on_its_button_and_takes_no_second_press():
    """A second Denoise press during a run was dropped without a word (Gradio runs one of an event at a time
    per page). Each stoppable run's button turns "running" and inactive when pressed, at once (outside the
    queue), and comes back, whatever the run's outcome, when the run ends."""
    demo = create_app()
    fns = demo.fns
    runs = {d.api_name: (k, d) for k, d in fns.items() if d.api_name in ("ddpm_denoise", "ddpm_steps", "inpaint")}
    assert len(runs) == 3
    for api, (k, run) in runs.items():
        (button_id, trigger), = run.targets
        button = demo.blocks[button_id]
        label = button.value
        busy = [d for d in fns.values() if d.targets == [(button_id, "click")] and d is not run]
        assert len(busy) == 1 and not busy[0].queue and [o._id for o in busy[0].outputs] == [button_id], api
        said = busy[0].fn()
        assert said.interactive is False and said.value.startswith(f"{label}: running"), api
        back = [d for d in fns.values() if d.trigger_after == k and not d.trigger_only_on_success
                and not d.trigger_only_on_failure and [o._id for o in d.outputs] == [button_id]]
        assert len(back) == 1, api
        again = back[0].fn()
        assert again.interactive is True and again.value == label, api


def test_each_classifier_sub_tab_cancels_the_other_sources_prediction_in_flight():
    """An upload's prediction still being computed when Draw was opened came after Draw's clearing and was shown
    beside the empty pad: choosing a sub-tab cancels the other source's classifications."""
    demo = create_app()
    fns = demo.fns
    api = {d.api_name: k for k, d in fns.items()}

    def cancelled_when(tab: str) -> set:
        tab_id = next(b._id for b in demo.blocks.values() if type(b).__name__ == "Tab" and b.label == tab and
                      any(d.api_name in ("classify", "classify_drawing") for d in fns.values()
                          if d.targets and demo.blocks.get(d.targets[0][0]) is not None
                          and _inside(demo, d.targets[0][0], b._id)))
        return {c for d in fns.values() if d.targets == [(tab_id, "select")] for c in d.cancels}

    on_draw = cancelled_when("Draw")  # Classify image's and an example's classification
    assert api["classify"] in on_draw and len(on_draw) == 2 and api["classify_drawing"] not in on_draw
    assert cancelled_when("Upload") == {api["classify_drawing"]}


def _inside(demo, block_id: int, parent_id: int) -> bool:
    block = demo.blocks[block_id]
    while block is not None:
        if block._id == parent_id:
            return True
        block = getattr(block, "parent", None)
    return False


def test_actions_of_milliseconds_draw_no_progress_overlay_over_their_results(store):
    """Gradio's full progress overlay, drawn over an action's outputs and taken down again, cost the page more
    than the action (Classify image: 194 ms from click to answer painted with it, 117 without, in Chromium on 2
    cores): the actions of milliseconds show none ("minimal" where a count can make it seconds: Step × 1000)."""
    demo = create_app(store.root)
    shown = {d.api_name: d.show_progress for d in demo.fns.values() if d.api_name}
    cheap = {"classify": "hidden", "classify_drawing": "hidden", "model_card": "hidden", "ddpm_forward": "hidden",
             "lab_step": "minimal"}
    assert {api: shown.get(api) for api in cheap} == cheap
    # the example's and the upload's own classification, and the card's text after it, none either
    followers = [d for d in demo.fns.values() if not d.api_name and d.outputs and d.show_progress == "full"
                 and {o for o in d.outputs} & {o for a in ("classify", "model_card") for o in
                                               next(x for x in demo.fns.values() if x.api_name == a).outputs}]
    assert not followers
