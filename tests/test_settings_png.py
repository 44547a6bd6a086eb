"""Exported images carry their settings in PNG metadata, and dropping one into the app restores them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import gradio as gr
import numpy as np
import pytest
from gradio import processing_utils

from playground import exports
from trainers.core.errors import UserError
def _served_png(image, tmp_path) -> str:
    """What Gradio writes to disk (and serves) for an image output, with its own PNG encoder."""
    return processing_utils.save_pil_to_cache(image, cache_dir=str(tmp_path), format="png")


def test_tagged_images_survive_gradios_png_encoding(tmp_path):
    def handler(name, seed, image):
        return np.zeros((4, 4, 3), np.uint8), "text"

    run = exports.tagged("demo", ["checkpoint", "seed", "image"], handler)
    image, text = run("m", 3, np.zeros((2, 2)))
    assert text == "text"
    meta = exports.read_settings(_served_png(image, tmp_path))
    assert meta == {"api": "demo", "inputs": {"checkpoint": "m", "seed": 3}}  # the uploaded image is no setting

    def stream(n):
        for i in range(n):
            yield np.full((2, 2), i, np.uint8)

    frames = list(exports.tagged("demo_stream", ["n"], stream)(2))
    assert len(frames) == 2 and exports.read_settings(_served_png(frames[1], tmp_path))["inputs"] == {"n": 2}


def test_read_settings_refuses_foreign_files(tmp_path):
    from PIL import Image

    plain = tmp_path / "plain.png"
    Image.new("L", (4, 4)).save(plain)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    empty = tmp_path / "empty.gif"
    empty.write_bytes(b"")
    for path, message in [(plain, "no playground settings"), (junk, "not an image"), (None, "drop a PNG"),
                          (empty, r"empty \(0 bytes\)")]:
        with pytest.raises(UserError, match=message):
            exports.read_settings(path)


@pytest.fixture(scope="module")
def demo(tiny_gan, tmp_path_factory):
    from playground.app import create_app

    root = tmp_path_factory.mktemp("restore-store")
    shutil.copytree(tiny_gan, root / "tiny-gan")
    return create_app(root)


def test_an_exported_grid_restores_its_settings(demo, tmp_path):
    from playground.app import restore
    from playground.gan import NO_CLASS

    fn = next(d.fn for d in demo.fns.values() if d.api_name == "gan_samples")
    image = fn("tiny-gan", 11, 4, 0.7, NO_CLASS)  # what a click runs
    path = _served_png(image, tmp_path)
    tabs, note, *values = restore(demo.restorable, demo.restore_targets, path, demo.actions)
    assert tabs.selected == "gan" and "restored 5 settings" in note
    # named as a user finds it (a walk read "restored 11 settings of `xy_grid`")
    assert note.startswith("restored 5 settings of *GAN → Samples → Sample* (checkpoint = tiny-gan, seed = 11")
    assert "`gan_samples`" not in note and "and pressed it again" in note
    tab_id, inputs = demo.restorable["gan_samples"]
    by_component = dict(zip(map(id, demo.restore_targets), values))
    assert [by_component[id(inputs[k])] for k in ("checkpoint", "seed", "samples", "truncation")] == [
        "tiny-gan", 11, 4, 0.7]
    with pytest.raises(gr.Error, match="cannot be restored"):
        from PIL import Image

        other = Image.fromarray(np.zeros((2, 2), np.uint8))
        other.info["playground"] = '{"api": "nope", "inputs": {}}'
        restore(demo.restorable, demo.restore_targets, _served_png(other, tmp_path))


def test_a_link_opens_a_tab_with_its_settings_and_the_tab_on_screen_gives_its_link(demo):
    """?api=gan_samples&seed=11... selects the tab with those values typed as their controls take them; the
    link of the settings on screen names the innermost tab's action and round-trips; bad links are refused."""
    from urllib.parse import parse_qsl

    from playground.app import link_here, linked
    from playground.gan import NO_CLASS

    query = {"api": "gan_samples", "checkpoint": "tiny-gan", "seed": "11", "samples": "4", "truncation": "0.7",
             "class": NO_CLASS, "unknown": "x"}
    tabs, note, *values = linked(demo.restorable, demo.restore_targets, query)
    assert tabs.selected == "gan" and "opened from a link: 5 settings" in note and "?api=gan_samples" in note
    _, inputs = demo.restorable["gan_samples"]
    by_component = dict(zip(map(id, demo.restore_targets), values))
    assert [by_component[id(inputs[k])] for k in ("checkpoint", "seed", "samples", "truncation")] == [
        "tiny-gan", 11, 4, 0.7]
    assert linked(demo.restorable, demo.restore_targets, {}) == [gr.skip()] * (2 + len(demo.restore_targets))
    for bad, words in (({"api": "nope"}, "names no action"), ({"api": "gan_samples", "seed": "ten"}, "seed must be")):
        with pytest.raises(gr.Error, match=words):
            linked(demo.restorable, demo.restore_targets, bad)
    on_screen = [by_component.get(id(c)) for c in demo.restore_targets]
    md = link_here(demo.restorable, demo.reruns, demo.restore_targets, '["GAN", "Samples"]', on_screen)
    back = dict(parse_qsl(md.split("`?")[1].rstrip("`")))
    assert back == {k: v for k, v in query.items() if k != "unknown"}
    walk = link_here(demo.restorable, demo.reruns, demo.restore_targets, '["GAN", "Walk"]', on_screen)
    assert "api=gan_walk" in walk and "GAN → Walk" in walk
    # a multiple choice goes into the link and back: Compare's link left out the models picked (a walk's 4 came
    # back as the 2 defaults)
    models = ["tiny-gan", "other-gan", "third-gan"]
    _, compare = demo.restorable["compare"]
    picked = [models if c is compare["models"] else v for c, v in zip(demo.restore_targets, on_screen)]
    md = link_here(demo.restorable, demo.reruns, demo.restore_targets, '["Compare"]', picked)
    query = dict(parse_qsl(md.split("`?")[1].rstrip("`")))
    assert query["models"] == "tiny-gan,other-gan,third-gan"
    _, _, *values = linked(demo.restorable, demo.restore_targets, query)
    assert dict(zip(map(id, demo.restore_targets), values))[id(compare["models"])] == models


def test_exported_gif_and_mp4_carry_their_settings_and_keep_their_frames(tmp_path, monkeypatch):
    """A handler's GIF and MP4 downloads get the call's settings (GIF comment extension, MP4 comment tag)
    without a changed pixel, and read_settings gives them back."""
    import av
    from PIL import Image, ImageSequence

    from trainers.core.images import gif_bytes, mp4_bytes

    monkeypatch.setattr(exports, "EXPORT_DIR", tmp_path / "exports")
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (20, 24, 3), dtype=np.uint8) for _ in range(5)]

    def handler(name, seed, steps):
        return (exports.export_file(gif_bytes(frames, 60), "run", ".gif"),
                exports.export_file(mp4_bytes(frames, 12), "run", ".mp4"), "done")

    gif, mp4, text = exports.tagged("demo_anim", ["checkpoint", "seed", "steps"], handler)("m", 5, 20)
    assert text == "done"
    written = sorted(f for d in (tmp_path / "exports").iterdir() for f in d.iterdir())
    assert written == sorted([Path(gif), Path(mp4)])  # each written once, tagged, in a folder named by its hash
    # a download's name says what it is: the stem, then the call's settings
    assert [Path(p).name for p in (gif, mp4)] == ["run_m_seed-5_steps-20.gif", "run_m_seed-5_steps-20.mp4"]
    for path in (gif, mp4):
        assert exports.read_settings(path) == {"api": "demo_anim", "inputs": {"checkpoint": "m", "seed": 5,
                                                                              "steps": 20}}
    plain_gif = Image.open(exports.export_file(gif_bytes(frames, 60), "x", ".gif"))
    got = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(Image.open(gif))]
    want = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(plain_gif)]
    same = [np.array_equal(a, b) for a, b in zip(got, want)]
    assert len(got) == 5 and all(same), (same, len(Path(gif).read_bytes()), len(Path(plain_gif.filename).read_bytes()),
                                         Path(gif).read_bytes().replace(b"GIF89a", b"GIF8?a", 1)[:40])
    assert Image.open(gif).info["duration"] == 60
    with av.open(mp4) as c, av.open(exports.export_file(mp4_bytes(frames, 12), "y", ".mp4")) as ref:
        tagged_frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        ref_frames = [f.to_ndarray(format="rgb24") for f in ref.decode(video=0)]
    assert len(tagged_frames) == 5 and all(np.array_equal(a, b) for a, b in zip(tagged_frames, ref_frames))
    # and an untagged MP4 or GIF says it has no settings
    for path in (exports.export_file(mp4_bytes(frames, 12), "z", ".mp4"), plain_gif.filename):
        with pytest.raises(UserError, match="no playground settings"):
            exports.read_settings(path)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(UserError, match="not an MP4"):
        exports.read_settings(junk)


def test_the_export_folder_stays_bounded(tmp_path, monkeypatch):
    """Identical results are one file; distinct ones are capped at EXPORT_MAX_FILES (oldest go first)."""
    import os
    import time

    monkeypatch.setattr(exports, "EXPORT_DIR", tmp_path / "exports")
    monkeypatch.setattr(exports, "EXPORT_MAX_FILES", 10)
    first = exports.export_file(b"same", "a", ".gif")
    assert exports.export_file(b"same", "a", ".gif") == first
    assert len(os.listdir(tmp_path / "exports")) == 1 and Path(first).name == "a.gif"  # named by its settings alone
    os.utime(first, (time.time() - 200,) * 2)
    paths = []
    for i in range(25):
        paths.append(exports.export_file(f"result {i}".encode(), "b", ".gif"))
        os.utime(paths[-1], (time.time() - 100 + i,) * 2)  # distinct ages within the time-to-live, newest last
    left = sorted(os.listdir(tmp_path / "exports"))
    assert left == sorted(Path(p).parent.name for p in paths[-10:])  # the newest ten


def test_one_client_cannot_push_out_the_others_exports(tmp_path, monkeypatch):
    """A public app keeps EXPORT_MAX_FILES downloads in all: one visitor making many pushed out everyone
    else's. Each client keeps at most EXPORT_MAX_PER_CLIENT (its own oldest go first); a result another
    client exported too stays."""
    import os

    from playground import wiring

    monkeypatch.setattr(exports, "EXPORT_DIR", tmp_path / "exports")
    monkeypatch.setattr(exports, "EXPORT_MAX_PER_CLIENT", 3)
    monkeypatch.setattr(exports, "_BY_CLIENT", type(exports._BY_CLIENT)())
    who = ["teacher"]
    monkeypatch.setattr(wiring, "client", lambda: who[0])
    theirs = [exports.export_file(f"lesson {i}".encode(), "t", ".gif") for i in range(2)]
    shared = exports.export_file(b"the same result", "s", ".gif")
    who[0] = "stranger"
    assert exports.export_file(b"the same result", "s", ".gif") == shared
    mine = [exports.export_file(f"flood {i}".encode(), "f", ".gif") for i in range(20)]
    assert all(os.path.exists(p) for p in theirs + [shared])
    assert [os.path.exists(p) for p in mine] == [False] * 17 + [True] * 3
    assert len(os.listdir(tmp_path / "exports")) == 2 + 1 + 3


def test_an_exported_animation_restores_its_settings(demo, tmp_path, monkeypatch):
    from playground.app import restore
    from playground.gan import NO_CLASS

    monkeypatch.setattr(exports, "EXPORT_DIR", tmp_path / "exports")
    fn = next(d.fn for d in demo.fns.values() if d.api_name == "gan_walk")
    *_, (strip, gif, mp4, used) = fn("tiny-gan", "4, 5", 6, "slerp", 0.8, "z", NO_CLASS, NO_CLASS)  # streamed
    for path in (gif, mp4):
        tabs, note, *values = restore(demo.restorable, demo.restore_targets, path)
        assert tabs.selected == "gan" and "restored" in note
        tab_id, inputs = demo.restorable["gan_walk"]
        by_component = dict(zip(map(id, demo.restore_targets), values))
        assert [by_component[id(inputs[k])] for k in ("seeds", "frames", "truncation")] == ["4, 5", 6, 0.8]


def test_a_restored_choice_the_control_does_not_offer_yet_is_put_back_with_it(demo):
    """A walk in w (a model with a mapping network) restored on a page whose first model offers z alone: the bare
    "w" was dropped, and the walk ran again in z, unlike the export."""
    from playground.app import linked

    tabs, note, *values = linked(demo.restorable, demo.restore_targets,
                                 {"api": "gan_walk", "checkpoint": "tiny-gan", "space": "w", "seeds": "5, 9"})
    inputs = demo.restorable["gan_walk"][1]
    assert [v for _, v in inputs["space"].choices] == ["z"]  # the first model's choices
    space = dict(zip(map(id, demo.restore_targets), values))[id(inputs["space"])]
    assert isinstance(space, gr.Radio) and space.value == "w" and ("w", "w") in space.choices
    seeds = dict(zip(map(id, demo.restore_targets), values))[id(inputs["seeds"])]
    assert seeds == "5, 9"  # a text box's value as it was
    # the checkpoints go back last: their change events read the other controls (put back first, the GAN's read
    # the space from before the restore and set it back to z)
    checkpoints = {id(inputs["checkpoint"]) for _, inputs in demo.restorable.values() if "checkpoint" in inputs}
    last = [id(c) in checkpoints for c in demo.restore_targets]
    assert any(last) and last == sorted(last)


def _run_frames() -> list[np.ndarray]:
    """A 2-image diffusion run's frames, 104 x 288 (x_t beside x0_hat, titled): noise turning into garments."""
    from playground.diffusion import run_frame

    noise = np.random.default_rng(0).normal(size=(72, 140))
    y, x = np.mgrid[:72, :140]
    target = np.where((abs(x % 70 - 35) < 16) & (abs(y - 36) < 24), -0.8, 0.9)

    def u8(z):
        return ((np.clip(z, -1, 1) + 1) * 127.5).round().astype(np.uint8)
    return [run_frame(u8((1 - k / 10) * noise + k / 10 * target), u8(0.3 * (1 - k / 10) * noise + target),
                      [f"x_t, t = {999 - 100 * k}", f"predicted x0 at t = {999 - 100 * k}"])
            for k in range(11)]


def test_the_same_frames_make_the_same_mp4():
    """Exports are content-addressed and identical requests must give identical files. x264 read past the end of
    rows whose width is not a multiple of 64: a process's first encode of a diffusion run's frames (288 px wide)
    differed from its later ones (here: 4 fresh processes out of 4), and a loaded CI run gave a different MP4
    for the same run. Encoded 64-aligned and cropped in the stream, the video is still the frames' own size."""
    import inspect
    import io
    import subprocess
    import sys

    import av

    from trainers.core.images import mp4_bytes

    # in fresh interpreters that import no more than an app's export does (with pytest's imports first, the old
    # encoder's first encode came out like the later ones)
    code = "\n".join(["import hashlib", "import numpy as np", "from trainers.core.images import mp4_bytes",
                      inspect.getsource(_run_frames), "frames = _run_frames()",
                      "print(*[hashlib.sha256(mp4_bytes(frames, 20)).hexdigest() for _ in range(3)])"])
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
            for _ in range(2)]
    digests = [d for run in runs for d in run.stdout.split()]
    assert len(digests) == 6 and len(set(digests)) == 1, digests  # a fresh process's first encode included

    frames = _run_frames()
    with av.open(io.BytesIO(mp4_bytes(frames, 20))) as c:
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(decoded) == 11 and decoded[0].shape == frames[0].shape == (104, 288, 3)  # the padding cropped off
    assert np.abs(decoded[10].astype(int) - frames[10]).mean() < 4  # and it was on the right: the picture in place


def test_a_gif_gives_back_its_frames_exactly():
    """Grey frames are written as one channel (Pillow's per-frame adaptive palette for RGB cost 2.5x the time);
    every frame reads back exactly, grey or in colour (of at most 256 colours)."""
    import io

    from PIL import Image

    from trainers.core.images import gif_bytes

    grey = _run_frames()
    colour = [f // 4 * 4 for f in grey[:3]]  # 64 greys and a red: within a GIF's 256 colours
    colour[1][:8, :8] = (255, 0, 0)
    for frames in (grey, colour):
        gif = Image.open(io.BytesIO(gif_bytes(frames, 60)))
        assert gif.n_frames == len(frames)
        for k, f in enumerate(frames):
            gif.seek(k)
            assert np.array_equal(np.asarray(gif.convert("RGB")), f), k


def test_each_running_app_has_its_own_export_folder(tmp_path):
    """Two apps on one machine pruned (and, at shutdown, deleted) each other's files in one shared folder."""
    import os
    import subprocess
    import sys

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / ended.stdout.strip()
    (dead / "walk.gif").parent.mkdir()
    (dead / "walk.gif").write_bytes(b"GIF89a")
    alive = tmp_path / str(os.getppid())  # the process that started the tests
    alive.mkdir()
    mine = exports.own_folder(tmp_path)
    assert mine == tmp_path / str(os.getpid())
    assert not dead.exists() and alive.exists()


def test_a_setting_resolved_in_the_call_is_what_its_exports_carry(tmp_path, monkeypatch):
    """Keyframe seeds 'random' are exported as the seeds drawn: restored as 'random', the walk came out new."""
    from trainers.core.images import gif_bytes

    monkeypatch.setattr(exports, "EXPORT_DIR", tmp_path / "exports")
    frames = [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)]

    def handler(seeds):
        exports.record_setting("seeds", "11, 12")
        return np.zeros((4, 4, 3), np.uint8), exports.export_file(gif_bytes(frames, 60), "walk", ".gif")

    image, gif = exports.tagged("demo_walk", ["seeds"], handler)("random")
    for path in (_served_png(image, tmp_path), gif):
        assert exports.read_settings(path)["inputs"] == {"seeds": "11, 12"}
    assert "11+12" in Path(gif).name


def test_a_served_image_is_named_by_its_settings(tmp_path):
    """Downloaded from its box, an output image was image.png; it is named by the call's settings."""
    from playground.uploads import harden_gradio_cache

    harden_gradio_cache()
    image = exports.tagged("gan_samples", ["checkpoint", "seed"], lambda c, s: np.zeros((4, 4, 3), np.uint8))("m", 3)
    assert Path(_served_png(image, tmp_path)).name == "gan-samples_m_seed-3.png"
    from PIL import Image

    assert Path(_served_png(Image.new("RGB", (4, 4)), tmp_path)).name == "image.png"


def test_each_image_of_a_call_is_named_by_all_its_settings():
    """A guided diffusion run's x̂0 downloaded without "guidance-7" (its longer output name pushed it past the
    name's length), where its x_t had it."""
    from PIL import Image

    meta = {"api": "ddpm_denoise", "inputs": {"checkpoint": "ddpm-fashion", "seed": 0, "images": 1, "sampler": "ddim",
                                              "steps": 50, "eta": 0.0, "class": "Sneaker", "guidance": 7.0}}
    names = []
    for output in ("x_t", "predicted x̂0"):
        image = Image.new("RGB", (4, 4))
        image.info[exports.META_KEY] = json.dumps({**meta, "output": output})
        names.append(exports.download_name(image))
    assert all(n.endswith("_ddim_steps-50_eta-0_Sneaker_guidance-7") for n in names), names


def test_a_grid_of_long_names_is_named_by_whole_names():
    """An X/Y grid's values (three checkpoint names) were cut at 32 characters mid-name."""
    names = "dcgan-ns-20min-fashion, dcgan-lsgan-20min-fashion, dcgan-hinge-20min-fashion"
    name = exports._named("xy-grid", {"inputs": {"X": "checkpoint", "X values": names, "Y": "seed",
                                                 "Y values": "0, 1, 2", "checkpoint": "cdcgan-ns-fashion"}})
    assert name == "xy-grid_checkpoint_dcgan-ns-20min-fashion+2_seed_0+1+2_cdcgan-ns-fashion"
    two = exports._named("xy-grid", {"inputs": {"X": "checkpoint", "X values": ", ".join(names.split(", ")[:2])}})
    assert two == "xy-grid_checkpoint_dcgan-ns-20min-fashion+dcgan-lsgan-20min-fashion"  # both, whole
    assert exports._short_value("a-very-long-checkpoint-name-that-goes-on-and-on-forever") == \
        "a-very-long-checkpoint-name-that-goes-on"


def test_a_gallerys_items_download_under_their_own_names():
    """A gallery's Download offered "image.png" for every compared model's sheet: each item carries the name of its
    cached file, which says its model and settings."""
    from playground.uploads import harden_gradio_cache

    harden_gradio_cache()
    run = exports.tagged("compare", ["models", "seed"],
                         lambda *a: [(np.zeros((8, 8, 3), np.uint8), "a"), (np.ones((8, 8, 3), np.uint8), "b")])
    shown = gr.Gallery(format="png").postprocess(run(["m1", "m2"], 0))
    assert [item.image.orig_name for item in shown.root] == ["compare-m1_seed-0.png", "compare-m2_seed-0.png"]


def test_a_failed_restore_leaves_no_stale_success_text(demo):
    """The restore box's note is emptied as a file is dropped, before the file is read: a refused file left the
    last restore's "restored 5 settings of ..." under its own error."""
    deps = list(demo.fns.values())
    restoring = next(d for d in deps if d.api_name == "restore_settings")
    before = next(d for d in deps if d._id == restoring.trigger_after)
    note = next(b for b in restoring.outputs if b in before.outputs)  # the note, both write it
    assert [e for _, e in before.targets] == ["upload"] and before.fn() == ""  # emptied first
    assert not restoring.trigger_only_on_success and note in before.outputs
