"""The VAE tab's handlers, called as plain functions on tiny models trained here."""

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

from playground import vae as tab
from playground.views import MIN_FRAME_PX, OUTPUT_WIDTH
from playground.models import ModelStore
from trainers.core.latent import lerp, slerp
from trainers import fit


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_fashion):
    from trainers.core import data

    root = tmp_path_factory.mktemp("vae-store")
    mp = pytest.MonkeyPatch()
    mp.setattr(data, "CACHE_DIR", tmp_path_factory.mktemp("vae-cache"))
    common = {"data_dir": str(tiny_fashion), "width": "8", "steps": "2", "batch_size": "32", "device": "cpu", "monitor_n": "0"}
    try:
        for name, opts in {"ae": {"variational": "false", "latent_dim": "8"}, "vae": {"latent_dim": "8"},
                           "vae2d": {"latent_dim": "2"},
                           "dae": {"variational": "false", "noise_std": "0.3", "latent_dim": "8"}}.items():
            fit("vae", {**common, **opts, "out": str(root / name)})
    finally:
        mp.undo()
    return ModelStore(root)


def test_slerp_and_lerp_endpoints_and_norm():
    z0, z1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    t = torch.linspace(0, 1, 5)
    for f in (lerp, slerp):
        path = f(z0, z1, t)
        assert torch.allclose(path[0], z0) and torch.allclose(path[-1], z1)
    mid = slerp(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), torch.tensor([0.5]))[0]
    assert torch.allclose(mid, torch.tensor([2 ** -0.5, 2 ** -0.5]))  # stays on the unit circle
    assert torch.allclose(slerp(z0, 3 * z0, t), lerp(z0, 3 * z0, t))  # parallel: falls back to lerp


def test_interpolation_strips_and_gif(store):
    a, b = tab.gallery_image(0), tab.gallery_image(1)
    strip_ae, strip_vae, recon, gif = tab.interpolate(store, "ae", "vae", a, b, 6, "slerp")
    assert strip_ae.shape == strip_vae.shape and strip_ae.shape[1] <= OUTPUT_WIDTH
    assert strip_ae.shape[0] >= MIN_FRAME_PX
    assert recon.ndim == 3 and recon.shape[1] < 1.5 * recon.shape[0]  # A's row over B's row
    with Image.open(gif) as im:
        assert im.n_frames == 2 * 6 - 2
    again = tab.interpolate(store, "ae", "vae", a, b, 6, "slerp")
    assert np.array_equal(strip_vae, again[1])


def test_uploads_of_any_mode_and_a_transparent_drawing(store):
    rgba = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (100, 50, 200, 150))  # black strokes on a transparent canvas
    editor_value = {"background": None, "layers": [], "composite": rgba}
    cmyk = Image.new("CMYK", (50, 50), (0, 0, 0, 0))
    strips = tab.interpolate(store, "ae", "vae", editor_value, cmyk, 3, "lerp")
    assert strips[0].shape[0] > 0

    with pytest.raises(gr.Error, match="image A: no image"):
        tab.interpolate(store, "ae", "vae", None, cmyk, 3, "lerp")
    with pytest.raises(gr.Error, match="image B: no image"):  # which of the two: the message used not to say
        tab.interpolate(store, "ae", "vae", cmyk, None, 3, "lerp")
    with pytest.raises(gr.Error, match="steps"):
        tab.interpolate(store, "ae", "vae", cmyk, cmyk, 10**9, "lerp")
    with pytest.raises(gr.Error, match="unknown checkpoint"):
        tab.interpolate(store, "../ae", "vae", cmyk, cmyk, 3, "lerp")


def test_latent_map_click_arithmetic_prior_and_denoise(store):
    scatter, manifold = tab.latent_map(store, "vae2d")
    assert scatter.shape[:2] == (tab.MAP_PX + tab.LEGEND_PX, tab.MAP_PX) and manifold.shape[0] == manifold.shape[1]
    image, coords = tab.decode_at(store, "vae2d", 0, 0)
    assert coords == "z = (-3.00, 3.00)" and image.ndim == 3
    with pytest.raises(gr.Error, match="outside the map .on its legend"):  # a click on the legend under it
        tab.decode_at(store, "vae2d", 100, tab.MAP_PX + 20)
    # a click marks its point on the map (nothing showed where the decoded garment came from)
    marked, image_at, coords_at = tab.click_map(store, "vae2d", 200, 150)
    assert coords_at == tab.decode_at(store, "vae2d", 200, 150)[1] and np.array_equal(image_at,
                                                                                      tab.decode_at(store, "vae2d", 200, 150)[0])
    changed = np.argwhere((marked != scatter).any(-1))
    assert len(changed) and np.abs(changed.mean(0) - [150, 200]).max() < 2  # drawn around the click, nowhere else
    assert (np.abs(changed - [150, 200]).max(1) <= 17).all() and (marked[150 - 9, 200] == 0).all()

    with pytest.raises(gr.Error, match="2-d"):
        tab.latent_map(store, "vae")
    out = tab.arithmetic(store, "vae", tab.gallery_image(0), tab.gallery_image(1), tab.gallery_image(2))
    assert out.shape[1] > 3.5 * out.shape[0]
    s1, s2 = tab.prior_samples(store, "vae", 4, 8), tab.prior_samples(store, "vae", 4, 8)
    assert np.array_equal(s1, s2)
    with pytest.raises(gr.Error, match="no prior"):
        tab.prior_samples(store, "ae", 0, 4)
    noisy, clean = tab.denoise(store, "dae", tab.gallery_image(3), 0.5, 0)
    assert noisy.shape == clean.shape
    assert tab.names(store, variational=True, latent_dim=2) == ["vae2d"] and tab.names(store, denoising=True) == ["dae"]


def test_the_latent_map_numbers_its_axes(store):
    """The map said only "z1, z2 in [-3, 3]" in a corner: its axes carry tick marks, with their values (black, over
    a white halo) at ±1.5 (r = 3) and the square's edges ±3 along the bottom (z1) and left (z2) edges, not on the
    axes, where they sat over the densest points (a walk), each beside its tick mark, and the axes' names at their
    ends."""
    scatter, _ = tab.latent_map(store, "vae2d")
    centre, end = tab.MAP_PX // 2, tab.MAP_PX
    dark = (scatter[..., :3] < 60).all(-1)
    for v in (-1.5, 1.5):
        px, py = tab._to_px(np.array([[v, v]], dtype=float), 3.0)[0]
        # each beside its tick, not run through by it (the left ticks read as minus signs, "--1.5")
        assert dark[end - 20:end, px + 3:px + 36].sum() > 8, f"no z1 value at the bottom right of {v}"
        assert dark[end - 20:end, px - 1:px + 2].sum() == 0, f"the z1 value at {v} sits on its tick"
        assert dark[py - 20:py - 1, 2:40].sum() > 8, f"no z2 value at the left edge above {v}"
        assert dark[py - 1:py + 2, 0:40].sum() == 0, f"the z2 value at {v} sits on its tick"
        # the axes themselves carry no value: at most the grey tick
        assert dark[centre + 7:centre + 24, px - 14:px + 15].sum() == 0, f"a value on the z1 axis at {v}"
        assert dark[py - 8:py + 9, centre - 40:centre - 7].sum() == 0, f"a value on the z2 axis at {v}"
    assert dark[end - 20:end, 2:30].sum() > 8 and dark[end - 20:end, end - 30:end - 2].sum() > 8  # -3, 3
    assert dark[4:24, 2:35].sum() > 8  # z2's 3 at the top of the left edge
    assert dark[centre - 22:centre - 5, tab.MAP_PX - 24:tab.MAP_PX - 3].sum() > 8  # "z1" at the right end
    assert dark[3:22, centre + 6:centre + 28].sum() > 8  # "z2" at the top


def test_the_interpolations_strips_come_before_its_gif_is_encoded(store, monkeypatch):
    """The page's interpolation yields the strips first (the GIF's encoding took ~60 of ~76 ms in front of
    them), then the same strips with the new GIF, as `interpolate` returns."""
    encoded = []
    real = tab.gif_bytes
    monkeypatch.setattr(tab, "gif_bytes", lambda *a, **k: encoded.append(1) or real(*a, **k))
    a, b = tab.gallery_image(0), tab.gallery_image(1)
    stream = tab.interpolate_shown_first(store, "ae", "vae", a, b, 6, "slerp")
    first = next(stream)
    assert not encoded and all(isinstance(v, np.ndarray) for v in first[:3])
    assert isinstance(first[3], dict) and first[3].get("__type__") == "update"  # gr.skip(): the GIF as it was
    (last,) = list(stream)
    whole = tab.interpolate(store, "ae", "vae", a, b, 6, "slerp")
    assert encoded and all(np.array_equal(x, y) for x, y in zip(last[:3], whole[:3]))
    assert open(last[3], "rb").read() == open(whole[3], "rb").read()


def test_interpolating_an_image_unlike_the_data_warns(store, monkeypatch):
    """A 300 x 200 noise photo went into image A with no word, and came out as grey blurs: the page warns."""
    said = []
    monkeypatch.setattr(gr, "Warning", lambda message, *a, **k: said.append(message))
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8))
    sneaker = Image.open(tab.__file__.replace("vae.py", "examples/7-sneaker.png"))
    names = store.names("vae")
    list(tab.interpolate_shown_first(store, names[0], names[0], noise, sneaker, 4, "lerp"))
    assert len(said) == 1 and said[0].startswith("image A: This image is unlike the data"), said
    said.clear()
    list(tab.interpolate_shown_first(store, names[0], names[0], sneaker, sneaker, 4, "lerp"))
    assert not said


def test_an_editors_letterboxed_upload_is_judged_without_its_margin(store, monkeypatch):
    """In the page the editor letterboxes a 300 x 200 photo in its square canvas with transparent bands: judged
    with them, the noise photo read as a garment on black and went in unsaid."""
    said = []
    monkeypatch.setattr(gr, "Warning", lambda message, *a, **k: said.append(message))
    noise = np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)
    canvas = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    canvas.paste(Image.fromarray(noise).convert("RGBA"), (0, 50))
    editor = {"background": canvas, "layers": [], "composite": canvas}
    sneaker = Image.open(tab.__file__.replace("vae.py", "examples/7-sneaker.png"))
    names = store.names("vae")
    list(tab.interpolate_shown_first(store, names[0], names[0], sneaker, editor, 4, "lerp"))
    assert len(said) == 1 and said[0].startswith("image B: This image is unlike the data"), said


def test_an_editors_letterboxed_upload_goes_in_as_the_photo_it_is(store):
    """A 600 x 400 photo of a light garment on white, letterboxed by the editor in a square canvas with
    transparent bands, went into the models as a white band between black bars (the bands flattened as a
    drawing's canvas is, black under light ink). It goes in as the photo does on its own, and a drawing keeps
    its square canvas."""
    model = store.get(store.names("vae")[0], "vae")
    photo = Image.new("RGB", (600, 400), (255, 255, 255))
    photo.paste((200, 200, 200), (250, 40, 350, 360))  # a light grey trouser-like bar on white
    canvas = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    canvas.paste(photo.convert("RGBA"), (0, 100))
    editor = {"background": canvas, "layers": [], "composite": canvas}
    alone, boxed = tab._to_model(model, photo)[0, 0].numpy(), tab._to_model(model, editor)[0, 0].numpy()
    assert np.array_equal(alone, boxed)
    assert boxed[0].mean() < 30 and boxed[:, 0].mean() < 30  # Fashion-MNIST's black background all round

    strokes = Image.new("RGBA", (60, 60), (0, 0, 0, 0))
    strokes.paste((255, 255, 255, 255), (25, 5, 35, 55))  # a light stroke on a transparent canvas
    drawn = tab._to_model(model, {"background": None, "layers": [strokes], "composite": strokes})[0, 0].numpy()
    s = model.cfg.image_size
    assert drawn[:, : s // 4].max() < 30 < drawn[s // 2].max()  # the stroke in the middle, not stretched to the edges
