"""The GAN latent-walk tab's handlers, as plain functions, on tiny models trained here."""

import numpy as np
import pytest
import torch
from PIL import Image

from playground import gan as tab
from playground.views import MIN_FRAME_PX, OUTPUT_WIDTH, frames_view
from playground.models import ModelStore
from trainers import fit
from trainers.gan import walk as W


def _gif_duration(path) -> int:
    with Image.open(path) as im:
        total = 0
        for i in range(im.n_frames):
            im.seek(i)
            total += im.info["duration"]
    return total


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_fashion):
    from trainers.core import data

    root = tmp_path_factory.mktemp("gan-store")
    mp = pytest.MonkeyPatch()
    mp.setattr(data, "CACHE_DIR", tmp_path_factory.mktemp("gan-cache"))
    common = {"data_dir": str(tiny_fashion), "ngf": "8", "ndf": "8", "z_dim": "16", "steps": "2",
              "batch_size": "32", "device": "cpu", "monitor_n": "0"}
    try:
        fit("gan", {**common, "out": str(root / "plain")})
        fit("gan", {**common, "out": str(root / "cond-map"), "n_classes": "10", "mapping_layers": "4"})
    finally:
        mp.undo()
    return ModelStore(root)


def test_walk_passes_through_the_keyframes():
    keys = torch.randn(3, 5)
    path = W.walk(keys, 9, "lerp")
    assert path.shape == (9, 5) and torch.allclose(path[0], keys[0]) and torch.allclose(path[-1], keys[-1])
    assert torch.allclose(path[4], keys[1])
    loop = W.walk(keys, 6, "slerp", closed=True)
    assert torch.allclose(loop[0], keys[0]) and torch.allclose(loop[2], keys[1], atol=1e-5)


def test_keyframe_seeds_name_the_value_at_fault():
    """"-5, 1.5, 99" was told the seeds "must be integers", and -5 is one: the refusal names the value."""
    from trainers.core.errors import UserError

    assert tab.parse_seeds(" 3; 17 ,42 ") == [3, 17, 42]
    assert len(tab.parse_seeds("")) == len(tab.parse_seeds("random")) == 3
    for text, bad in (("-5, 1.5, 99", "'-5'"), ("0, 1.5", "'1.5'"), ("0, ²", "'²'"), (f"0, {2**63}", f"'{2**63}'")):
        with pytest.raises(UserError, match=f"{bad} is not one"):
            tab.parse_seeds(text)
    with pytest.raises(UserError, match="give 2 to .* seeds, got 1"):
        tab.parse_seeds("7")


def test_latent_walk_outputs_strip_gif_mp4(store):
    strip_, gif, mp4, used = tab.latent_walk(store, "plain", "3, 4, 5", 8, "slerp", 0.8, "z")
    assert used == "3, 4, 5"
    # 8 frames in rows that fit an output column unscaled, each at least MIN_FRAME_PX (it was a 40-px strip)
    assert strip_.shape[1] <= OUTPUT_WIDTH and strip_.shape[0] >= 2 * MIN_FRAME_PX, strip_.shape
    assert _gif_duration(gif) == 8 * 80  # identical neighbours may be merged, the timing may not
    with open(mp4, "rb") as f:
        assert f.read(12)[4:8] == b"ftyp"
    again = tab.latent_walk(store, "plain", "3, 4, 5", 8, "slerp", 0.8, "z")[0]
    assert np.array_equal(strip_, again)
    assert len(tab.latent_walk(store, "plain", "random", 4, "lerp", 1.0, "z")[3].split(",")) == 3


@pytest.mark.parametrize("px, n", [(32, 8), (28, 10), (16, 3), (64, 2), (32, 16), (32, 11)])
def test_frames_view_never_shrinks_a_frame_below_min_frame_px(px, n):
    images = torch.randint(0, 256, (n, 1, px, px), dtype=torch.uint8)
    view = frames_view(images)
    scale = -(-MIN_FRAME_PX // px)  # every frame upscaled to at least MIN_FRAME_PX ...
    fit = next(k for k in range(n, 0, -1) if (k * (px + 2) + 2) * scale <= OUTPUT_WIDTH or k == 1)
    rows = -(-n // fit)  # ... in as many rows as it takes to fit the column unscaled, balanced: the last row
    per_row = -(-n // rows)  # is never a lone frame under full ones (16 where 5 fit: 4 rows of 4)
    assert per_row - (n - (rows - 1) * per_row) <= rows - 1
    assert view.shape[:2] == ((rows * (px + 2) + 2) * scale, (per_row * (px + 2) + 2) * scale), view.shape
    assert view.shape[1] <= OUTPUT_WIDTH and px * scale >= MIN_FRAME_PX
    assert np.array_equal(view[2 * scale, 2 * scale], np.repeat(images[0, 0, 0, 0].numpy(), 3))  # frame 0 first


def test_conditional_walk_in_w_between_classes_and_edit(store):
    strip_, *_ = tab.latent_walk(store, "cond-map", "1, 2", 6, "lerp", 0.7, "w", "Sneaker", "Ankle boot")
    assert strip_.ndim == 3
    # "every class in turn" means the same in a walk as in Samples: keyframe k (sample k) is class k mod 10
    turn = tab.latent_walk(store, "cond-map", "1, 2", 2, "lerp", 0.7, "w", tab.NO_CLASS, tab.NO_CLASS)[0]
    fixed = tab.latent_walk(store, "cond-map", "1, 2", 2, "lerp", 0.7, "w", "T-shirt/top", "Trouser")[0]
    assert np.array_equal(turn, fixed)
    assert [d.interactive for d in tab.class_controls(store, "plain")] == [False, False]  # unconditional
    # no class left over, and no "(every class in turn)" either: greyed, it read as if the model drew them in turn
    assert [d.value for d in tab.class_controls(store, "plain", "Bag", tab.NO_CLASS)] == [tab.UNCONDITIONAL] * 2
    # the walk's end class waits for a start class: from "every class in turn" the walk goes through all of them
    assert [d.interactive for d in tab.class_controls(store, "cond-map")] == [True, False]
    assert [d.interactive for d in tab.class_controls(store, "cond-map", "Sneaker", "Bag")] == [True, True]
    assert tab.end_class_control("Sneaker").interactive and not tab.end_class_control(tab.NO_CLASS).interactive
    back = tab.class_controls(store, "cond-map", tab.UNCONDITIONAL, "Bag")  # from an unconditional model: in turn
    assert back[0].value == tab.NO_CLASS and back[1].value is None  # a chosen class stays
    back = tab.class_controls(store, "cond-map", tab.UNCONDITIONAL, tab.UNCONDITIONAL)
    assert [d.value for d in back] == [tab.NO_CLASS, tab.SAME_CLASS]  # the walk's end: the start's class, said so
    stay = tab.latent_walk(store, "cond-map", "1, 2", 3, "lerp", 0.7, "w", "Dress", tab.SAME_CLASS)[0]
    assert np.array_equal(stay, tab.latent_walk(store, "cond-map", "1, 2", 3, "lerp", 0.7, "w", "Dress", "Dress")[0])
    assert np.array_equal(tab.sample_grid(store, "plain", 1, 4, 1.0, tab.UNCONDITIONAL),
                          tab.sample_grid(store, "plain", 1, 4, 1.0, tab.NO_CLASS))  # the value the page sends
    # w is offered only with a mapping network; a w chosen for the previous model falls back to z
    plain, mapped = tab.space_control(store, "plain", "w"), tab.space_control(store, "cond-map", "w")
    assert (plain.value, [c[0] for c in plain.choices]) == ("z", ["z"])
    assert (mapped.value, [c[0] for c in mapped.choices]) == (None, ["z", "w"])  # the radio keeps its own choice
    assert tab.class_controls(store, "cond-map", "Sneaker", "Bag")[0].value is None  # and the class dropdown
    base = tab.edit(store, "cond-map", 5, 1.0, "w", "Bag", 0, 0, 0, 0, 0)
    moved = tab.edit(store, "cond-map", 5, 1.0, "w", "Bag", 3, 0, 0, 0, 0)
    assert base.shape == moved.shape and not np.array_equal(base, moved)
    plain = tab.edit(store, "plain", 5, 1.0, "z", None, 0, -2, 0, 0, 0)  # GANSpace regressed onto z
    assert plain.ndim == 3
    gif, mp4 = tab.random_loop(store, "cond-map", 7, 8, 1.0, "w", "Dress")
    assert _gif_duration(gif) == 8 * 80


def test_bad_parameters_are_refused(store):
    import gradio as gr

    for args in [("plain", "1", 8, "lerp", 1.0, "z"),  # one keyframe
                 ("plain", "1, x", 8, "lerp", 1.0, "z"),
                 ("plain", "1, 2", 10**9, "lerp", 1.0, "z"),
                 ("plain", "1, 2", 8, "lerp", float("nan"), "z"),
                 ("plain", "1, 2", 8, "lerp", 1.0, "w"),  # no mapping network
                 ("../plain", "1, 2", 8, "lerp", 1.0, "z")]:
        with pytest.raises(gr.Error):
            tab.latent_walk(store, *args)
    # the class picker is ignored by an unconditional model, and checked by a conditional one
    assert np.array_equal(tab.sample_grid(store, "plain", 0, 4, 1.0, "Bag"), tab.sample_grid(store, "plain", 0, 4, 1.0))
    with pytest.raises(gr.Error, match="unknown class"):
        tab.sample_grid(store, "cond-map", 0, 4, 1.0, "Spaceship")


def test_principal_directions_are_orthonormal_in_w(store):
    G = store.get("cond-map").modules["G_ema"]
    dirs, sigma = W.principal_directions(G, "w", 3, n=500)
    assert torch.allclose(dirs @ dirs.T, torch.eye(3), atol=1e-4) and (sigma[:-1] >= sigma[1:]).all()


def test_the_selected_checkpoints_loss_is_written_out(store):
    name = store.names("gan")[0]
    text = tab.checkpoint_loss(store, name)
    loss = store.get(name).cfg.loss
    assert loss in text and r"\log" in text and name in text  # which model it is about
    from playground.equations import LOSS_EQUATIONS
    from trainers.gan.losses import LOSSES

    assert set(LOSS_EQUATIONS) == set(LOSSES)  # every row of the trainer's loss table is written out
    # a collapsed shipped model says so (BEGAN's grey texture everywhere, unremarked); a sound one does not
    from pathlib import Path

    from playground.models import ModelStore

    shipped = ModelStore(Path(__file__).resolve().parents[1] / "checkpoints")
    assert "This model collapsed" in tab.checkpoint_loss(shipped, "dcgan-began-20min-fashion")
    assert "collapsed" not in tab.checkpoint_loss(shipped, "dcgan-hinge-sn-fashion")


def test_direction_edit_of_a_conditional_model_with_every_class_in_turn_draws_the_first_class(store):
    """Directions on the default conditional model with no class chosen: one code, so keyframe 0's class."""
    from trainers.core.data import FASHION_MNIST_CLASSES

    turn = tab.edit(store, "cond-map", 3, 1.0, "z", tab.NO_CLASS, 1.5, 0, 0, 0, 0)
    first = tab.edit(store, "cond-map", 3, 1.0, "z", FASHION_MNIST_CLASSES[0], 1.5, 0, 0, 0, 0)
    assert turn.shape == first.shape and np.array_equal(turn, first)


def test_the_tab_quotes_the_mapping_models_measured_path_lengths_from_its_card():
    """"Walks in W are often smoother" was said, not measured; the tab now quotes the card's figures."""
    import json

    from playground.gan import path_lengths
    from playground.models import DEFAULT_ROOT, ModelStore

    m = json.loads((DEFAULT_ROOT / "dcgan-mapping-fashion" / "card.json").read_text())["metrics"]
    said = path_lengths(ModelStore(DEFAULT_ROOT, "cpu", read_only=True))
    assert f"{m['ppl_w']:.0f} in $W$ against {m['ppl_z']:.0f} in $Z$" in said and m["ppl_w"] < m["ppl_z"]


def test_the_walks_frames_come_before_its_gif_and_mp4_are_encoded(store, monkeypatch):
    """The page's walk yields the frames first, the GIF and MP4 left as they were (their encoding took ~60 of
    ~80 ms in front of the first frame), then the same frames with the new files, as `latent_walk` returns."""
    encoded = []
    real = tab.gif_bytes
    monkeypatch.setattr(tab, "gif_bytes", lambda *a, **k: encoded.append(1) or real(*a, **k))
    stream = tab.latent_walk_shown_first(store, "plain", "3, 4, 5", 8, "slerp", 0.8, "z")
    first = next(stream)
    assert not encoded and isinstance(first[0], np.ndarray) and first[3] == "3, 4, 5"
    assert all(isinstance(v, dict) and v.get("__type__") == "update" for v in first[1:3])  # gr.skip()
    (last,) = list(stream)
    assert encoded and np.array_equal(last[0], first[0])
    whole = tab.latent_walk(store, "plain", "3, 4, 5", 8, "slerp", 0.8, "z")
    assert np.array_equal(last[0], whole[0]) and open(last[1], "rb").read() == open(whole[1], "rb").read()


def test_a_redraw_for_another_control_never_toasts_about_a_bad_seed_elsewhere(tiny_gan, tmp_path):
    """A bad seed typed in Walk ("5": one seed) was refused again, as a toast, on every checkpoint change seen from
    Samples: the redraws a checkpoint or class change makes leave a refused output as it was, quietly; the Walk
    button still says why."""
    import shutil

    import gradio as gr

    root = tmp_path / "store"
    shutil.copytree(tiny_gan, root / "tiny-gan")
    with gr.Blocks() as demo:
        tab.build(ModelStore(root))
    walk = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "gan-walk")
    seeds = next(b for b in demo.blocks.values() if getattr(b, "label", None) == "keyframe seeds (comma-separated; "
                                                                              "empty or 'random' draws three)")
    redraws = [d for d in demo.fns.values() if walk in d.outputs and d.api_visibility == "private"]
    assert len(redraws) == 2  # after a checkpoint change, after a class picked
    for d in redraws:
        values = ["5" if c is seeds else c.value for c in d.inputs]
        assert list(d.fn(*values)) == [(gr.skip(),) * len(d.outputs)]
    button = next(d for d in demo.fns.values() if d.api_name == "gan_walk")
    with pytest.raises(gr.Error, match="2 to 8 seeds"):
        list(button.fn(*["5" if c is seeds else c.value for c in button.inputs]))
