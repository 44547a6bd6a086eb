"""Hardening, proven on the handlers themselves (no browser, no server): hostile uploads and parameters get a
clear gr.Error or a correct result within TIME_LIMIT_S and leave the next normal request working, and model
files never run code.

Uploads are handed to a handler the two ways it can receive them: as Gradio's own component gives them
(`gr.Image(type="pil")`, `gr.ImageEditor`, `gr.Sketchpad`: Gradio opens the file with Pillow first, so some
files never reach a handler) and as `PIL.Image.open` returns them, lazily (the handler's own guard).
The app's Pillow settings (`harden_pillow`, applied by `create_app`) are on for the whole module.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import re
import shutil
import time
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch
from gradio.components.image_editor import EditorData
from gradio.data_classes import FileData, ImageData
from PIL import EpsImagePlugin, Image, ImageDraw, ImageFile, PngImagePlugin

from conftest import black_png as _black_png
from playground import about, classifier, diffusion, exports, gan, image_lab, lab, translation, uploads, upscale, vae
from playground.app import restore
from playground.models import ModelStore
from trainers.core import checkpoint as ck
from trainers.core.errors import CheckpointError, UserError

TIME_LIMIT_S = 5.0
PILLOW_DEFAULT_LIMIT = 89_478_485  # Image.MAX_IMAGE_PIXELS as Pillow ships it
EXAMPLE = Path(classifier.EXAMPLES) / "7-sneaker.png"
# opening the files over the app's cap makes Pillow warn before the app refuses them: expected here
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


# ---------------------------------------------------------------------------------------------------------
# the app's Pillow settings, spies on decoding and on Ghostscript

@pytest.fixture(scope="module", autouse=True)
def app_pillow_settings():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after the module
        mp.setattr(EpsImagePlugin, "gs_binary", EpsImagePlugin.gs_binary)
        uploads.harden_pillow()
        yield


class _Recorder:
    """Stands in for the `subprocess` module inside Pillow's EPS plugin: any call is a Ghostscript run."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args))
            raise OSError("Ghostscript was about to run")

        return call


@pytest.fixture(scope="module", autouse=True)
def ghostscript_runs():
    recorder = _Recorder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(EpsImagePlugin, "subprocess", recorder)
        yield recorder.calls
    assert recorder.calls == [], "Ghostscript was run on an upload"


@pytest.fixture(scope="module")
def big_decodes():
    """Sizes of every image of more than the app's pixel cap that Pillow decodes while a handler runs."""
    seen, real_load = [], ImageFile.ImageFile.load

    def load(self):
        if self.width * self.height > uploads.MAX_UPLOAD_PIXELS:
            seen.append(self.size)
        return real_load(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ImageFile.ImageFile, "load", load)
        yield seen


# ---------------------------------------------------------------------------------------------------------
# tiny models, one store

@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_fashion, tiny_gan, tiny_ddpm):
    from trainers.core import data
    from trainers import fit

    root = tmp_path_factory.mktemp("hardening-store")
    shutil.copytree(tiny_gan, root / "tiny-gan")
    shutil.copytree(tiny_ddpm, root / "tiny-ddpm")
    shutil.copytree(ModelStore().path("fashion-classifier"), root / "fashion-classifier")
    shutil.copytree(ModelStore().path("fashion-classifier-mlp"), root / "fashion-classifier-mlp")  # Upscale's judges
    common_opts = {"data_dir": str(tiny_fashion), "device": "cpu", "monitor_n": "0", "batch_size": "8"}
    mp = pytest.MonkeyPatch()
    mp.setattr(data, "CACHE_DIR", tmp_path_factory.mktemp("hardening-cache"))
    try:
        for name, family, opts in [
            ("ae", "vae", {"width": "8", "steps": "1", "variational": "false", "latent_dim": "8", "noise_std": "0.3"}),
            ("vae2d", "vae", {"width": "8", "steps": "1", "latent_dim": "2"}),
            ("p2p", "pix2pix", {"image_size": "16", "steps": "1", "ngf": "8", "ndf": "8", "d_layers": "1"}),
            ("cyc", "cyclegan", {"image_size": "16", "steps": "1", "ngf": "8", "ndf": "8", "d_layers": "1",
                                 "n_blocks": "1"}),
            ("sr", "srgan", {"steps": "1", "ngf": "8", "n_blocks": "1", "ndf": "8"}),
        ]:
            fit(family, {**common_opts, **opts, "out": str(root / name)})
    finally:
        mp.undo()
    return ModelStore(root)


# ---------------------------------------------------------------------------------------------------------
# the uploads: files written here, each with what classify must see (None: it must be refused)

SIZE = 48


def _garment(width: int = SIZE, height: int = SIZE) -> Image.Image:
    """A light 'L' on black: asymmetric, so that a rotation shows, and dark at the border (no inversion)."""
    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    draw.rectangle([8, 6, 18, height - 8], fill=230)
    draw.rectangle([8, height - 16, width - 10, height - 8], fill=230)
    return image


def _seen(image: Image.Image) -> np.ndarray:
    """What classify must feed its network for a light-on-black L image, independently: a non-square one centred in
    a black square (as an editor fits a picture into its canvas, not squashed), then Pillow's resize."""
    w, h = image.size
    square = Image.new("L", (max(w, h), max(w, h)), 0)
    square.paste(image, ((max(w, h) - w) // 2, (max(w, h) - h) // 2))
    return np.asarray(square.resize((32, 32), Image.Resampling.LANCZOS))


def _sketch_canvas() -> tuple[Image.Image, np.ndarray]:
    """Black strokes on a transparent canvas (what gr.Sketchpad sends), and the strokes light on black."""
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).rectangle([70, 40, 210, 240], outline=(0, 0, 0, 255), width=12)
    strokes = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(strokes).rectangle([70, 40, 210, 240], outline=255, width=12)
    return canvas, _seen(strokes)


def _write_rgba(path: Path) -> None:
    g = np.asarray(_garment())
    rgba = np.zeros((SIZE, SIZE, 4), np.uint8)
    rgba[...] = (255, 0, 0, 0)  # transparent red: read without its alpha, the background would be grey
    rgba[g > 0] = np.stack([g[g > 0]] * 3 + [np.full((g > 0).sum(), 255)], 1)
    Image.fromarray(rgba, "RGBA").save(path)


def _write_palette(path: Path) -> None:
    image = Image.fromarray((np.asarray(_garment()) > 0).astype(np.uint8), "P")
    image.putpalette([255, 0, 0, 230, 230, 230] + [0, 0, 0] * 254)  # index 0: transparent red
    image.save(path, transparency=0)


def _ramp16() -> np.ndarray:
    return np.tile(np.linspace(0, 32767, SIZE).round().astype(np.uint16), (SIZE, 1))  # black to mid-grey


def _write_gif(path: Path) -> None:
    frames = [_garment()] + [Image.new("L", (SIZE, SIZE), 100 + i % 100) for i in range(999)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=10, loop=0)


def _write_exif_rotated(path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: shown turned 90 degrees clockwise
    _garment(64, 40).save(path, quality=95, exif=exif)


@dataclasses.dataclass
class Upload:
    write: object  # (path) -> None
    suffix: str = ".png"
    refusal: str | None = None  # must be refused with a message matching this, or ...
    expected: np.ndarray | None = None  # ... classify must see this (32x32)
    tolerance: tuple[float, float] = (1, 1)  # (mean, max) absolute difference allowed
    pillow: str = "app"  # Pillow's bomb limit while it is opened and handled: the app's, "as shipped" or "off"
    forms: tuple = ("gradio", "lazy")
    reaches_handlers: bool = True  # False: Pillow cannot even open it, so Gradio refuses it before any handler


PILLOW_LIMITS = {"as shipped": PILLOW_DEFAULT_LIMIT, "off": None}


UPLOADS = {
    "zero-byte": Upload(lambda p: p.write_bytes(b""), refusal="not an image", reaches_handlers=False),
    "truncated-png": Upload(lambda p: p.write_bytes(EXAMPLE.read_bytes()[:200]), refusal="damaged or truncated"),
    "random-bytes": Upload(lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)), refusal="not an image",
                           reaches_handlers=False),
    # over twice the app's cap: Pillow refuses them from the header, under the app's settings
    "png-bomb-20000": Upload(lambda p: p.write_bytes(_black_png(20000, 20000)), refusal="too large",
                             reaches_handlers=False),
    "png-12000": Upload(lambda p: p.write_bytes(_black_png(12000, 12000)), refusal="too large",
                        reaches_handlers=False),
    # 12000x12000 is under Pillow's own limit: with Pillow as shipped, the handlers cap it, from the header
    "png-12000-pillow-as-shipped": Upload(lambda p: p.write_bytes(_black_png(12000, 12000)), refusal="too large",
                                          pillow="as shipped", forms=("lazy",)),
    # a deployment that switched Pillow's guard off
    "png-bomb-20000-pillow-guard-off": Upload(lambda p: p.write_bytes(_black_png(20000, 20000)),
                                              refusal="too large", pillow="off", forms=("lazy",)),
    # between the app's cap and twice it: Pillow only warns, the handlers refuse it
    "png-5000-over-the-cap": Upload(lambda p: p.write_bytes(_black_png(5000, 5000)), refusal="too large"),
    "gif-1000-frames": Upload(_write_gif, ".gif", expected=_seen(_garment())),
    "eps-renamed-png": Upload(lambda p: p.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n"
                                                     "0 0 moveto 100 100 lineto stroke\nshowpage\n"),
                              refusal="EPS|not an image"),
    "pdf-renamed-png": Upload(lambda p: p.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"),
                              refusal="not an image", reaches_handlers=False),
    "rgba": Upload(_write_rgba, expected=_seen(_garment())),
    "palette-transparency": Upload(_write_palette, expected=_seen(_garment())),
    "cmyk-jpeg": Upload(lambda p: _garment().convert("RGB").convert("CMYK").save(p, "JPEG", quality=95), ".jpg",
                        expected=_seen(_garment()), tolerance=(4, 60)),
    "grey-16-bit-ramp": Upload(lambda p: Image.fromarray(_ramp16()).save(p),
                               expected=_seen(Image.fromarray((_ramp16() / 257).round().astype(np.uint8))),
                               tolerance=(1, 2)),
    "exif-rotated-jpeg": Upload(_write_exif_rotated, ".jpg",
                                expected=_seen(_garment(64, 40).transpose(Image.Transpose.ROTATE_270)),
                                tolerance=(4, 60)),
    "transparent-sketch": Upload(lambda p: _sketch_canvas()[0].save(p), expected=_sketch_canvas()[1]),
}


@pytest.fixture(scope="module")
def upload_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("uploads")
    paths = {}
    for name, upload in UPLOADS.items():
        paths[name] = folder / f"{name}{upload.suffix}"
        upload.write(paths[name])
    return paths


def test_the_uploads_are_what_they_claim(upload_files, monkeypatch):
    """The hostile files really are hostile (and the odd ones really odd), so the tests below can fail."""
    with pytest.raises(Image.DecompressionBombError):
        Image.open(upload_files["png-bomb-20000"])  # under the app's limit, from the header alone
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with Image.open(upload_files["png-bomb-20000"]) as im:
        assert im.size == (20000, 20000) and upload_files["png-bomb-20000"].stat().st_size < 2**20
    with Image.open(upload_files["png-5000-over-the-cap"]) as im:
        im.load()  # a valid PNG: all black
        assert im.getextrema() == (0, 0)
    monkeypatch.undo()
    with Image.open(upload_files["gif-1000-frames"]) as im:
        assert im.n_frames == 1000
    with Image.open(upload_files["eps-renamed-png"]) as im:
        assert im.format == "EPS"  # Pillow would render it with Ghostscript on load()
    for name, mode in [("grey-16-bit-ramp", "I;16"), ("cmyk-jpeg", "CMYK"), ("palette-transparency", "P")]:
        with Image.open(upload_files[name]) as im:
            assert im.mode == mode
    with Image.open(upload_files["exif-rotated-jpeg"]) as im:
        assert im.getexif()[0x0112] == 6 and im.size == (64, 40)
    for name in ("zero-byte", "random-bytes", "pdf-renamed-png"):
        with pytest.raises(OSError):
            Image.open(upload_files[name])
    assert np.abs(UPLOADS["exif-rotated-jpeg"].expected.astype(int) - _seen(_garment(64, 40))).mean() > 15
    assert UPLOADS["grey-16-bit-ramp"].expected[:, -1].mean() < 140  # levels kept: not stretched to white


# ---------------------------------------------------------------------------------------------------------
# every image-taking handler, with the component that feeds it

def _editor(image):
    return {"background": image, "layers": [], "composite": image}


def _sketch(image):
    return {"background": None, "layers": [image], "composite": image}


# name -> (component kind, call(store, value))
HANDLERS = {
    "classify": ("image", lambda s, v: classifier.classify(s, "fashion-classifier", v)),
    "classify_drawing": ("sketch", lambda s, v: classifier.classify(s, "fashion-classifier", v)),
    "vae_interpolate": ("editor", lambda s, v: vae.interpolate(s, "ae", "vae2d", v, _editor(_garment()), 3,
                                                                "lerp")),
    "vae_arithmetic": ("editor", lambda s, v: vae.arithmetic(s, "vae2d", v, _editor(_garment()),
                                                              _editor(_garment()))),
    "vae_denoise": ("editor", lambda s, v: vae.denoise(s, "ae", v, 0.3, 0)),
    "pix2pix": ("image", lambda s, v: translation.pix2pix(s, "p2p", v)),
    "pix2pix_drawing": ("sketch", lambda s, v: translation.pix2pix(s, "p2p", v)),
    "cyclegan": ("image", lambda s, v: translation.cyclegan(s, "cyc", v, "A")),
    "ddpm_forward": ("image", lambda s, v: diffusion.forward_process(v, 250, "linear", 0)),
    "upscale": ("image", lambda s, v: upscale.upscale(s, v, "×4: 8 → 32 px", 0)),
    "lab_reset": ("sketch", lambda s, v: lab.reset(None, v, "drawn", "non-saturating", "adam", 1e-3, 1e-3, 1, 2, 0)),
}
WRAP = {"image": lambda im: im, "editor": _editor, "sketch": _sketch}


def _as_gradio_gives(path: Path, kind: str):
    """What Gradio's own component (without the app's check, `quiet_validation`, which may be installed at the class
    by an app built earlier in the run) hands its handler for this upload (it raises where Gradio refuses the file)."""
    data = FileData(path=str(path), orig_name=path.name)

    def plain(component, payload):
        return getattr(type(component).preprocess, "plain", type(component).preprocess)(component, payload)

    if kind == "image":
        return plain(gr.Image(type="pil", image_mode=None), ImageData(path=str(path), orig_name=path.name))
    if kind == "editor":
        return plain(gr.ImageEditor(type="pil"), EditorData(background=data, composite=data))
    return plain(gr.Sketchpad(type="pil"), EditorData(layers=[data], composite=data))


def _arrays(out) -> list[np.ndarray]:
    """The arrays of a handler's output (paths of exported files differ between calls)."""
    items = out if isinstance(out, tuple) else (out,)
    found = []
    for item in items:
        if isinstance(item, np.ndarray):
            found.append(item)
        elif isinstance(item, dict):
            found.append(np.array(list(item.values())))
    return found


def _normal(kind: str):
    if kind == "sketch":
        return _sketch(_sketch_canvas()[0])
    return WRAP[kind](Image.open(EXAMPLE))


@pytest.fixture(scope="module")
def normal_results(store):
    return {name: _arrays(call(store, _normal(kind))) for name, (kind, call) in HANDLERS.items()}


def _timed(fn):
    t0 = time.monotonic()
    try:
        return fn(), None
    except gr.Error as e:
        return None, e
    finally:
        assert time.monotonic() - t0 < TIME_LIMIT_S, f"took {time.monotonic() - t0:.1f} s"


@pytest.mark.parametrize("case", list(UPLOADS))
def test_a_hostile_upload_through_every_image_handler(case, upload_files, store, normal_results, big_decodes,
                                                      monkeypatch):
    upload, path = UPLOADS[case], upload_files[case]
    if upload.pillow != "app":
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PILLOW_LIMITS[upload.pillow])
    reached = 0
    for name, (kind, call) in HANDLERS.items():
        for form in upload.forms:
            where = f"{case} via {name} ({form})"
            t0 = time.monotonic()
            try:
                value = _as_gradio_gives(path, kind) if form == "gradio" else WRAP[kind](Image.open(path))
            except (OSError, Image.DecompressionBombError, gr.Error):
                # Gradio (or Pillow, opening it) refused the file: no handler runs. A valid image must get through.
                assert upload.refusal is not None, f"{where}: a valid upload was refused before the handler"
                assert time.monotonic() - t0 < TIME_LIMIT_S
                continue
            reached += 1
            big_decodes.clear()
            out, error = _timed(lambda: call(store, value))
            assert big_decodes == [], f"{where}: decoded an image over the cap {big_decodes}"
            if upload.refusal is not None:
                assert error is not None, f"{where}: accepted"
                assert re.search(upload.refusal, error.message), f"{where}: {error.message}"
            elif name == "lab_reset" and error is not None:
                assert "draw" in error.message, f"{where}: {error.message}"  # no ink to learn from: a fair answer
            else:
                assert error is None, f"{where}: refused a valid upload: {error.message}"
                if name == "classify":
                    seen = out[1].astype(np.float64)
                    diff = np.abs(seen - upload.expected)
                    assert diff.mean() <= upload.tolerance[0] and diff.max() <= upload.tolerance[1], (
                        f"{where}: mean |diff| {diff.mean():.2f}, max {diff.max():.0f}")
        # the next normal request still works, and gives the same answer as before any hostile input
        again = _arrays(call(store, _normal(kind)))
        assert all(np.array_equal(a, b) for a, b in zip(again, normal_results[name])), f"{case}: {name} changed"
    assert (reached > 0) == upload.reaches_handlers


def test_a_transparent_sketch_canvas_reaches_the_models_as_light_strokes_on_black(store):
    canvas, expected = _sketch_canvas()
    probs, seen = classifier.classify(store, "fashion-classifier", _sketch(canvas))
    assert np.abs(seen.astype(int) - expected).max() <= 1 and abs(sum(probs.values()) - 1) < 1e-4
    blank = _sketch(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))
    with pytest.raises(gr.Error, match="the image is empty"):  # nothing drawn: one clear message
        classifier.classify(store, "fashion-classifier", blank)
    pair = translation.pix2pix(store, "p2p", _sketch(canvas))[0]
    assert pair.ndim == 3 and pair[2 * translation.SCALE: 18 * translation.SCALE].mean() > 100  # edges: dark on white


# ---------------------------------------------------------------------------------------------------------
# where the app opens a file itself: the restore-settings drop (gr.File), the image lab's uploads, open_upload

def _png_with_settings(path: Path) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text(exports.META_KEY, json.dumps({"api": "x", "inputs": {"seed": 3}}))
    Image.new("L", (4, 4)).save(path, pnginfo=info)
    return path


@pytest.mark.parametrize("case", [c for c, u in UPLOADS.items() if u.pillow == "app"])
def test_a_hostile_file_where_the_app_opens_it_itself(case, upload_files, tmp_path, big_decodes, monkeypatch):
    upload, path = UPLOADS[case], upload_files[case]
    big_decodes.clear()

    # the restore drop: only PNGs, GIFs (and MP4s) exported by this app carry settings
    _, error = _timed(lambda: restore({}, [], str(path)))
    assert error is not None
    if upload.refusal:
        assert re.search(upload.refusal, error.message), error.message
    elif upload.suffix in (".png", ".gif"):
        assert "no playground settings" in error.message
    else:
        assert "not a PNG, GIF or MP4 exported by this app" in error.message  # what the drop zone takes
    note = restore({"x": ("gan", {})}, [], str(_png_with_settings(tmp_path / "ok.png")))[1]
    assert "restored" in note  # the next normal drop works

    # the helper, and the picture Inpaint's and the VAE's "Upload your own picture" make of a file with it (an
    # editor holding a picture offers no upload of its own): refused for the same reason, or made square
    t0 = time.monotonic()
    if upload.refusal:
        for opened in (uploads.open_upload, uploads.picture):
            with pytest.raises(UserError, match=upload.refusal):
                opened(path)
    else:
        image = uploads.open_upload(path)
        assert image.format is None  # decoded: nothing left for a plugin to read
        if case == "exif-rotated-jpeg":
            assert image.size == (40, 64)
        if case == "gif-1000-frames":
            assert np.array_equal(np.asarray(image.convert("L")), np.asarray(_garment()))
        square = uploads.picture(path)
        assert square.format is None and square.width == square.height >= uploads.MIN_SIDE
    assert time.monotonic() - t0 < 2 * TIME_LIMIT_S

    # the image lab's uploads: checked before anything is copied or a trainer starts
    monkeypatch.setattr(image_lab.subprocess, "Popen", lambda *a, **k: pytest.fail("a trainer was started"))
    good = [str(shutil.copy(EXAMPLE, tmp_path / f"good-{i}.png")) for i in range(63)]
    out = tmp_path / "run"
    t0 = time.monotonic()
    if upload.refusal:
        with pytest.raises(UserError, match=f"{path.name}: .*({upload.refusal})"):
            image_lab._options("gan", 1.0, [*good, str(path)], out)
        assert not (out / "data").exists()
    else:
        opts = image_lab._options("gan", 1.0, [*good, str(path)], out)
        assert opts["dataset"] == "folder" and len(list((out / "data").iterdir())) == 64
    assert time.monotonic() - t0 < TIME_LIMIT_S
    assert big_decodes == []


def test_the_image_lab_refuses_a_hostile_upload_with_a_clear_message(upload_files, tmp_path, monkeypatch):
    monkeypatch.setattr(image_lab, "RUNS_DIR", tmp_path / "runs")
    monkeypatch.setattr(image_lab.subprocess, "Popen", lambda *a, **k: pytest.fail("a trainer was started"))
    good = [str(shutil.copy(EXAMPLE, tmp_path / f"good-{i}.png")) for i in range(63)]
    with pytest.raises(gr.Error, match="eps-renamed-png.png: that file is not an image"):
        next(image_lab.train("gan", 1.0, [*good, str(upload_files["eps-renamed-png"])]))


def test_gradio_never_runs_ghostscript_under_the_apps_pillow_settings(upload_files, monkeypatch):
    """gr.ImageEditor converts an upload before any handler runs: an EPS would be rendered by Ghostscript
    there. A positive control first: with Pillow as shipped, Gradio's conversion does reach for it."""
    recorder = _Recorder()
    monkeypatch.setattr(EpsImagePlugin, "subprocess", recorder)
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # a fresh process: Pillow has not looked for gs yet
    eps = upload_files["eps-renamed-png"]
    with pytest.raises(OSError):
        _as_gradio_gives(eps, "editor")
    assert recorder.calls  # Pillow ran (here: tried to run) Ghostscript
    recorder.calls.clear()
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)  # the attempt above left Pillow's note that gs is missing
    uploads.harden_pillow()
    with pytest.raises(OSError):
        _as_gradio_gives(eps, "editor")
    assert recorder.calls == []


def test_the_app_applies_the_pillow_settings(tmp_path, monkeypatch):
    from playground.app import create_app

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PILLOW_DEFAULT_LIMIT)
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)
    create_app(tmp_path)
    assert Image.MAX_IMAGE_PIXELS == uploads.MAX_UPLOAD_PIXELS and EpsImagePlugin.gs_binary is False
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a deployment's lower limit is kept
    uploads.harden_pillow()
    assert Image.MAX_IMAGE_PIXELS == 1000 and uploads.pixel_cap() == 1000


# ---------------------------------------------------------------------------------------------------------
# hostile parameters, straight to each handler

NAN, INF = float("nan"), float("inf")
HUGE = 10**400  # a JSON integer too large for a float
SKETCH = _sketch(_sketch_canvas()[0])


def _run(fn):
    """Call a handler; a streaming one is run to its end."""
    out = fn()
    return list(out) if hasattr(out, "__next__") else out


def _cases(prefix: str, call, rows) -> list:
    """(id, call(store), the words the message must match) for each (arguments, words) row."""
    return [(f"{prefix}-{i}", lambda s, a=a: call(s, *a), words) for i, (a, words) in enumerate(rows)]


# ids start with the NORMAL request run after the refusal
BAD_PARAMETERS = [
    *_cases("gan", gan.sample_grid, [
        (("../../x", 0, 4, 1.0), "unknown checkpoint"), ((None, 0, 4, 1.0), "unknown checkpoint"),
        ((123, 0, 4, 1.0), "unknown checkpoint"), (("x" * 10_000, 0, 4, 1.0), "unknown checkpoint"),
        (("tiny-ddpm", 0, 4, 1.0), "needs a 'gan'"), (("tiny-gan", NAN, 4, 1.0), "seed"),
        (("tiny-gan", INF, 4, 1.0), "seed"), (("tiny-gan", -1, 4, 1.0), "seed"), (("tiny-gan", "abc", 4, 1.0), "seed"),
        (("tiny-gan", None, 4, 1.0), "seed"), (("tiny-gan", HUGE, 4, 1.0), "seed"), (("tiny-gan", [1], 4, 1.0), "seed"),
        (("tiny-gan", True, 4, 1.0), "seed"), (("tiny-gan", 0, 10**9, 1.0), "samples"),
        (("tiny-gan", 0, 0, 1.0), "samples"), (("tiny-gan", 0, "many", 1.0), "samples"),
        (("tiny-gan", 0, 4, 2.0), "truncation"), (("tiny-gan", 0, 4, NAN), "truncation"),
        (("tiny-gan", 0, 4, 1.0, "Spaceship"), "class"), (("tiny-gan", 0, 4, 1.0, ["Trouser"]), "class")]),
    *_cases("gan-walk", lambda s, *a: gan.latent_walk(s, "tiny-gan", *a), [
        ((12345, 8, "lerp", 1.0, "z"), "seeds"), (("1,x", 8, "lerp", 1.0, "z"), "seeds"),
        (("1", 8, "lerp", 1.0, "z"), "seeds"), (("1," * 10_000, 8, "lerp", 1.0, "z"), "seeds"),
        (("-5,3", 8, "lerp", 1.0, "z"), "seeds"), (("1,2", 10**9, "lerp", 1.0, "z"), "frames"),
        (("1,2", NAN, "lerp", 1.0, "z"), "frames"), (("1,2", 8, "spiral", 1.0, "z"), "path"),
        (("1,2", 8, ["lerp"], 1.0, "z"), "path"), (("1,2", 8, None, 1.0, "z"), "path"),
        (("1,2", 8, "lerp", 1.0, "q"), "space"), (("1,2", 8, "lerp", 1.0, ["z"]), "space"),
        (("1,2", 8, "lerp", 1.0, "w"), "mapping")]),
    *_cases("gan-loop", lambda s, *a: gan.random_loop(s, "tiny-gan", *a), [
        ((2**63, 8, 1.0, "z"), "seed"), ((0, 10**9, 1.0, "z"), "frames"), ((0, 8, 1.0, None), "space")]),
    *_cases("gan-edit", lambda s, *a: gan.edit(s, "tiny-gan", 0, 1.0, *a), [
        (("z", None, NAN, 0, 0, 0, 0), "direction"), (("z", None, "x", 0, 0, 0, 0), "direction"),
        (("z", None, 1e9, 0, 0, 0, 0), "direction"), ((["z"], None, 0, 0, 0, 0, 0), "space")]),
    *_cases("gan-loss", gan.checkpoint_loss, [(("../../x",), "unknown checkpoint"), ((5,), "unknown checkpoint")]),
    *_cases("vae-interpolate", lambda s, *a: vae.interpolate(s, *a), [
        (("ae", "vae2d", SKETCH, SKETCH, 10**9), "steps"), (("ae", "vae2d", SKETCH, SKETCH, "ten"), "steps"),
        (("ae", "vae2d", SKETCH, SKETCH, NAN), "steps"), (("ae", "vae2d", SKETCH, SKETCH, None), "steps"),
        (("ae", "vae2d", SKETCH, SKETCH, HUGE), "steps"), (("ae", "vae2d", SKETCH, SKETCH, 3, "zigzag"), "path"),
        (("ae", "vae2d", SKETCH, SKETCH, 3, ["lerp"]), "path"), (("ae", "vae2d", SKETCH, SKETCH, 3, None), "path"),
        (("../../x", "vae2d", SKETCH, SKETCH, 3), "unknown checkpoint")]),
    *_cases("vae-prior", lambda s, *a: vae.prior_samples(s, "vae2d", *a), [
        (("abc", 4), "seed"), ((NAN, 4), "seed"), ((-1, 4), "seed"), ((HUGE, 4), "seed"), ((None, 4), "seed"),
        ((0, 10**9), "samples"), ((0, "x"), "samples"), ((0, None), "samples")]),
    *_cases("vae-denoise", lambda s, *a: vae.denoise(s, "ae", SKETCH, *a), [
        (("loud", 0), "noise"), ((NAN, 0), "noise"), ((5, 0), "noise"), ((None, 0), "noise"),
        ((0.3, NAN), "seed"), ((0.3, "x"), "seed"), ((0.3, None), "seed"), ((0.3, INF), "seed")]),
    *_cases("vae-decode-at", lambda s, *a: vae.decode_at(s, "vae2d", *a), [
        (("abc", 0), "map"), ((NAN, 0), "map"), ((-1, 0), "map"), ((0, 10**9), "map"), ((None, None), "map"),
        ((0, HUGE), "map")]),
    *_cases("vae-map", vae.latent_map, [(("../../x",), "unknown checkpoint"), (("ae",), "2-d")]),
    *_cases("vae-arithmetic", vae.arithmetic, [((None, SKETCH, SKETCH, SKETCH), "unknown checkpoint")]),
    *_cases("pix2pix", translation.pix2pix, [
        (("p2p", SKETCH, "sideways"), "invert"), (("p2p", SKETCH, None), "invert"), (("p2p", SKETCH, 1), "invert"),
        (("p2p", SKETCH, "auto", "false"), "dropout"), (("p2p", SKETCH, "auto", False, NAN), "seed"),
        (("p2p", SKETCH, "auto", False, -1), "seed"), (("p2p", SKETCH, "auto", False, "x"), "seed"),
        (("p2p", SKETCH, "auto", False, 2**31), "seed"), (("p2p", SKETCH, "auto", False, 0, "yes"), "garment"),
        (("../../x", SKETCH), "unknown checkpoint"), (("cyc", SKETCH), "needs a 'pix2pix'")]),
    *_cases("cyclegan", lambda s, *a: translation.cyclegan(s, "cyc", SKETCH, *a), [
        (("C",), "domain"), ((None,), "domain"), ((["A"],), "domain"), (("A", "maybe"), "invert")]),
    *_cases("forward", lambda s, *a: diffusion.forward_process(Image.open(EXAMPLE), *a), [
        ((10**9, "linear"), "t must"), ((-1, "linear"), "t must"), ((NAN, "linear"), "t must"),
        (("x", "linear"), "t must"), ((None, "linear"), "t is empty"), ((HUGE, "linear"), "t must"),
        ((10, "sigmoid"), "schedule"), ((10, None), "schedule"), ((10, ["linear"]), "schedule"),
        ((10, "linear", NAN), "seed"), ((10, "linear", INF), "seed"), ((10, "linear", -1), "seed"),
        ((10, "linear", "x"), "seed")]),
    *_cases("ddpm", diffusion.denoise, [
        (("tiny-ddpm", 0, 1, "ddim", 10**9, 0.0, "Trouser", 1.0), "steps"),
        (("tiny-ddpm", 0, 1, "ddim", 0, 0.0, "Trouser", 1.0), "steps"),
        (("tiny-ddpm", 0, 1, "ddim", HUGE, 0.0, "Trouser", 1.0), "steps"),
        (("tiny-ddpm", 0, 1, "ddim", "x", 0.0, "Trouser", 1.0), "steps"),
        (("tiny-ddpm", 0, 10**9, "ddim", 5, 0.0, "Trouser", 1.0), "images"),
        (("tiny-ddpm", NAN, 1, "ddim", 5, 0.0, "Trouser", 1.0), "seed"),
        (("tiny-ddpm", None, 1, "ddim", 5, 0.0, "Trouser", 1.0), "seed"),
        (("tiny-ddpm", 0, 1, "euler", 5, 0.0, "Trouser", 1.0), "sampler"),
        (("tiny-ddpm", 0, 1, ["ddim"], 5, 0.0, "Trouser", 1.0), "sampler"),
        (("tiny-ddpm", 0, 1, "ddim", 5, 2.0, "Trouser", 1.0), "eta"),
        (("tiny-ddpm", 0, 1, "ddim", 5, 0.0, ["Trouser"], 1.0), "class"),
        (("tiny-ddpm", 0, 1, "ddim", 5, 0.0, "Trouser", 1e9), "guidance"),
        (("tiny-ddpm", 0, 1, "ddim", 5, 0.0, "Trouser", "x"), "guidance"),
        (("../../x", 0, 1, "ddim", 5, 0.0, "Trouser", 1.0), "unknown checkpoint"),
        (("tiny-gan", 0, 1, "ddim", 5, 0.0, "Trouser", 1.0), "needs a 'ddpm'")]),
    *_cases("ddpm-steps", diffusion.steps_comparison, [
        (("tiny-ddpm", INF, "ddim", "Trouser", 1.0), "seed"), (("tiny-ddpm", 0, None, "Trouser", 1.0), "sampler")]),
    *_cases("classify", classifier.classify, [
        (("../../x", SKETCH), "unknown checkpoint"), ((None, SKETCH), "unknown checkpoint"),
        (("..", SKETCH), "unknown checkpoint"), (("/etc/passwd", SKETCH), "unknown checkpoint"),
        (("fashion-classifier/../tiny-gan", SKETCH), "unknown checkpoint"),
        (("tiny-gan", SKETCH), "needs a 'classifier'"), (("fashion-classifier", SKETCH, "sideways"), "invert"),
        (("fashion-classifier", SKETCH, None), "invert"), (("fashion-classifier", "abc"), "image"),
        (("fashion-classifier", 42), "image"), (("fashion-classifier", np.zeros((4, 4), object)), "image")]),
    *_cases("lab", lambda s, *a: lab.step(None, None, *a), [
        ((10**9, "ring", "hinge", "adam", 1e-3, 1e-3, 1, 2, 0), "steps"),
        (("x", "ring", "hinge", "adam", 1e-3, 1e-3, 1, 2, 0), "steps"),
        ((None, "ring", "hinge", "adam", 1e-3, 1e-3, 1, 2, 0), "steps"),
        ((1, ["ring"], "hinge", "adam", 1e-3, 1e-3, 1, 2, 0), "target"),
        ((1, "ring", None, "adam", 1e-3, 1e-3, 1, 2, 0), "loss"),
        ((1, "ring", "hinge", "adam", 1e-3, 1e-3, 1, 2, NAN), "seed")]),
    *_cases("image-lab", lambda s, *a: _run(lambda: image_lab.train(*a)), [
        (("../x", 1.0), "family"), ((None, 1.0), "family"), ((["gan"], 1.0), "family"), (("gan", 10**9), "minutes"),
        (("gan", NAN), "minutes"), (("gan", "x"), "minutes"), (("gan", None), "minutes"), (("gan", -1), "minutes")]),
    *_cases("image-lab-save", image_lab.save, [
        (("../../x", "mine"), "no finished run"), ((None, "mine"), "train a run first"),
        ((5, "mine"), "no finished run")]),
    *_cases("upscale", upscale.upscale, [
        ((SKETCH, "../x"), "no super-resolution model"), ((SKETCH, None), "no super-resolution model"),
        ((SKETCH, ["×4: 8 → 32 px"]), "no super-resolution model"), ((SKETCH, "×4: 8 → 32 px", NAN), "seed"),
        ((SKETCH, "×4: 8 → 32 px", "x"), "seed"), ((None, "×4: 8 → 32 px"), "no image")]),
    *_cases("about", about.model_card, [(("../../x",), "unknown checkpoint"), ((None,), "unknown checkpoint")]),
]

# a normal request per family of handlers, run after each refusal
NORMAL = {
    "gan": lambda s: gan.sample_grid(s, "tiny-gan", 0, 4, 1.0),
    "vae": lambda s: vae.prior_samples(s, "vae2d", 0, 4),
    "pix2pix": lambda s: translation.pix2pix(s, "p2p", SKETCH),
    "cyclegan": lambda s: translation.cyclegan(s, "cyc", SKETCH),
    "forward": lambda s: diffusion.forward_process(Image.open(EXAMPLE), 10, "linear"),
    "ddpm": lambda s: _run(lambda: diffusion.denoise(s, "tiny-ddpm", 0, 1, "ddim", 3, 0.0, "Trouser", 1.0)),
    "classify": lambda s: classifier.classify(s, "fashion-classifier", SKETCH),
    "lab": lambda s: lab.step(None, None, 1, "ring", "hinge", "adam", 1e-3, 1e-3, 1, 2, 0),
    "image": lambda s: image_lab._options("vae", 1.0, None, Path("unused")),
    "about": lambda s: about.model_card(s, "tiny-gan"),
    "upscale": lambda s: upscale.upscale(s, SKETCH, "×4: 8 → 32 px"),
}


@pytest.mark.parametrize("case, call, words", BAD_PARAMETERS, ids=[c for c, *_ in BAD_PARAMETERS])
def test_a_hostile_parameter_gets_a_clear_message(case, call, words, store, tmp_path, monkeypatch):
    monkeypatch.setattr(image_lab, "RUNS_DIR", tmp_path / "runs")
    monkeypatch.setattr(image_lab.subprocess, "Popen", lambda *a, **k: pytest.fail("a trainer was started"))
    _, error = _timed(lambda: _run(lambda: call(store)))
    assert error is not None, "accepted"
    assert 0 < len(error.message) < 400 and "Traceback" not in error.message
    assert re.search(words, error.message), error.message
    assert NORMAL[case.split("-")[0]](store) is not None  # the next normal request still works


# ---------------------------------------------------------------------------------------------------------
# model files never run code

class _Exploit:
    """Unpickling this creates the marker file: the proof that a loader ran code from a model file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _write_exploit(how: str, path: Path, marker: Path) -> None:
    payload = {"G.weight": _Exploit(str(marker))}
    if how == "torch.save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f)


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
@pytest.mark.parametrize("ext", [".ckpt", ".pt", ".bin"])
def test_the_store_refuses_pickled_weights_and_never_runs_them(how, ext, tiny_gan, tmp_path):
    root, marker = tmp_path / "root", tmp_path / "pwned"
    shutil.copytree(tiny_gan, root / "evil")
    shutil.copytree(tiny_gan, root / "good")
    _write_exploit(how, tmp_path / f"weights{ext}", marker)
    (tmp_path / f"weights{ext}").rename(root / "evil" / ck.WEIGHTS)
    store = ModelStore(root)
    assert store.names("gan") == ["evil", "good"]  # listed: it looks like any checkpoint
    with pytest.raises(CheckpointError, match="(?s)not a valid safetensors file.*pickled"):
        store.get("evil")
    _, error = _timed(lambda: gan.sample_grid(store, "evil", 0, 4, 1.0))  # through a tab
    assert error is not None and "pickled or truncated weights are refused" in error.message
    assert gan.sample_grid(store, "good", 0, 4, 1.0).ndim == 3  # the store keeps serving the others
    assert not marker.exists()


@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_resuming_from_a_pickled_train_state_is_refused_and_never_runs_it(how, tiny_gan, tmp_path, capsys):
    """tests/test_checkpoint.py proves `load_train_state` refuses a torch.save exploit; here the same file (and a
    plain pickle) goes through the trainer's command line, and sits in a checkpoint folder the app serves."""
    from trainers.__main__ import main

    run, marker = tmp_path / "run", tmp_path / "pwned"
    shutil.copytree(tiny_gan, run)
    _write_exploit(how, tmp_path / "state.ckpt", marker)
    (tmp_path / "state.ckpt").rename(run / ck.STATE)
    assert main(["train", "gan", f"--out={run}", "--resume", "--device=cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot resume from") and "refused or unreadable" in err and "Traceback" not in err
    assert ModelStore(tmp_path).get("run").family == "gan"  # the app loads the weights, never the resume state
    assert not marker.exists()


def test_a_drawing_cropped_to_its_strokes_keeps_its_shape(store):
    """Gradio's editor sends only the strokes' bounding box: a tall, narrow drawing is centred on a square, not
    stretched into one, and its thick strokes on a transparent canvas still read as light on black."""
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    for a, b in [((100, 30), (180, 30)), ((100, 30), (95, 250)), ((180, 30), (185, 250)), ((140, 40), (140, 250))]:
        draw.line([a, b], fill="black", width=20)  # a trouser as a thick ∏
    sent = canvas.crop(canvas.getbbox())
    assert sent.width < sent.height / 2
    _, seen = classifier.classify(store, "fashion-classifier", _sketch(sent))
    columns = seen.astype(int).mean(0)
    assert columns[:6].max() < 10 and columns[-6:].max() < 10, columns  # black beside it: not stretched to fill
    assert seen[:, 8:24].mean() > 100  # the strokes, light on black (a full-width stroke border was not inverted)


@pytest.fixture(scope="module")
def app_image_inputs(store):
    """Every image input of the real app (create_app, the components wrapped as the server runs them)."""
    from playground.app import create_app

    demo = create_app(store.root)
    inputs = {block._id for dep in demo.fns.values() for block in dep.inputs}
    found = [b for b in demo.blocks.values() if b._id in inputs and isinstance(b, (gr.Image, gr.ImageEditor))]
    assert {type(b) for b in found} == {gr.Image, gr.ImageEditor, gr.Sketchpad}
    return found


def _payload(component, path: Path):
    data = FileData(path=str(path), orig_name=path.name)
    if isinstance(component, gr.Sketchpad):
        return EditorData(layers=[data], composite=data)
    if isinstance(component, gr.ImageEditor):
        return EditorData(background=data, composite=data)
    return ImageData(path=str(path), orig_name=path.name)


@pytest.mark.parametrize("case", [c for c, u in UPLOADS.items() if u.pillow == "app"])
def test_every_image_input_of_the_app_checks_the_file_before_gradio_decodes_it(case, upload_files, app_image_inputs,
                                                                               big_decodes):
    """Each image input, drawings and editors included, reads the header with the app's opener before Gradio
    opens or decodes the file: a hostile file gets our message naming the problem and the limit (Gradio's was a
    bare "Error"), nothing over the cap is ever decoded, and a good file still gets through."""
    upload, path = UPLOADS[case], upload_files[case]
    for component in app_image_inputs:
        where = f"{case} via {component.label!r} ({type(component).__name__})"
        big_decodes.clear()
        try:
            value = component.preprocess(_payload(component, path))
        except gr.Error as e:
            assert upload.refusal is not None, f"{where}: a good file was refused: {e.message}"
            assert re.search(upload.refusal, e.message), f"{where}: {e.message}"
            assert e.message != "Error" and e.print_exception is False
        else:
            assert upload.refusal is None or upload.refusal == "damaged or truncated", f"{where}: accepted"
            assert value is not None
        assert big_decodes == [], f"{where}: decoded an image over the cap {big_decodes}"


@pytest.mark.parametrize("kind", [gr.Image, gr.ImageEditor, gr.Sketchpad])
def test_a_sessions_own_copy_of_an_image_input_checks_the_file_too(kind, upload_files, app_image_inputs):
    """A session that updates a component (an upload's failure emptying the box) keeps a new instance of it in its
    state; the next text file named .png reached Gradio's decoder unchecked and the user saw no message at all
    (Classifier, a new user's walk). The check lives at the class: any instance, built at any time, has it."""
    fresh = kind(type="pil", label="a session's copy")
    with pytest.raises(gr.Error, match="not an image") as e:
        fresh.preprocess(_payload(fresh, upload_files["random-bytes"]))
    assert e.value.print_exception is False


def test_the_image_lab_names_a_lone_file_that_is_not_an_image(tmp_path, monkeypatch):
    """A new user dropped one text file named .png and read "upload 64 to 2000 images, got 1": it was counted as
    an image before it was checked."""
    monkeypatch.setattr(image_lab.subprocess, "Popen", lambda *a, **k: pytest.fail("a trainer was started"))
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    with pytest.raises(UserError, match="fake.png: that file is not an image"):
        image_lab._options("gan", 1.0, [str(fake)], tmp_path / "run")
    with pytest.raises(UserError, match="one batch at least"):  # good images, too few: counted
        image_lab._options("gan", 1.0, [str(shutil.copy(EXAMPLE, tmp_path / "good.png"))], tmp_path / "run2")


def test_the_upload_cap_counts_a_visitors_uploads_and_bytes_over_the_last_hour():
    """Per visitor, by number and by declared size, over a sliding hour; other visitors are not charged."""
    now = [0.0]
    cap = uploads.UploadCap(None, max_bytes=10, per_hour=3, bytes_per_hour=100, clock=lambda: now[0])
    assert cap.charge("a", 60) is None and cap.charge("b", 60) is None
    refused = cap.charge("a", 50)  # 110 bytes in the hour
    assert refused and "3 uploads" in refused and "1 (0.0 MB) so far" in refused
    assert cap.charge("a", 20) is None and cap.charge("a", 1) is None  # 3 uploads, 81 bytes
    assert cap.charge("a", 1) is not None  # a 4th
    now[0] = 3601.0
    assert cap.charge("a", 90) is None  # an hour later


def test_a_public_deployment_caps_each_visitors_uploads(tmp_path):
    """Through the real server with --public: the visitor's uploads are accepted up to the cap, and the next is
    refused with 429 and a sentence naming the cap, before its body is read; a private app has no such cap
    (the load test sends hundreds)."""
    import httpx

    from conftest import app_server

    png = _black_png(8, 8)
    with app_server({"TMPDIR": str(tmp_path)}, args=("--public",)) as (url, _), httpx.Client(timeout=60) as http:
        codes = [http.post(f"{url}gradio_api/upload", files={"files": ("g.png", png, "image/png")}).status_code
                 for _ in range(uploads.UPLOADS_PER_HOUR)]
        refused = http.post(f"{url}gradio_api/upload", files={"files": ("g.png", png, "image/png")})
    assert codes == [200] * uploads.UPLOADS_PER_HOUR
    assert refused.status_code == 429 and f"takes {uploads.UPLOADS_PER_HOUR} uploads" in refused.text


def test_an_uploaded_strip_keeps_its_shape_in_the_editor_and_comes_back_whole(tmp_path):
    """A 2000 x 100 strip set as the editor's picture was stretched to its square canvas: it sits centred on a
    transparent square, and what the tabs read back from the editor (`uploaded_part`) is the strip itself."""
    strip = np.random.default_rng(0).integers(0, 256, (100, 2000, 3), dtype=np.uint8)
    Image.fromarray(strip).save(tmp_path / "strip.png")
    picture = uploads.picture(tmp_path / "strip.png")
    assert picture.size == (2000, 2000) and picture.getchannel("A").getbbox() == (0, 950, 2000, 1050)
    back = uploads.uploaded_part({"background": picture, "layers": [], "composite": picture})
    assert np.array_equal(np.asarray(back.convert("RGB")), strip)
    with pytest.raises(UserError, match="too small"):
        Image.new("RGB", (4, 4)).save(tmp_path / "tiny.png")
        uploads.picture(tmp_path / "tiny.png")
