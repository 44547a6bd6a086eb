"""Latent inpainting (a StableDiffusionInpaintPipeline folder trained here): starting from a latent diffusion model is
that model, blind to the hole; training lowers the loss; the folder loads with diffusers alone and gives the same
images as our step-by-step loop; the kept pixels come back exact; bad holes are refused."""

from __future__ import annotations

import csv

import pytest
import torch

from trainers.core.checkpoint import load_model
from trainers.latent_diffusion import inpaint as I


@pytest.fixture(scope="module")
def tiny_inpaint(tmp_path_factory, tiny_fashion, tiny_ldm):
    from trainers import fit

    out = tmp_path_factory.mktemp("inpaint") / "tiny-inpaint"
    fit("inpaint_ldm", {"out": str(out), "data_dir": str(tiny_fashion), "device": "cpu", "monitor_n": "0",
                        "sample_every": "1000", "ckpt_every": "1000", "log_every": "5", "init_from": str(tiny_ldm["ldm"]),
                        "clip": str(tiny_ldm["clip"]), "vae": str(tiny_ldm["vae"]), "widths": "32,32", "head_dim": "16",
                        "steps": "40", "batch_size": "16", "sample_steps": "3", "lr": "2e-3"})
    return out


def test_the_cli_fills_a_users_28px_grey_images_for_a_prompt(tiny_inpaint, tmp_path, capsys):
    """`python -m trainers inpaint <ldm_inpaint-dir>` takes Fashion-MNIST's own 28-px grey images (made RGB and
    resized as training did), fills only the hole for the prompt, and refuses what does not apply to it. The
    checkpoint was trained as `inpaint_ldm` (an alias) and records the family's own name."""
    import json

    import numpy as np

    from trainers.__main__ import main
    from trainers.core.checkpoint import read_meta
    from trainers.core.data import fit_images, load_dataset
    from trainers.core.images import from_hwc_array

    assert read_meta(tiny_inpaint)["family"] == "ldm_inpaint"
    images = load_dataset("fashion-mnist", split="test", image_size=28).images[:3]
    np.savez(tmp_path / "in.npz", images=images[:, 0].numpy())
    args = ["inpaint", str(tiny_inpaint), "--input", str(tmp_path / "in.npz"), "--mask=centre_box",
            "--steps", "2", "--out", str(tmp_path / "out.npz")]
    capsys.readouterr()
    assert main([*args, "--prompt", "a red bag", "--guidance", "2"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["prompt"] == "a red bag" and printed["guidance"] == 2.0 and "1x28x28" in printed["resized"]
    out = from_hwc_array(np.load(tmp_path / "out.npz")["images"])
    seen, _ = fit_images(images, 32, 3)
    kept = I.make_mask("centre box", 3, 32, torch.Generator()).bool().expand_as(out)
    assert out.shape == (3, 3, 32, 32) and torch.equal(out[kept], seen[kept]) and not torch.equal(out, seen)
    assert main([*args, "--prompt", "  "]) == 2
    assert "--prompt is required" in capsys.readouterr().err
    assert main([*args, "--prompt", "a bag", "--resample", "3"]) == 2
    for bad in ("-1", "nan", "1e9"):  # refused before any image is read
        assert main([*args, "--prompt", "a bag", "--guidance", bad]) == 2
        assert "--guidance must be in [0, 20]" in capsys.readouterr().err
    assert main(["inpaint", str(tiny_inpaint), "--evaluate"]) == 2
    assert "python -m trainers evaluate" in capsys.readouterr().err


def test_holes_cover_every_shape_and_sometimes_everything():
    holes = I.random_holes(400, 32, torch.Generator().manual_seed(0), p_full=0.25)
    assert holes.shape == (400, 1, 32, 32) and set(holes.unique().tolist()) == {0.0, 1.0}
    share = holes.flatten(1).mean(1)
    assert 0.15 < float((share == 1).float().mean()) < 0.35  # the whole image, about p_full of the time
    assert bool((share > 0).all())  # never an empty hole
    assert len({round(float(s), 2) for s in share}) > 20  # strokes and random boxes vary


def test_starting_from_latent_diffusion_is_that_model_blind_to_the_hole(tiny_ldm):
    parent = load_model(tiny_ldm["ldm"])
    cfg = I.Config(clip=str(tiny_ldm["clip"]), vae=str(tiny_ldm["vae"]), widths=(32, 32), head_dim=16)
    modules = I.build(cfg)
    sources = I.init_from(cfg, modules, parent)
    assert "5 input channels at zero" in sources["unet"] and modules["unet"].config.in_channels == 9
    z, t, text = torch.randn(2, 4, 8, 8), torch.tensor([10, 900]), torch.randn(2, 77, 32)
    with torch.no_grad():
        expected = parent.modules["unet_ema"](z, t, encoder_hidden_states=text).sample
        got = modules["unet_ema"](torch.cat([z, torch.rand(2, 5, 8, 8)], 1), t, encoder_hidden_states=text).sample
    assert torch.allclose(got, expected, atol=1e-5)
    with pytest.raises(I.UserError, match="latent_diffusion one"):
        I.init_from(cfg, modules, load_model(tiny_ldm["vae"]))


def test_it_trains_loads_with_diffusers_and_fills_only_the_hole(tiny_inpaint):
    from diffusers import DDIMScheduler, StableDiffusionInpaintPipeline

    rows = list(csv.DictReader(open(tiny_inpaint / "log.csv")))
    first, last = (sum(float(r["loss"]) for r in part) / len(part) for part in (rows[:2], rows[-2:]))
    assert last < first, (first, last)
    loaded = load_model(tiny_inpaint)
    cfg, modules = loaded.cfg, loaded.modules
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    holes = 1 - I.make_mask("centre box", 2, 32, torch.Generator())
    prompts = ["a red bag", "a small blue dress"]
    # the ordinary diffusers call on the saved folder gives what our step-by-step loop gives (its weights are
    # stored in fp16: on a CPU a user asks for float32, as for any half-precision folder)
    pipe = StableDiffusionInpaintPipeline.from_pretrained(tiny_inpaint, local_files_only=True, use_safetensors=True,
                                                          dtype=torch.float32, safety_checker=None,
                                                          requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler(**I.L.scheduler_config(cfg))
    ours = I.make_pipeline(cfg, modules)
    theirs = pipe(prompts, image=images.float() / 255, mask_image=holes, num_inference_steps=3, guidance_scale=2.0,
                  generator=torch.Generator().manual_seed(5), output_type="pt").images  # [0, 1]
    *_, (i, _, _, decoded) = I.fill(ours, images, holes, prompts, torch.Generator().manual_seed(5), 3, 2.0)
    assert i == 3 and decoded.shape == (2, 3, 32, 32)
    assert (decoded.float() - (theirs * 255).round()).abs().max() <= 2  # fp16 folder against fp32 rounding
    # the app's and the CLI's result: the kept pixels are the originals', the hole changed
    a = I.inpaint(cfg, modules, images, holes, prompts, seed=1, steps=2)
    keep = (holes < 0.5).expand_as(a)
    assert torch.equal(a[keep], images[keep]) and not torch.equal(a[~keep], images[~keep])
    assert torch.equal(a, I.inpaint(cfg, modules, images, holes, prompts, seed=1, steps=2))  # a seed fixes it
    with pytest.raises(I.UserError, match="hole is empty"):
        I.inpaint(cfg, modules, images, torch.zeros_like(holes), prompts)
    with pytest.raises(I.UserError, match="RGB"):
        I.inpaint(cfg, modules, images[:, :1], holes, prompts)
    metrics = I.evaluate(loaded, n=8, steps=2)
    for kind in ("centre_box", "strokes"):
        assert 0 <= metrics[f"{kind}_class_kept_mlp"] <= 1 and metrics[f"{kind}_fid"] >= 0
        assert metrics[f"{kind}_kept_error"] >= 0


def test_the_inpaint_tab_fills_for_a_prompt_step_by_step(tmp_path, tiny_inpaint, tiny_ddpm):
    """The Inpaint sub-tab's latent method: the garment drawn in the prompt's colour, x_t and x0_hat shown as it
    runs, the kept pixels the original's in the result, a GIF of the run, and an empty prompt refused."""
    import shutil

    import numpy as np
    from PIL import Image

    from playground import inpaint as P
    import gradio as gr
    from playground.models import ModelStore

    shutil.copytree(tiny_inpaint, tmp_path / "tiny-inpaint")
    shutil.copytree(tiny_ddpm, tmp_path / "tiny-ddpm")
    store = ModelStore(tmp_path)
    start = Image.fromarray(P.example(7))
    editor = {"background": start, "layers": [], "composite": start}
    outs = list(P.fill(store, "tiny-ddpm", editor, "centre box", P.LATENT, 1, 4, P.ANY_CLASS, 2.0, 0, "a blue bag"))
    hole, xt, x0, result, progress, gif = outs[-1]
    assert len(outs) >= 3 and "step 1/4" in outs[1][4] and "the garment drawn blue" in progress and gif.endswith(".gif")
    assert xt.shape == x0.shape == (P.CANVAS, P.CANVAS, 3) and result.shape[1] == 3 * P.CANVAS + 2 * 8
    tiles = [result[-P.CANVAS:, k * (P.CANVAS + 8):k * (P.CANVAS + 8) + P.CANVAS] for k in range(3)]
    original, filled = tiles[0], tiles[2]
    assert original[..., 2].max() > 100 and original[..., 0].max() < 60  # drawn blue
    kept = ~P.in_hole(hole)  # outside the checked hole
    assert np.array_equal(filled[kept], original[kept]) and not np.array_equal(filled[~kept], original[~kept])
    assert P.tint("A Green, small dress") == "green" and P.tint("a bag") == "red"
    # words the model never saw are named, as Text to image names them, and a default colour is said to be one
    *_, (_, _, _, _, said, _) = P.fill(store, "tiny-ddpm", editor, "centre box", P.LATENT, 1, 2, P.ANY_CLASS, 2.0, 0,
                                       "a glittery sneaker")
    assert "never saw the word **glittery**" in said and "drawn red: the prompt names no colour" in said, said
    with pytest.raises(gr.Error, match="name the garment the picture should be"):
        list(P.fill(store, "tiny-ddpm", editor, "centre box", P.LATENT, 1, 4, P.ANY_CLASS, 2.0, 0, "  "))


def test_a_coloured_garment_goes_into_the_latent_fill_in_its_own_colours(tmp_path, tiny_inpaint):
    """A red sneaker taken from Text to image went in grey (red is dark in grey) and was redrawn near black: a
    coloured garment on a dark background is what the latent model learned, so it goes in as it is; a grey
    garment or a photo on white is drawn in the prompt's colour."""
    import shutil

    import numpy as np
    from PIL import Image

    from playground import inpaint as P
    from playground.models import ModelStore

    shutil.copytree(tiny_inpaint, tmp_path / "tiny-inpaint")
    store = ModelStore(tmp_path)
    red = np.zeros((32, 32, 3), np.uint8)
    red[12:24, 4:28] = (230, 20, 20)  # a red sneaker-like block on black
    shown = Image.fromarray(red).resize((P.CANVAS, P.CANVAS), Image.Resampling.NEAREST)
    editor = {"background": shown, "layers": [], "composite": shown}
    picture = P.colour_picture(editor, 32)
    assert picture.shape == (1, 3, 32, 32) and np.abs(picture[0].permute(1, 2, 0).numpy().astype(int) - red).max() < 40
    grey = Image.fromarray(P.example(7))
    assert P.colour_picture({"background": grey, "layers": [], "composite": grey}, 32) is None
    white = Image.new("RGB", (300, 200), (255, 255, 255))
    white.paste((200, 30, 30), (100, 50, 200, 150))
    assert P.colour_picture({"background": white, "layers": [], "composite": white}, 32) is None

    outs = list(P.fill(store, "tiny-inpaint", editor, "centre box", P.LATENT, 1, 3, P.ANY_CLASS, 2.0, 0, "a blue bag"))
    hole, xt, x0, result, progress, gif = outs[-1]
    assert "in its own colours" in progress
    first = result[-P.CANVAS:, :P.CANVAS].astype(int)
    assert first[..., 0].max() > 180 and first[..., 2].max() < 60  # still red, not redrawn blue or grey
    kept = ~P.in_hole(hole)
    assert kept[0, 0] and not kept[P.CANVAS // 2, P.CANVAS // 2]


def test_the_fill_is_brought_to_the_originals_colours_before_it_is_pasted():
    """The sampler redrew a red dress at a third of its level, and its filled hole showed as a dark band among the
    original's pixels: each channel of the fill is scaled by the gain that maps its kept pixels onto the
    original's, so a fill that is the original dimmed comes back as the original; black stays black, and a channel
    the fill left dark everywhere is not blown up."""
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (2, 3, 32, 32), generator=gen, dtype=torch.uint8)
    images[:, 2] = 0  # a red-green garment: no blue at all
    holes = 1 - I.make_mask("centre box", 2, 32, torch.Generator())
    dim = (images.float() * torch.tensor([0.35, 0.7, 1.0]).view(1, 3, 1, 1)).round().clamp(0, 255).to(torch.uint8)
    matched = I.colour_matched(dim, images, holes)
    assert (matched.float() - images.float())[:, 0].abs().mean() < 2.5  # the red gain found (dimmed to 0.35)
    assert (matched.float() - images.float())[:, 1].abs().mean() < 1.5  # and the green one (0.7)
    assert torch.equal(matched[:, 2], dim[:, 2])  # no blue: left as it is
    pasted = I.paste(dim, images, holes)
    hole = (holes > 0.5).expand_as(images)
    assert torch.equal(pasted[~hole], images[~hole])  # the kept pixels are the originals'
    assert (pasted[hole].float() - images[hole].float()).abs().mean() < (dim[hole].float() - images[hole].float()).abs().mean() / 3
    # a fill of another picture (a blue dress drawn over a sneaker) keeps its colours: no gain explains the kept
    # pixels, and the best one (0.003) dimmed the hole to a dark box
    other = 255 - images  # bright where the original is dark: R^2 of a gain ~0.24
    assert torch.equal(I.colour_matched(other, images, holes)[:, :2], other[:, :2])
