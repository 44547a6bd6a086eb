"""Inpainting with a DDPM (replace and RePaint): the sampler against an exact denoiser, and the tab's handler on
a tiny trained DDPM."""

from __future__ import annotations

import shutil

import gradio as gr
import numpy as np
import pytest
import torch

from playground import inpaint as tab
from playground.models import ModelStore
from trainers.core.errors import UserError
from trainers.ddpm.diffusion import Schedule
from trainers.ddpm.inpaint import MASKS, blur_fill, check_mask, make_mask, repaint
from trainers.ddpm.samplers import timesteps

S = 8
A = torch.full((1, 1, S, S), -1.0)
A[..., :, : S // 2] = 1.0  # bright left half
B = -A  # bright right half
SCHED = Schedule("linear", 100)


def exact_eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The exact noise prediction for data that is A or B with equal odds: eps = (x_t - sqrt(a_bar) E[x0 | x_t])
    / sqrt(1 - a_bar), with E[x0 | x_t] weighted by each point's Gaussian likelihood q(x_t | x0)."""
    ab = SCHED.alpha_bar[t].view(-1, 1, 1, 1)
    d = torch.stack([((x - ab.sqrt() * c) ** 2).flatten(1).sum(1) for c in (A, B)], 1) / (2 * (1 - ab.flatten()[:, None]))
    w = torch.softmax(-d, 1).view(-1, 2, 1, 1, 1)
    return (x - ab.sqrt() * (w[:, 0] * A + w[:, 1] * B)) / (1 - ab).sqrt()


def _filled(r: int, steps: int = 10, n: int = 400) -> tuple[torch.Tensor, torch.Tensor]:
    mask = torch.ones(n, 1, S, S)
    mask[..., :, 2:] = 0  # two known columns of A's bright half; the rest is the hole
    x0 = A.expand(n, -1, -1, -1)
    for _, _, x, _ in repaint(exact_eps, SCHED, x0, mask, torch.Generator().manual_seed(1), steps, r):
        pass
    return x, mask


def test_repaint_keeps_the_known_pixels_and_resampling_harmonises_the_hole():
    """With the exact denoiser of a two-point dataset, the only right fill of A's known pixels is A's own hole.
    Replacing the known pixels alone (r = 1) fills it with B's half 28 % of the time: the hole commits before it
    sees the known part clearly. RePaint's resampling (r = 10) harmonises it more often (0.715 -> 0.79)."""
    rates = {}
    for r in (1, 10):
        x, mask = _filled(r)
        assert torch.equal(x[mask.bool().expand_as(x)], A.expand_as(x)[mask.bool().expand_as(x)])  # kept exactly
        hole = ~mask.bool()
        rates[r] = float(((x - A).abs()[hole].view(len(x), -1).mean(1) < 0.5).float().mean())
    assert 0.5 < rates[1] < 0.9 and rates[10] >= rates[1] + 0.05, rates


def test_the_hole_carries_the_forward_processs_noise_at_every_step():
    """With a one-garment dataset (x0_hat is exact), each reverse step must leave the hole as noisy as q(x_t' | x0):
    variance 1 - alpha_bar_t'. The upper bound sigma^2 = beta of a respaced chain left more noise at every step than
    the network is trained to remove, and the tab's fills kept a grain of it (FID 18.4 against 12.0)."""
    sched = Schedule("cosine", 100)  # x_T ~ N(0, I) is q(x_T | x0) (linear's alpha_bar_T is 0.36 at T = 100)

    def one_point_eps(x, t):
        ab = sched.alpha_bar[t].view(-1, 1, 1, 1)
        return (x - ab.sqrt() * A) / (1 - ab).sqrt()

    mask = torch.ones(400, 1, S, S)
    mask[..., :, 2:] = 0
    ts = None
    for i, t, x, _ in repaint(one_point_eps, sched, A.expand(400, -1, -1, -1), mask, torch.Generator().manual_seed(2),
                              10, 3):
        ts = ts or timesteps(sched.T, 10)
        if i + 1 < len(ts):
            ab = sched.alpha_bar_at(ts[i + 1])
            var = float((x - ab.sqrt() * A)[~mask.bool().expand_as(x)].var())
            assert abs(var / float(1 - ab) - 1) < 0.06, (i, var, float(1 - ab))


def test_masks_and_their_checks():
    gen = torch.Generator().manual_seed(0)
    for kind in MASKS:
        m = make_mask(kind, 3, 32, gen)
        assert m.shape == (3, 1, 32, 32) and 0.05 < float(1 - m.mean()) < 0.6, kind  # a hole, not all of it
    assert float(1 - make_mask("bottom half", 1, 32, gen)[..., 16:, :].mean()) == 1.0
    x0 = torch.zeros(2, 1, 32, 32)
    with pytest.raises(UserError, match="keeps every pixel"):
        check_mask(torch.ones(1, 1, 32, 32), x0)
    with pytest.raises(UserError, match="mask must be"):
        check_mask(torch.ones(1, 1, 16, 16), x0)
    with pytest.raises(UserError, match="mask must be one of"):
        make_mask("circle", 1, 32, gen)
    with pytest.raises(UserError, match="resampling r"):
        next(repaint(exact_eps, SCHED, A, torch.zeros(1, 1, S, S), gen, 5, 0))


def test_blur_fill_keeps_the_known_pixels_and_fills_between_them():
    x0 = torch.linspace(-1, 1, 32).view(1, 1, 1, 32).expand(1, 1, 32, 32).clone()  # a left-to-right ramp
    mask = make_mask("centre box", 1, 32, torch.Generator())
    out = blur_fill(x0, mask)
    assert torch.equal(out[mask.bool()], x0[mask.bool()])
    assert (out - x0)[~mask.bool()].abs().mean() < 0.05  # a harmonic fill of a ramp is the ramp


@pytest.fixture(scope="module")
def store(tiny_ddpm, tmp_path_factory):
    root = tmp_path_factory.mktemp("inpaint-store")
    shutil.copytree(tiny_ddpm, root / "tiny-ddpm")
    return ModelStore(root)


def _editor(image, layers=()):
    return {"background": image, "layers": list(layers), "composite": image}


def test_the_tab_fills_a_painted_hole_and_streams_the_run(store):
    from PIL import Image

    garment = tab.example(7)
    paint = Image.new("RGBA", (tab.CANVAS, tab.CANVAS), (0, 0, 0, 0))
    paint.paste((230, 60, 60, 255), (0, tab.CANVAS // 2, tab.CANVAS, tab.CANVAS))  # the bottom half painted
    runs = list(tab.fill(store, "tiny-ddpm", _editor(garment, [paint]), tab.PAINTED, "RePaint", 2, 5, "Sneaker",
                         2.0, 0))
    assert runs[0][4].startswith("starting") and len(runs) >= 3
    hole, xt, x0, result, done, gif = runs[-1]
    assert done.startswith("done: 5 steps, RePaint r = 2") and gif.endswith(".gif")
    assert hole.shape == xt.shape == x0.shape == (tab.CANVAS, tab.CANVAS, 3)  # 16 px shown at 256
    red = tab.in_hole(hole)
    assert red[tab.CANVAS // 2:].all() and not red[: tab.CANVAS // 2].any()  # the painted half is the hole
    seen = tab.image_to_grey(Image.fromarray(garment), 16)  # the kept half is the garment, pixel for pixel
    assert np.array_equal(xt[: tab.CANVAS // 2: 16, ::16, 0], seen[:8])
    assert result.shape[1] > 3 * tab.CANVAS  # original | kept | filled
    again = list(tab.fill(store, "tiny-ddpm", _editor(garment, [paint]), tab.PAINTED, "RePaint", 2, 5, "Sneaker",
                          2.0, 0))[-1]
    assert np.array_equal(again[1], xt)  # the seed fixes the run


def test_a_picture_unlike_the_data_is_filled_with_a_word_about_it(store):
    """An upload of noise (a photo on a busy ground reads the same) was filled with no word, as if it were a
    garment: the last line says it is unlike the data; a shipped garment's does not."""
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    notes = [list(tab.fill(store, "tiny-ddpm", _editor(picture), "centre box", "replace", 1, 2, tab.ANY_CLASS, 0.0,
                           0))[-1][4] for picture in (noise, tab.example(7))]
    assert "unlike the data" in notes[0] and "done: 2 steps" in notes[0]
    assert "unlike" not in notes[1] and notes[1].startswith("done: 2 steps")


def test_the_tab_refuses_what_it_cannot_fill(store):
    garment = tab.example(0)
    for args, message in [((_editor(garment), tab.PAINTED, "RePaint", 2, 5), "nothing painted"),
                          ((None, "centre box", "RePaint", 2, 5), "no image"),
                          ((_editor(garment[:1, :1]), "centre box", "RePaint", 2, 5), "too small"),  # 1x1 px
                          ((_editor(garment), "circle", "RePaint", 2, 5), "mask must be one of"),
                          ((_editor(garment), "centre box", "magic", 2, 5), "method must be"),
                          ((_editor(garment), "centre box", "RePaint", 50, 5), "resampling r"),
                          ((_editor(garment), "centre box", "replace", 2, 5000), "steps")]:
        with pytest.raises(gr.Error, match=message):
            list(tab.fill(store, "tiny-ddpm", *args, tab.ANY_CLASS, 1.0, 0))


def test_the_cli_fills_a_users_28px_images_and_measures_the_methods(tiny_ddpm, tmp_path, capsys):
    """`python -m trainers inpaint` takes Fashion-MNIST's own 28-px images for a 16-px model (resized as training
    did), keeps every pixel outside the hole, and `--evaluate` reports each method with both judges."""
    import json

    from trainers.__main__ import main
    from trainers.core.data import fit_images, load_dataset
    from trainers.core.images import from_hwc_array

    images = load_dataset("fashion-mnist", split="test", image_size=28).images[:6]
    np.savez(tmp_path / "in.npz", images=images.permute(0, 2, 3, 1).numpy())
    assert main(["inpaint", str(tiny_ddpm), "--input", str(tmp_path / "in.npz"), "--mask=centre_box",
                 "--resample", "2", "--steps", "4", "--out", str(tmp_path / "out.npz")]) == 0
    out = from_hwc_array(np.load(tmp_path / "out.npz")["images"])
    seen, _ = fit_images(images, 16, 1)
    kept = make_mask("centre box", 6, 16, torch.Generator()).bool().expand_as(out)
    assert out.shape == (6, 1, 16, 16) and torch.equal(out[kept], seen[kept]) and not torch.equal(out, seen)
    capsys.readouterr()
    assert main(["inpaint", str(tiny_ddpm), "--evaluate", "--n", "20", "--steps", "3", "--resample", "2",
                 "--judge", str(ModelStore().path("fashion-classifier-mlp"))]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["method"] for r in rows[:4]] == ["original", "blur fill", "replace", "RePaint r=2"]
    assert len(rows) == 4 * len(MASKS) and all(r["kept_exact"] for r in rows)
    assert all(0 <= r["class_kept_cnn"] <= 1 and r["fid_judge"] >= 0 for r in rows)
    assert rows[0]["class_kept_cnn"] > 0.6  # the originals, judged: the bar the fills are measured against
    assert main(["inpaint", str(tiny_ddpm), "--input", str(tmp_path / "in.npz"), "--mask", "circle",
                 "--out", str(tmp_path / "x.npz")]) == 2


def test_strokes_over_a_wide_upload_mark_the_same_part_of_the_picture():
    """The editor fits a 2:1 upload into its square canvas (bands above and below), and the model sees the picture
    letterboxed the same way, not squashed: the hole is where the strokes cross the picture."""
    from PIL import Image

    wide = Image.new("L", (200, 100), 0)
    canvas = Image.new("RGBA", (tab.CANVAS, tab.CANVAS), (0, 0, 0, 0))
    top = (tab.CANVAS - tab.CANVAS // 2) // 2  # the picture spans rows top .. top + 128 of the canvas
    canvas.paste((230, 60, 60, 255), (0, top, tab.CANVAS // 2, top + tab.CANVAS // 2))  # its left half painted
    _, mask = tab.read_editor(_editor(wide, [canvas]), tab.PAINTED, 0, 32)
    hole = (mask[0, 0] < 0.5).numpy()
    assert hole[8:24, :16].all() and not hole[:, 16:].any() and not hole[:8].any() and not hole[24:].any()
    _, same = tab.read_editor(_editor(wide, [canvas.crop((0, top, tab.CANVAS, top + tab.CANVAS // 2))]), tab.PAINTED,
                              0, 32)  # a layer the picture's own size: the same hole
    assert torch.equal(same, mask)
    # as the page sends an upload: the picture fitted into the canvas between transparent bands
    banded = Image.new("RGBA", (tab.CANVAS, tab.CANVAS), (0, 0, 0, 0))
    banded.paste(Image.new("RGBA", (tab.CANVAS, tab.CANVAS // 2), (20, 20, 20, 255)), (0, top))
    _, banded_mask = tab.read_editor(_editor(banded, [canvas]), tab.PAINTED, 0, 32)
    assert torch.equal(banded_mask, mask)
    photo = np.zeros((100, 200), np.uint8)
    photo[25:75, 50:150] = 255  # a 2:1 garment on black: squashed to a square it would fill rows 8-24 of 32
    grey = tab.image_to_grey(Image.fromarray(photo), 32)
    assert grey[13:19, 9:23].min() > 200 and grey[:10].max() < 30 and grey[22:].max() < 30  # kept 2:1


def test_the_hole_is_shown_when_its_shape_changes_not_only_on_fill(store):
    """A walk chose "bottom half" and saw the old centre box until it pressed Fill: the preview follows the shape,
    the image and the seed at once, and leaves the view as it is when there is no hole to show yet."""
    from PIL import Image

    name = "tiny-ddpm"
    image = Image.fromarray(np.full((28, 28), 200, np.uint8))
    editor = {"background": image, "layers": [], "composite": image}
    box, half = tab.preview(store, name, editor, "centre box", 0), tab.preview(store, name, editor, "bottom half", 0)
    red = [tab.in_hole(v) for v in (box, half)]
    assert red[0].mean() < red[1].mean() and red[1][-10:].all() and not red[1][:10].any()  # the bottom half is red
    assert not np.array_equal(tab.preview(store, name, editor, "strokes", 0), tab.preview(store, name, editor,
                                                                                          "strokes", 1))
    skipped = [tab.preview(store, name, None, "centre box", 0), tab.preview(store, name, editor, "centre box", "")]
    assert all(isinstance(v, dict) and v.get("__type__") == "update" for v in skipped)  # gr.skip(): left as it is
    unpainted = tab.preview(store, name, editor, tab.PAINTED, 0)  # the brush chosen, nothing painted yet: no hole
    assert isinstance(unpainted, np.ndarray) and not tab.in_hole(unpainted).any()
    assert unpainted.shape == box.shape and np.array_equal(unpainted[0, 0], box[0, 0])


def test_another_tabs_pictures_are_cut_into_their_images_and_taken_in(tmp_path):
    """Issue 24: "take one from another tab's output". A GAN grid (white padding between samples) and a titled
    strip (white gaps, a title band) come apart into their images; the picker shows them and the editor holds
    the first; a picture not made yet, or not offered, is refused with a reason."""
    from playground.views import sheet_view, tiles, titled_strip
    from trainers.core.images import grid

    samples = torch.randint(0, 200, (10, 1, 32, 32), dtype=torch.uint8)
    sheet = sheet_view(grid(samples, nrow=4), 32)
    cut = tiles(sheet)
    scale = cut[0].shape[0] // 32
    assert len(cut) == 10 and all(t.shape == cut[0].shape for t in cut)
    assert np.array_equal(cut[5][::scale, ::scale, 0], samples[5, 0].numpy())  # the sixth sample, left to right
    strip = titled_strip([np.full((96, 96, 3), 30 * k, np.uint8) for k in range(3)], ["input", "output", "x"])
    assert [int(t[0, 0, 0]) for t in tiles(strip)] == [0, 30, 60]  # the titles are no image
    labels = ["GAN: samples", "Diffusion: x0"]
    gallery, editor, said = tab.take(labels, "GAN: samples", sheet, None)
    assert len(gallery) == 10 and np.array_equal(editor, cut[0]) and "10 images" in said
    assert np.array_equal(tab.picked([(t, c) for t, c in gallery], 3), cut[3])
    from PIL import Image

    Image.fromarray(cut[3]).save(tmp_path / "3.png")  # what the page sends back: the file Gradio keeps
    assert np.array_equal(tab.picked([(str(tmp_path / "3.png"), "GAN 4")], 0), cut[3])
    with pytest.raises(gr.Error, match="shows nothing yet"):
        tab.take(labels, "Diffusion: x0", sheet, None)
    with pytest.raises(gr.Error, match="choose one of"):
        tab.take(labels, "Compare", sheet, None)
    with pytest.raises(UserError, match="gone from the picker"):
        tab.picked(gallery, 10)
    back, editor, said = tab.take(labels, tab.EXAMPLES, sheet, None)  # the shipped garments again
    assert [c for _, c in back] == [c for _, c in tab.examples()] and len(back) == 10 and "back" in said
    assert np.array_equal(editor, tab.example(0))


def test_the_inpaint_tab_lists_every_tabs_pictures_the_later_tabs_too():
    from playground.app import create_app

    demo = create_app()
    box = next(c for c in demo.config["components"] if c.get("props", {}).get("elem_id") == "inpaint-take-from")
    offered = [label for label, _ in box["props"]["choices"]]
    assert {"GAN: samples", "Diffusion: predicted x̂0 (the sample, once done)", "Text to image: the images",
            "Translation: Pix2Pix input | output"} <= set(offered)
    button = next(c["id"] for c in demo.config["components"] if c.get("props", {}).get("elem_id") == "inpaint-take")
    event = next(d for d in demo.config["dependencies"] if [button, "click"] in [list(t) for t in d["targets"]])
    assert len(event["inputs"]) == len(offered) and offered[-1] == tab.EXAMPLES  # the box, and each tab's picture
    # the picker, an input of its own select, is no upload box (its x deleted every garment), and a new image clears
    # the last fill's views
    picker = next(c for c in demo.config["components"] if c.get("props", {}).get("elem_id") == "inpaint-picker")
    assert picker["props"]["interactive"] is False
    assert tab.cleared()[:3] == (None, None, None) and "press" in tab.cleared()[3]


def test_a_photo_on_white_uploaded_into_the_editor_goes_in_as_the_photo_does_alone():
    """The editor letterboxes a 300 x 200 photo of a dark garment on white in its square canvas with transparent
    bands: the hole filled a white picture between black bars (the bands flattened as black), where the Upscale
    tab made the same file light on black. It goes in as the photo does on its own, and a stroke over the
    garment marks the garment."""
    from PIL import Image

    photo = Image.new("RGB", (300, 200), (255, 255, 255))
    photo.paste((30, 60, 200), (100, 40, 200, 160))  # a dark blue block on white
    side = tab.CANVAS
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    fitted = photo.resize((side, side * 2 // 3))
    top = (side - fitted.height) // 2
    canvas.paste(fitted.convert("RGBA"), (0, top))
    x0, _ = tab.read_editor(_editor(canvas), "centre box", 0, 32)
    alone = torch.from_numpy(tab.image_to_grey(fitted, 32)).float() / 127.5 - 1
    assert (x0[0, 0] - alone).abs().max() < 0.05
    grey = (x0[0, 0].numpy() + 1) * 127.5
    assert grey[0].max() < 40 and grey[:, 0].max() < 40 and grey[16, 16] > 150  # light on black, all round
    stroke = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    stroke.paste((230, 60, 60, 255), (side // 2 - 10, side // 2 - 10, side // 2 + 10, side // 2 + 10))
    _, mask = tab.read_editor(_editor(canvas, [stroke]), tab.PAINTED, 0, 32)
    hole = (mask[0, 0] < 0.5).nonzero().float().mean(0)
    assert (hole - 15.5).abs().max() < 1.5  # in the middle of the picture, where it was painted


def test_painting_on_the_editor_chooses_the_brushs_hole():
    """A walk painted a stroke with "centre box" still chosen, and the centre box was filled without a word about
    its stroke: a stroke chooses "painted with the brush"; nothing painted leaves the choice as it is."""
    from PIL import Image

    garment = Image.fromarray(tab.example(9))
    paint = Image.new("RGBA", (tab.CANVAS, tab.CANVAS), (0, 0, 0, 0))
    empty = paint.copy()
    paint.paste((230, 60, 60, 255), (10, 10, 40, 40))
    assert tab.brush_used(_editor(garment, [paint]), "centre box") == tab.PAINTED
    assert tab.brush_used(_editor(garment, [empty]), "centre box") == gr.skip()
    assert tab.brush_used(_editor(garment, [paint]), tab.PAINTED) == gr.skip()
    assert tab.brush_used(None, "centre box") == gr.skip()


def test_picking_a_garment_swaps_the_prompts_garment_word():
    """The latent inpainting model learnt captions of whole garments: its prompt names the garment the picture
    should be, and picking another garment swaps the word (a walk kept "a red bag" over a sneaker and got a bag's
    part in the sneaker's middle). Nothing to swap: left as written."""
    assert tab.prompt_for("a red sneaker", "Dress") == "a red dress"
    assert tab.prompt_for("a small blue T-shirt", "Ankle boot") == "a small blue ankle boot"
    assert tab.prompt_for("a shirt in green", "T-shirt/top") == "a t-shirt in green"  # "shirt" alone, not in t-shirt
    for prompt, caption in [("a red sneaker", "Sneaker"), ("a bag and a coat", "Dress"), ("blue", "Coat"),
                            ("a red sneaker", "GAN: samples 3")]:  # the same, two garments, none, not a class
        assert tab.prompt_for(prompt, caption) is None
