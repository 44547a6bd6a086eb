"""The image-translation tab's handlers on tiny Pix2Pix, CycleGAN and DualGAN models."""

from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image, ImageDraw

from playground import translation as tab
from playground.models import ModelStore
from playground.views import SCALE_BAND
from trainers.core.checkpoint import update_card


CARD_METRICS = {
    "cyc": {"n_test_a": 1000, "n_test_b": 1000, "a_to_b_in_target_class": 0.882, "b_to_a_in_target_class": 0.885,
            "cycle_l1_a": 0.03708, "cycle_l1_b": 0.04721},
    "dual": {"n_test_a": 1000, "n_test_b": 1000, "a_to_b_in_target_class": 0.5125, "b_to_a_in_target_class": 0.25,
             "cycle_l1_a": 0.0625, "cycle_l1_b": 0.125},
}


@pytest.fixture(scope="module")
def store(tiny_fashion, tmp_path_factory):
    from trainers.core import data
    from trainers import fit

    root = tmp_path_factory.mktemp("translation-store")
    common = {"data_dir": str(tiny_fashion), "image_size": "16", "batch_size": "8", "device": "cpu", "steps": "3",
              "monitor_n": "0", "ndf": "8", "d_layers": "1"}
    mp = pytest.MonkeyPatch()
    mp.setattr(data, "CACHE_DIR", tmp_path_factory.mktemp("translation-cache"))
    try:
        fit("pix2pix", {**common, "out": str(root / "p2p-edges"), "ngf": "8"})
        fit("pix2pix", {**common, "out": str(root / "p2p-silhouette"), "ngf": "8", "pairing": "silhouette"})
        fit("cyclegan", {**common, "out": str(root / "cyc"), "ngf": "8", "n_blocks": "1"})
        fit("cyclegan", {**common, "out": str(root / "dual"), "ngf": "8", "n_blocks": "1", "loss": "dualgan"})
        for name, metrics in CARD_METRICS.items():  # as `python -m trainers evaluate` writes them
            update_card(root / name, metrics=metrics)
        shutil.copytree(Path(tab.__file__).resolve().parents[1] / "checkpoints" / "fashion-classifier",
                        root / "fashion-classifier")  # the judge of each translation
    finally:
        mp.undo()
    return ModelStore(root)


def _sketch() -> dict:
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).rectangle([70, 40, 210, 240], outline=(0, 0, 0, 255), width=12)
    return {"composite": canvas, "background": None, "layers": []}


def _first_tile(strip: np.ndarray) -> np.ndarray:
    """The first 16 px image of a strip padded by 2 px and upscaled SCALE times."""
    s = tab.SCALE
    return strip[2 * s: 18 * s, 2 * s: 18 * s]


def test_pix2pix_on_a_drawing_and_on_a_garment(store):
    pair, heat, text = tab.pix2pix(store, "p2p-edges", _sketch())
    seen = _first_tile(pair)
    assert pair.shape[0] == 20 * tab.SCALE and "patch score" in text and heat.shape[:2] == (96 + SCALE_BAND, 96)
    assert seen.mean() > 127  # the drawing reaches the model as dark lines on white, like its edge maps
    garment = Image.open(tab.__file__.replace("translation.py", "examples/7-sneaker.png"))
    from_garment = tab.pix2pix(store, "p2p-edges", garment, "auto", False, 0, True)[0]
    assert _first_tile(from_garment).mean() > 127  # its edge map: mostly paper
    silhouette = tab.pix2pix(store, "p2p-silhouette", garment, "auto", False, 0, True)[0]
    tile = _first_tile(silhouette)
    assert tile.min() == 0 and tile.max() == 255 and tile.mean() < 200  # a white shape on black
    noisy_a = tab.pix2pix(store, "p2p-edges", garment, "auto", True, 1, True)[0]
    noisy_b = tab.pix2pix(store, "p2p-edges", garment, "auto", True, 2, True)[0]
    assert not np.array_equal(noisy_a, noisy_b)  # dropout as noise: another seed, another output


def test_an_outline_drawn_for_the_silhouette_model_is_said_to_be_one(store):
    """A walk drew a T-shirt's outline for pix2pix-silhouette and got a near-black garment, with a fair verdict
    and D's score above it, and no word that this model reads filled shapes."""
    outline = tab.drawn_outline(Path(tab.__file__).parent / "examples" / "0-t-shirt-top.png")
    said = "trained on filled silhouettes, and your drawing is an outline"
    assert said in tab.pix2pix_drawing(store, "p2p-silhouette", np.asarray(outline), "auto", False, 0)[2]
    assert said not in tab.pix2pix_drawing(store, "p2p-edges", np.asarray(outline), "auto", False, 0)[2]
    filled = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(filled).rectangle([70, 40, 210, 240], fill="black")
    assert said not in tab.pix2pix_drawing(store, "p2p-silhouette", np.asarray(filled), "auto", False, 0)[2]


def test_an_uploaded_outline_is_not_outlined_again_unnoticed(store):
    """An outline uploaded with "it is a garment" ticked became a double outline, with nothing said. Outlines
    (drawn, or an edge map) untick the box on upload and are named in the result if it is ticked again; the
    Fashion-MNIST garments, thin and dark ones included (coat, sandal, sneaker), keep it."""
    import torch

    from playground.uploads import image_to_grey
    from trainers.core import pairs

    examples = sorted((Path(tab.__file__).parent / "examples").glob("*.png"))
    assert len(examples) == 10
    for path in examples:
        garment = Image.open(path)
        assert not tab.looks_like_outline(garment), path.name
        assert tab.garment_box(garment)["value"] is True
        grey = torch.from_numpy(image_to_grey(garment, 32)).float().view(1, 1, 32, 32) / 255
        edges = (pairs.edge_map(grey)[0, 0] * 255).round().to(torch.uint8).numpy()
        assert tab.looks_like_outline(Image.fromarray(edges).resize((280, 280), Image.Resampling.BILINEAR)), path.name
    drawn = Image.new("RGB", (300, 280), "white")
    ImageDraw.Draw(drawn).line([(90, 40), (190, 40), (250, 100), (200, 110), (200, 250), (80, 250), (80, 110),
                                (30, 100), (90, 40)], fill=(30, 30, 30), width=8)
    assert tab.garment_box(drawn)["value"] is False
    filled = drawn.copy()
    ImageDraw.Draw(filled).rectangle([80, 40, 200, 250], fill=(30, 30, 30))
    assert tab.garment_box(filled)["value"] is True and tab.garment_box(None) == gr.update()
    *_, text = tab.pix2pix(store, "p2p-edges", drawn, "auto", False, 0, True)
    assert "looks like an outline already" in text
    *_, text = tab.pix2pix(store, "p2p-edges", drawn, "auto", False, 0, False)
    assert "outline" not in text


def test_heat_maps_carry_their_colour_scale():

    heat = tab.with_scale(np.zeros((96, 96, 3), np.uint8), "0: fake", "1: real", tab._heat)
    assert heat.shape == (96 + SCALE_BAND, 96, 3)
    bar = heat[100:110].astype(int)  # the gradient under the map: black at 0, yellow at 1
    assert bar[:, 0].sum() < 30 and bar[:, -1, 0] .min() > 200 and bar[:, -1, 1].min() > 200
    ink = np.argwhere(heat[110:].min(2) < 128)  # the labels' dark pixels, under the bar
    assert np.ptp(ink[:, 0]) >= 9, "the labels are drawn in the 8-px bitmap font"  # "0: fake" is ~10 px tall at 14 px
    assert ink[:, 1].min() <= 4 and ink[:, 1].max() >= 90  # one at each end, the right one inside the image


def test_the_pads_check_says_to_draw_before_anything_runs():
    """`drawn_on` guards "Translate the drawing" (`wire`'s guard): the example's result stays under its message."""
    from trainers.core.errors import UserError

    blank = Image.new("RGB", (280, 280), "white")
    for empty in (None, {"background": blank, "layers": [], "composite": blank}, {"composite": None}):
        with pytest.raises(UserError, match="the pad is empty"):
            tab.drawn_on(empty)
    drawn = blank.copy()
    ImageDraw.Draw(drawn).line([(60, 60), (220, 220)], fill="black", width=8)
    tab.drawn_on({"background": blank, "layers": [], "composite": drawn})  # a drawing passes


def test_an_empty_sketchpad_gets_one_clear_message(store):
    for empty in (Image.new("RGBA", (280, 280), (0, 0, 0, 0)), Image.new("RGB", (280, 280), "white")):
        value = {"background": empty, "layers": [], "composite": empty}  # what an untouched Sketchpad sends
        with pytest.raises(gr.Error, match="the image is empty"):
            tab.pix2pix(store, "p2p-edges", value)
        with pytest.raises(gr.Error, match="the pad is empty") as e:  # the pad's own button says which input
            tab.pix2pix_drawing(store, "p2p-edges", value)
        assert e.value.title == "Nothing given yet"  # not "Error": nothing failed


def test_cyclegan_round_trip(store):
    image = Image.open(tab.__file__.replace("translation.py", "examples/7-sneaker.png"))
    frames, heat, text = tab.cyclegan(store, "cyc", image, "A")
    assert frames.shape[1] == (4 * 16 + 5 * 2) * tab.SCALE  # x, G(x), back, identity, padded by 2 px
    assert "Sneaker → Ankle boot → Sneaker" in text and heat.shape[2] == 3
    # the judge's verdict on G(x), checked against the classifier itself (a 3-step model mostly fails)
    from trainers.classifier.train import predict
    from trainers.core.data import FASHION_MNIST_CLASSES
    from trainers.core.metrics import classifier_inputs

    x = tab._input(store.get("cyc", family="cyclegan"), image, "auto")
    y = tab.C.translate(store.get("cyc", family="cyclegan").cfg, store.get("cyc", family="cyclegan").modules, x, "AtoB")
    seen = FASHION_MNIST_CLASSES[int(predict(store.get("fashion-classifier").modules["net"], classifier_inputs(y))
                                     [0].argmax())]
    assert f"reads the output as {seen}" in text
    assert ("**Translated**" in text) == (seen == "Ankle boot") and ("failed" in text) == (seen != "Ankle boot")
    # a sneaker (domain A's class) sent as domain B is named, so the round trip is not taken for a success
    as_b = tab.cyclegan(store, "cyc", image, "B")[2]
    assert "Ankle boot → Sneaker" in as_b
    assert as_b.startswith("**Check the domain**: the classifier reads your image as Sneaker") and "choose A" in as_b
    assert "Check the domain" not in text
    # and no verdict under it: the output of an input already of the target class reads as that class anyway
    assert "Translated" not in as_b and "failed" not in as_b and "No verdict" in as_b
    assert "G_" not in as_b and "identity check" in as_b  # plain words, not raw subscripts


def test_a_translation_of_something_unlike_a_garment_says_so(store):
    """A noise strip went through CycleGAN with no word (Pix2Pix and Upscale say it): both views say the input is
    unlike the data, once; a garment's do not."""
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (100, 400), dtype=np.uint8))
    garment = Image.open(tab.__file__.replace("translation.py", "examples/7-sneaker.png"))
    text, table = tab.cyclegan(store, "cyc", noise, "A")[2], tab.side_by_side(store, "cyc", "dual", noise, "A")[1]
    assert text.startswith("**This image is unlike the data") and table.count("unlike the data") == 1
    assert "unlike" not in tab.cyclegan(store, "cyc", garment, "A")[2]
    assert "unlike" not in tab.side_by_side(store, "cyc", "dual", garment, "A")[1]


def test_cyclegan_and_dualgan_side_by_side_with_their_cards_numbers(store):
    image = Image.open(tab.__file__.replace("translation.py", "examples/7-sneaker.png"))
    picture, table = tab.side_by_side(store, "cyc", "dual", image, "A")
    width = (3 * 16 + 4 * 2) * tab.SCALE  # x, G(x), back, padded by 2 px
    assert picture.shape == (20 * tab.SCALE, 2 * width + tab.GAP * tab.SCALE, 3)
    left, gap, right = picture[:, :width], picture[:, width:-width], picture[:, -width:]
    # the CycleGAN half is what the CycleGAN tab shows for the same input (its first three frames)
    assert np.array_equal(left, tab.cyclegan(store, "cyc", image, "A")[0][:, :width])
    assert (gap == 255).all() and np.array_equal(left[:, :width // 3], right[:, :width // 3])  # the same x
    assert not np.array_equal(left, right)
    header, rule, verdicts, held_out = table.splitlines()
    assert header == ("| **CycleGAN (least-squares critics)** · `cyc` | **DualGAN (Wasserstein critics)** · `dual` |")
    assert rule == "| --- | --- |" and verdicts.count("reads the output as") == 2
    cyc_cell, dual_cell = held_out.strip("| ").split(" | ")
    assert cyc_cell.endswith("**88.2%** of Sneaker → Ankle boot classified Ankle boot; cycle L1 **0.0371**")
    assert dual_cell.endswith("**51.2%** of Sneaker → Ankle boot classified Ankle boot; cycle L1 **0.0625**")
    _, as_b = tab.side_by_side(store, "cyc", "dual", image, "B")
    assert "**25.0%** of Ankle boot → Sneaker classified Sneaker; cycle L1 **0.1250**" in as_b
    # the sneaker sent as domain B: one domain check above the table, and no verdict for either model (a walk saw
    # "Translated" in both cells where the CycleGAN panel above said "No verdict")
    assert as_b.startswith("**Check the domain**") and as_b.count("Check the domain") == 1
    assert as_b.count("No verdict on the translation") == 2 and "Translated" not in as_b and "failed" not in as_b
    # the dropdowns say which objective each checkpoint was trained with
    assert tab.cyclegan_choices(store) == [("cyc · CycleGAN (least-squares critics)", "cyc"),
                                           ("dual · DualGAN (Wasserstein critics)", "dual")]
    assert tab.objective_names(store, "dualgan") == ["dual"] and tab.objective_names(store, "lsgan") == ["cyc"]


def test_side_by_side_says_when_a_card_has_no_held_out_numbers(store, tmp_path):
    shutil.copytree(store.root / "dual", tmp_path / "dual")
    (tmp_path / "dual" / "card.json").write_text("{}")
    shutil.copytree(store.root / "cyc", tmp_path / "cyc")
    _, table = tab.side_by_side(ModelStore(tmp_path), "cyc", "dual", _sketch()["composite"], "A")
    assert "no held-out metrics in its card" in table and "python -m trainers evaluate checkpoints/dual" in table
    assert "88.2%" in table  # the other card's numbers still shown


@pytest.mark.parametrize("call", [
    lambda s: tab.pix2pix(s, "cyc", _sketch()),  # the wrong family
    lambda s: tab.pix2pix(s, "../../etc", _sketch()),
    lambda s: tab.pix2pix(s, "p2p-edges", None),
    lambda s: tab.pix2pix(s, "p2p-edges", _sketch(), "auto", False, float("nan")),
    lambda s: tab.cyclegan(s, "cyc", Image.new("L", (8, 8)), "C"),
    lambda s: tab.cyclegan(s, "cyc", Image.new("RGB", (20000, 20000)), "A"),
    lambda s: tab.side_by_side(s, "cyc", "dual", Image.new("L", (8, 8)), "C"),
    lambda s: tab.side_by_side(s, "cyc", "p2p-edges", Image.new("L", (8, 8)), "A"),  # not a CycleGAN-family model
])
def test_bad_requests_get_a_clear_message(store, call):
    with pytest.raises(gr.Error):
        call(store)


def test_a_narrow_reading_is_not_called_a_translation(monkeypatch):
    """A boot still a boot, read as Sneaker at 65%, was told "Translated": under SURE it is called barely so."""
    from playground import translation as T

    for seen, words in ((("Sneaker", 0.65), "**Barely translated**"), (("Sneaker", 0.95), "**Translated**"),
                        (("Ankle boot", 0.9), "**The translation failed**")):
        monkeypatch.setattr(T, "_read", lambda store, y, seen=seen: seen)
        assert T.verdict(None, None, "Sneaker").startswith(words)


def test_pix2pix_says_when_an_uploaded_garment_is_unlike_the_data(store):
    """A plain red photo, outlined as a garment, read "Sneaker (42%)" with no word of doubt, where the Classifier
    tab warned about the same image: Pix2Pix's upload now says it too; a test garment gets no such note."""
    red = Image.new("RGB", (400, 300), (200, 30, 30))
    *_, text = tab.pix2pix(store, "p2p-edges", red, from_garment=True)
    assert text.startswith("**This image is unlike the data") and "check that the outline is a garment's" in text
    assert "**Its outline came out blank**" in text  # an even colour has no edge: the input shown is white paper
    sneaker = Image.open(tab.__file__.replace("translation.py", "examples/7-sneaker.png"))
    *_, text = tab.pix2pix(store, "p2p-edges", sneaker, from_garment=True)
    assert "unlike the data" not in text and "blank" not in text
