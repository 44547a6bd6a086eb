"""Exported images carry their settings in PNG metadata, and dropping one into the app restores them."""

from __future__ import annotations

import shutil

import gradio as gr
import numpy as np
import pytest
from gradio import processing_utils

from playground import common


def _served_png(image, tmp_path) -> str:
    """What Gradio writes to disk (and serves) for an image output, with its own PNG encoder."""
    return processing_utils.save_pil_to_cache(image, cache_dir=str(tmp_path), format="png")


def test_tagged_images_survive_gradios_png_encoding(tmp_path):
    def handler(name, seed, image):
        return np.zeros((4, 4, 3), np.uint8), "text"

    run = common.tagged("demo", ["checkpoint", "seed", "image"], handler)
    image, text = run("m", 3, np.zeros((2, 2)))
    assert text == "text"
    meta = common.read_settings(_served_png(image, tmp_path))
    assert meta == {"api": "demo", "inputs": {"checkpoint": "m", "seed": 3}}  # the uploaded image is no setting

    def stream(n):
        for i in range(n):
            yield np.full((2, 2), i, np.uint8)

    frames = list(common.tagged("demo_stream", ["n"], stream)(2))
    assert len(frames) == 2 and common.read_settings(_served_png(frames[1], tmp_path))["inputs"] == {"n": 2}


def test_read_settings_refuses_foreign_files(tmp_path):
    from PIL import Image

    plain = tmp_path / "plain.png"
    Image.new("L", (4, 4)).save(plain)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    for path, message in [(plain, "no playground settings"), (junk, "not an image"), (None, "drop a PNG")]:
        with pytest.raises(common.UserError, match=message):
            common.read_settings(path)


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
    tabs, note, *values = restore(demo.restorable, demo.restore_targets, path)
    assert tabs.selected == "gan" and "restored 5 settings" in note
    tab_id, inputs = demo.restorable["gan_samples"]
    by_component = dict(zip(map(id, demo.restore_targets), values))
    assert [by_component[id(inputs[k])] for k in ("checkpoint", "seed", "samples", "truncation")] == [
        "tiny-gan", 11, 4, 0.7]
    with pytest.raises(gr.Error, match="cannot be restored"):
        from PIL import Image

        other = Image.fromarray(np.zeros((2, 2), np.uint8))
        other.info["playground"] = '{"api": "nope", "inputs": {}}'
        restore(demo.restorable, demo.restore_targets, _served_png(other, tmp_path))
