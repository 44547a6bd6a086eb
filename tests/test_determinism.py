"""Determinism (issue 9, promise 9): in every tab, the same seed and settings give bit-identical images on
the same machine: each main action of the app, with the shipped models, run as A, then B (other settings),
then A again; A's two results are equal in every image, number and exported file, and differ from B's where
the seed is what changed (so the comparison can fail)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground.gan import NO_CLASS

ROOT = Path(__file__).resolve().parents[1]


def _editor(image):
    return {"background": image, "layers": [], "composite": image}


def _sketch(image):
    return {"background": None, "layers": [image], "composite": image}


@pytest.fixture(scope="module")
def app():
    from playground.app import create_app

    return create_app(ROOT / "checkpoints")


@pytest.fixture(scope="module")
def images():
    from trainers.core.data import load_dataset

    test = load_dataset("fashion-mnist", split="test", image_size=28)
    garments = [Image.fromarray(test.images[i, 0].numpy()).convert("RGB") for i in (0, 1, 9)]
    drawing = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    drawing.paste((0, 0, 0, 255), (16, 10, 48, 54))  # a dark shape on a transparent canvas
    return garments, drawing


def cases(garments, drawing):
    """api name -> (settings A, settings B): B changes the seed where the action has one."""
    g0, g1, g2 = garments
    lab = ["ring", "non-saturating", "adam", 1e-3, 1e-3, 1, 2]
    t2i = ["ldm-fashion-captions", "", "a small red sneaker", ""]
    uc = ["unclip-decoder-fashion"]
    return {
        "gan_samples": (["dcgan-ns-fashion", 5, 4, 0.8, NO_CLASS], ["dcgan-ns-fashion", 6, 4, 0.8, NO_CLASS]),
        "gan_walk": (["dcgan-mapping-fashion", "1, 2", 4, "slerp", 1.0, "w", NO_CLASS, NO_CLASS],
                     ["dcgan-mapping-fashion", "3, 4", 4, "slerp", 1.0, "w", NO_CLASS, NO_CLASS]),
        "gan_loop": (["cdcgan-ns-fashion", 5, 6, 1.0, "z", "Sneaker"], ["cdcgan-ns-fashion", 6, 6, 1.0, "z", "Sneaker"]),
        "gan_edit": (["dcgan-ns-fashion", 5, 1.0, "z", NO_CLASS, 1.5, 0, -1, 0, 0],
                     ["dcgan-ns-fashion", 6, 1.0, "z", NO_CLASS, 1.5, 0, -1, 0, 0]),
        "vae_interpolate": (["ae-conv16-fashion", "vae-conv16-fashion", _editor(g0), _editor(g1), 5, "lerp"],
                            ["ae-conv16-fashion", "vae-conv16-fashion", _editor(g0), _editor(g2), 5, "lerp"]),
        "vae_arithmetic": (["vae-conv16-fashion", _editor(g0), _editor(g1), _editor(g2)],
                           ["vae-conv16-fashion", _editor(g2), _editor(g1), _editor(g0)]),
        "vae_prior_samples": (["vae-conv16-fashion", 5, 4], ["vae-conv16-fashion", 6, 4]),
        "vae_denoise": (["dae-conv32-fashion", _editor(g0), 0.3, 5], ["dae-conv32-fashion", _editor(g0), 0.3, 6]),
        "pix2pix": (["pix2pix-sketches-fashion", g0, "auto", True, 5, True],
                    ["pix2pix-sketches-fashion", g0, "auto", True, 6, True]),
        "pix2pix_drawing": (["pix2pix-silhouette-fashion", _sketch(drawing), "auto", True, 5],
                            ["pix2pix-silhouette-fashion", _sketch(drawing), "auto", True, 6]),
        "cyclegan": (["cyclegan-sneaker-boot-fashion", g2, "A", "auto"],
                     ["cyclegan-sneaker-boot-fashion", g0, "A", "auto"]),
        "ddpm_forward": ([g0, 250, "linear", 5], [g0, 250, "linear", 6]),
        "ddpm_denoise": (["ddpm-fashion", 5, 2, "ddim", 10, 0.5, "Sneaker", 2.0],
                         ["ddpm-fashion", 6, 2, "ddim", 10, 0.5, "Sneaker", 2.0]),
        "inpaint": (["ddpm-fashion", _editor(g0), "centre box", "RePaint", 2, 10, "(any: unconditional)", 1.0, 5],
                    ["ddpm-fashion", _editor(g0), "centre box", "RePaint", 2, 10, "(any: unconditional)", 1.0, 6]),
        "upscale": ([g0, "×4: 8 → 32 px", 5], [g0, "×4: 8 → 32 px", 6]),
        "text_to_image": ([*t2i, 3.0, 6, "ddpm", 5, 2], [*t2i, 3.0, 6, "ddpm", 6, 2]),
        "t2i_guidance": ([*t2i, 3.0, 6, "ddim", 5, 2], [*t2i, 3.0, 6, "ddim", 6, 2]),
        "t2i_attention": ([*t2i[:3], 3.0, 6, "dpm++", 5], [*t2i[:3], 3.0, 6, "dpm++", 6]),
        "compare": ([["dcgan-ns-fashion", "vae-conv16-fashion", "ddpm-fashion", "ldm-fashion-captions"], 5, 2,
                     "Sneaker", 5, 1.0],
                    [["dcgan-ns-fashion", "vae-conv16-fashion", "ddpm-fashion", "ldm-fashion-captions"], 6, 2,
                     "Sneaker", 5, 1.0]),
        "xy_grid": (["ddpm-fashion", "seed", "1, 2", "steps", "5, 10", 0, 5, 1.0, 1.0, "ddim", "Sneaker"],
                    ["ddpm-fashion", "seed", "3, 4", "steps", "5, 10", 0, 5, 1.0, 1.0, "ddim", "Sneaker"]),
        "timeline": (["dcgan-ns-fashion", 2], ["dcgan-ns-fashion", 3]),
        "lab_reset": ([None, None, *lab, 5], [None, None, *lab, 6]),
        "lab_step": ([None, None, 20, *lab, 5], [None, None, 20, *lab, 6]),
        "unclip": ([*uc, "unclip-prior-fashion", "a small red sneaker", 5, 2, 3.0, 5],
                   [*uc, "unclip-prior-fashion", "a small red sneaker", 6, 2, 3.0, 5]),
        "unclip_embeddings": ([*uc, "unclip-prior-fashion", "a small red sneaker", 5, 2],
                              [*uc, "unclip-prior-fashion", "a small red sneaker", 6, 2]),
        "unclip_variations": ([*uc, g0, "blue", "large", 5, 2, 3.0, 5], [*uc, g0, "blue", "large", 6, 2, 3.0, 5]),
        "unclip_interpolate": ([*uc, g0, g1, "blue", "large", 5, 3, 3.0, 5], [*uc, g0, g1, "blue", "large", 6, 3, 3.0, 5]),
        "unclip_text_diff": ([*uc, g0, "blue", "large", "a large blue sneaker", "a large blue bag", 5, 3, 3.0, 5],
                             [*uc, g0, "blue", "large", "a large blue sneaker", "a large blue bag", 6, 3, 3.0, 5]),
        "classify": (["fashion-classifier", g0, "auto"], ["fashion-classifier", g1, "auto"]),
        "classify_drawing": (["fashion-classifier", _sketch(drawing), "auto"],
                             ["fashion-classifier", _sketch(drawing.rotate(90)), "auto"]),
    }


def _run(fn, args):
    out = fn(*args)
    if hasattr(out, "__next__"):  # a streaming handler: its last update is the result
        for out in out:
            pass
    return out


def _leaves(out) -> list:
    """Every image (as an array), number, string and exported file's bytes in a handler's output."""
    import pandas as pd

    found = []

    def is_file(v: str) -> bool:
        try:
            return "\n" not in v and len(v) < 1024 and Path(v).is_file()
        except OSError:  # a note's sentence of over 255 characters: no file name
            return False

    def walk(v):
        if isinstance(v, Image.Image):
            found.append(np.asarray(v))
        elif isinstance(v, np.ndarray):
            found.append(v)
        elif isinstance(v, pd.DataFrame):
            found.append(v.to_csv())
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k in sorted(v, key=str):
                walk(k)
                walk(v[k])
        elif isinstance(v, str) and is_file(v):  # an export's path: its bytes, and its (first) frame
            found.append(Path(v).read_bytes())
            if Path(v).suffix in (".png", ".gif"):
                found.append(np.asarray(Image.open(v).convert("RGB")))
        elif isinstance(v, str) and Path(v).suffix in (".png", ".gif", ".mp4") and "\n" not in v:  # gone already
            found.append(f"missing file {v}".encode())
        elif isinstance(v, (str, int, float, bool)) or v is None:
            found.append(v)
        else:  # a Gradio update, a toy lab's state ...: its repr stands for it
            found.append(type(v).__name__)

    walk(out)
    return found


def _equal(a, b) -> bool:
    """The same images (bit for bit) and the same exported files (byte for byte); text and tables may hold
    live timings ("0.41 s per image"), so they are not compared."""
    return _difference(a, b) is None


def _difference(a, b) -> str | None:
    """Where two outputs' images and files first differ, in words (None: they do not)."""
    a, b = _images(a), _images(b)
    if len(a) != len(b):
        return f"{len(a)} images/files against {len(b)}"
    for k, (x, y) in enumerate(zip(a, b)):
        if isinstance(x, np.ndarray) != isinstance(y, np.ndarray):
            return f"item {k}: {type(x).__name__} against {type(y).__name__}"
        if isinstance(x, np.ndarray) and x.shape != y.shape:
            return f"item {k}: shape {x.shape} against {y.shape}"
        if isinstance(x, np.ndarray) and not np.array_equal(x, y):
            diff = np.abs(x.astype(np.int64) - y.astype(np.int64))
            return f"item {k}: image {x.shape}, {int((diff > 0).sum())} values differ, by up to {int(diff.max())}"
        if isinstance(x, bytes) and x != y:
            first = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
            return f"item {k}: file of {len(x)} bytes against {len(y)}, first difference at byte {first}"
    return None


def _images(leaves) -> list:
    return [x for x in leaves if (isinstance(x, np.ndarray) and x.ndim >= 2) or isinstance(x, bytes)]


def test_every_tab_is_deterministic(app, images):
    fns = {d.api_name: d.fn for d in app.fns.values() if d.api_name}
    table = cases(*images)
    tabs = {"gan_samples": "GAN", "vae_prior_samples": "VAE", "pix2pix": "Translation", "ddpm_denoise": "Diffusion",
            "inpaint": "Inpaint & upscale", "text_to_image": "Text to image", "compare": "Compare", "lab_step": "Train live",
            "classify": "Classifier"}
    assert set(tabs) <= set(table) and set(table) <= set(fns), set(table) - set(fns)
    failures, differ = [], []
    for api, (a, b) in table.items():
        first = _leaves(_run(fns[api], a))
        other = _leaves(_run(fns[api], b))
        again = _leaves(_run(fns[api], a))
        assert any(isinstance(x, np.ndarray) for x in _images(first)), f"{api} returned no image"
        if (why := _difference(first, again)) is not None:
            failures.append(f"{api} ({why})")
        if not _equal(first, other):
            differ.append(api)
    assert not failures, f"not bit-identical with the same seed and settings: {failures}"
    # the comparison can fail: B (another seed or input) gives other results in every action
    assert set(differ) == set(table), f"B gave A's results in {sorted(set(table) - set(differ))}"
    print(f"\n{len(table)} actions over {len(set(tabs.values()))}+ tabs: bit-identical on a repeat, "
          f"different for other settings")
