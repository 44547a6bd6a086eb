"""unCLIP's prior and decoder (trainers/unclip/) on the tiny CLIP and autoencoder of `tiny_ldm`: the frozen
towers give the CLIP's own embeddings, each family learns a fixed batch, trains, resumes exactly, saves and loads,
and samples the right shapes; the decoder starts from a latent diffusion U-Net and makes variations of an image."""

from __future__ import annotations

import json

import pytest
import torch

from trainers.core.checkpoint import load_model
from trainers.core.config import build_config
from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.errors import UserError
from trainers.unclip import decoder as D
from trainers.unclip import prior as P
from trainers.unclip.embeddings import clip_towers, image_embeddings, text_conditioning

LOOP = {"device": "cpu", "monitor_n": "0", "sample_every": "1000", "log_every": "1", "batch_size": "16"}


def _prior_opts(tiny_fashion, tiny_ldm) -> dict:
    return {"data_dir": str(tiny_fashion), "clip": str(tiny_ldm["clip"]), "layers": "1", "heads": "2",
            "head_dim": "16", "T": "100", "sample_steps": "4", "n_stats": "64", "lr": "1e-3"}


def _decoder_opts(tiny_fashion, tiny_ldm) -> dict:
    # the tiny_ldm U-Net's shapes (widths 32, 32; head_dim 16; its CLIP's text width 32), so --init_from fits
    return {"data_dir": str(tiny_fashion), "clip": str(tiny_ldm["clip"]), "vae": str(tiny_ldm["vae"]),
            "widths": "32,32", "head_dim": "16", "context_width": "32", "sample_steps": "3", "lr": "1e-3"}


def _fixed_batch(cfg, n: int) -> dict:
    data = P.dataset(cfg, "train")
    items = [data[i] for i in range(n)]
    return {"image": torch.stack([it["image"] for it in items]), "caption": [it["caption"] for it in items],
            "index": torch.arange(n)}


def _losses(fam, cfg, modules, batch, steps: int) -> list[float]:
    from accelerate import Accelerator

    opts, gen, acc = fam.optimizers(cfg, modules), torch.Generator().manual_seed(0), Accelerator(cpu=True)
    return [float(fam.train_step(cfg, modules, opts, batch, gen, acc)["loss"]) for _ in range(steps)]


@pytest.fixture(scope="module")
def tiny_prior(tmp_path_factory, tiny_fashion, tiny_ldm):
    from conftest import _train_tiny  # a data cache of its own (the autouse one is per test)

    return _train_tiny(tmp_path_factory, "unclip_prior", "tiny-prior",
                       {**LOOP, **_prior_opts(tiny_fashion, tiny_ldm), "steps": "6", "ckpt_every": "3"})


def test_the_towers_give_the_clips_own_embeddings(tiny_ldm):
    clip = load_model(tiny_ldm["clip"]).modules["clip"]
    image, text = clip_towers(str(tiny_ldm["clip"]))
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ref = torch.nn.functional.normalize(clip.get_image_features(pixel_values=x).pooler_output, dim=-1)
    assert torch.allclose(image_embeddings(image, x), ref, atol=1e-5)
    from trainers.clip.train import text_embeddings

    captions = ["a small red dress", "a bag"]
    z_t, states, mask = text_conditioning(text, captions)
    ref = torch.nn.functional.normalize(text_embeddings(load_model(tiny_ldm["clip"]).cfg, clip, captions), dim=-1)
    assert torch.allclose(z_t, ref, atol=1e-5)
    assert states.shape == (2, text.pipeline_tokenizer.model_max_length, z_t.shape[1]) and mask[:, 0].all()
    assert mask.sum(1).tolist() == [6, 4]  # <start> words <end>; the padding is masked


def test_prior_learns_a_fixed_batch_and_generates_unit_embeddings(tiny_fashion, tiny_ldm):
    torch.manual_seed(0)
    cfg = build_config(P.Config, _prior_opts(tiny_fashion, tiny_ldm))
    modules = P.build(cfg)
    mean, std = modules["prior"].clip_mean, modules["prior"].clip_std
    assert not mean.requires_grad and torch.equal(mean, modules["prior_ema"].clip_mean) and (std > 0).all()
    losses = _losses(P, cfg, modules, _fixed_batch(cfg, 16), 80)
    assert sum(losses[-10:]) < 0.5 * sum(losses[:10]), losses  # ~0.3 (below 1: better than the mean embedding)
    z = P.generate(cfg, modules, ["a small red dress", "a bag", "a bag"], torch.Generator().manual_seed(0),
                   guidance=2.0)
    assert z.shape == (3, modules["image_encoder"].config.projection_dim)
    assert torch.allclose(z.norm(dim=1), torch.ones(3), atol=1e-5)
    again = P.generate(cfg, modules, ["a small red dress"], torch.Generator().manual_seed(0), sampler="ddpm")
    assert again.shape == (1, z.shape[1])
    # two candidates per caption (sec. 2.2): of two draws, the one closer to z_t; the same draws as a batch of 4
    captions = ["a small red dress", "a bag"]
    best = P.generate(cfg, modules, captions, torch.Generator().manual_seed(3), candidates=2)
    both = P.generate(cfg, modules, [c for c in captions for _ in range(2)], torch.Generator().manual_seed(3))
    z_t = text_conditioning(modules["text_encoder"], captions)[0].repeat_interleave(2, 0)
    pick = (both * z_t).sum(1).view(2, 2).argmax(1)
    assert torch.allclose(best, both.view(2, 2, -1)[torch.arange(2), pick], atol=1e-5)


def test_prior_null_condition_drops_the_text():
    z_t, states, mask = torch.ones(2, 4), torch.ones(2, 3, 4), torch.tensor([[True, True, False]] * 2)
    z, s, m = P.without_text(torch.tensor([True, False]), z_t, states, mask)
    assert z[0].abs().sum() == 0 and s[0].abs().sum() == 0 and not m[0].any()
    assert torch.equal(z[1], z_t[1]) and torch.equal(s[1], states[1]) and torch.equal(m[1], mask[1])


def test_prior_checkpoint_resumes_exactly_loads_and_evaluates(tmp_path, tiny_fashion, tiny_ldm, tiny_prior):
    from trainers import fit
    from trainers.evaluate import evaluate

    card = json.loads((tiny_prior / "card.json").read_text())
    assert card["family"] == "unclip_prior" and card["steps"] == 6 and "unclip_prior" in card["command"]
    half = tmp_path / "half"
    opts = {**LOOP, **_prior_opts(tiny_fashion, tiny_ldm), "ckpt_every": "3", "out": str(half)}
    fit("unclip_prior", {**opts, "steps": "3"})
    fit("unclip_prior", {**opts, "steps": "6", "resume": "true"})
    full, resumed = load_model(tiny_prior), load_model(half)
    for k, v in full.modules["prior_ema"].state_dict().items():
        assert torch.equal(v, resumed.modules["prior_ema"].state_dict()[k]), k
    assert set(full.modules) == {"prior_ema", "image_encoder", "text_encoder"}
    z = P.generate(full.cfg, full.modules, ["a red bag"] * 2, torch.Generator().manual_seed(1))
    assert z.shape == (2, full.modules["image_encoder"].config.projection_dim)
    metrics = evaluate(full, n=20, seed=0)
    for key in ("retrieval_top1", "real_retrieval_top1", "retrieval_top1_160way", "real_retrieval_top1_160way"):
        assert 0 <= metrics[key] <= 1
    assert metrics["n"] == 20 and 1 <= metrics["n_captions"] <= 20


def test_decoder_learns_a_fixed_batch(tiny_fashion, tiny_ldm):
    torch.manual_seed(0)
    cfg = build_config(D.Config, _decoder_opts(tiny_fashion, tiny_ldm))
    modules = D.build(cfg)
    losses = _losses(D, cfg, modules, _fixed_batch(cfg, 8), 40)
    assert sum(losses[-8:]) < 0.7 * sum(losses[:8]), losses
    # the embedding reaches the U-Net: the zero-initialised projection into the time embedding has moved
    assert modules["unet"].class_embedding.linear_2.weight.abs().sum() > 0


def test_decoder_starts_from_a_latent_diffusion_unet(tiny_fashion, tiny_ldm):
    ldm = load_model(tiny_ldm["ldm"])
    cfg = build_config(D.Config, _decoder_opts(tiny_fashion, tiny_ldm))
    modules = D.build(cfg)
    sources = D.init_from(cfg, modules, ldm)
    assert "unet_ema" in sources["unet"] and sources["tokens"] == "fresh"
    # with its projection at zero, the decoder IS the latent diffusion U-Net (for any z_i), on the same tokens
    zt, t = torch.randn(2, 4, 8, 8), torch.tensor([10, 500])
    ctx = torch.randn(2, 3, 32)
    with torch.no_grad():
        ours = modules["unet"](zt, t, encoder_hidden_states=ctx, class_labels=torch.randn(2, 16)).sample
        ref = ldm.modules["unet_ema"](zt, t, encoder_hidden_states=ctx).sample
    assert torch.allclose(ours, ref, atol=1e-5)
    wide = build_config(D.Config, {**_decoder_opts(tiny_fashion, tiny_ldm), "widths": "32,64"})
    with pytest.raises(UserError, match="does not fit"):
        D.init_from(wide, D.build(wide), ldm)


def test_decoder_trains_from_ldm_resumes_and_makes_variations(tmp_path, tiny_fashion, tiny_ldm, tiny_prior):
    from trainers import fit

    out = tmp_path / "decoder"
    opts = {**LOOP, **_decoder_opts(tiny_fashion, tiny_ldm), "ckpt_every": "2", "out": str(out)}
    fit("unclip_decoder", {**opts, "steps": "2", "init_from": str(tiny_ldm["ldm"])})
    fit("unclip_decoder", {**opts, "steps": "3", "resume": "true"})
    card = json.loads((out / "card.json").read_text())
    assert card["steps"] == 3 and card["init_from"]["family"] == "latent_diffusion"
    assert (out / "unet" / "config.json").is_file() and (out / "samples.png").is_file()
    loaded = load_model(out)
    assert loaded.family == "unclip_decoder" and loaded.step == 3
    assert loaded.modules["unet_ema"].config.class_embed_type == "projection"
    source = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    variations = D.sample(loaded.cfg, loaded.modules, 3, torch.Generator().manual_seed(0), images=source)["images"]
    assert variations.shape == (3, 3, 32, 32) and variations.dtype == torch.uint8
    assert not torch.equal(variations[0], variations[1])  # same z_i, other noise
    text = D.sample(loaded.cfg, loaded.modules, 2, torch.Generator(), prompt="a red bag", text_embedding=True)
    via_prior = D.sample(loaded.cfg, loaded.modules, 2, torch.Generator(), prompt="a red bag", prior=str(tiny_prior))
    assert text["images"].shape == via_prior["images"].shape == (2, 3, 32, 32)
    with pytest.raises(UserError, match="--prior"):
        D.sample(loaded.cfg, loaded.modules, 2, torch.Generator(), prompt="a red bag")


def test_decoder_evaluate_scores_variations(tiny_ldm, tiny_fashion, tmp_path, monkeypatch):
    from trainers.classifier.models import SmallCNN
    from trainers import fit
    from trainers.latent_diffusion import metrics as M

    judge = SmallCNN(1, 8, 16, 10, 0.0).eval()  # one judge: it reads the decodings and their sources
    monkeypatch.setattr(M.metrics, "load_classifier", lambda path=None: judge)
    out = tmp_path / "decoder"
    fit("unclip_decoder", {**LOOP, **_decoder_opts(tiny_fashion, tiny_ldm), "steps": "1", "out": str(out)})
    metrics = D.evaluate(load_model(out), n=6, steps=2)
    assert metrics["mode"] == "variations" and metrics["n"] == 6
    assert -1 <= metrics["clip_image_cos"] <= 1 and 0 <= metrics["class_accuracy"] <= 1
    # class_kept: the judge reads each decoding as it reads its source (not the label, which the judge itself
    # misreads on some sources): a decoder that gave the sources back keeps every class, at the judge's accuracy
    monkeypatch.setattr(D, "sample", lambda cfg, modules, n, gen, images=None, **_: {"images": images})
    echo = D.evaluate(load_model(out), n=6, steps=2)
    assert echo["class_kept"] == 1.0 and echo["class_accuracy"] == echo["real_class_accuracy"]
    assert echo["clip_image_cos"] > 0.999


def test_text_diff_turns_the_image_embedding_towards_the_caption_difference():
    """DALL·E 2 sec. 3.3: z_d = norm(z_t1 - z_t0); slerp(z_i, z_d, theta), by hand: theta = 0 is z_i, and every
    row is a unit vector in the plane of z_i and z_d at angle theta * Omega from z_i."""
    import torch.nn.functional as F

    from trainers.unclip.embeddings import text_diff

    gen = torch.Generator().manual_seed(0)
    z_i, z_from, z_to = (F.normalize(torch.randn(16, generator=gen, dtype=torch.float64), dim=0) for _ in range(3))
    thetas = torch.tensor([0.0, 0.25, 0.5], dtype=torch.float64)
    rows = text_diff(z_i, z_from, z_to, thetas)
    z_d = (z_to - z_from) / (z_to - z_from).norm()
    omega = torch.arccos(z_i @ z_d)
    for row, theta in zip(rows, thetas):
        by_hand = (torch.sin((1 - theta) * omega) * z_i + torch.sin(theta * omega) * z_d) / torch.sin(omega)
        assert torch.allclose(row, by_hand, atol=1e-12) and abs(float(row.norm()) - 1) < 1e-12
        assert torch.allclose(torch.arccos((row @ z_i).clamp(-1, 1)), theta * omega, atol=1e-6)


def test_one_noise_decodes_equal_embeddings_alike(tiny_fashion, tiny_ldm, tmp_path):
    """decode(one_noise=True): every row from the same z_T, so equal z_i give equal images (without it, each row
    has its own noise)."""
    import torch.nn.functional as F

    from trainers import fit

    out = tmp_path / "decoder"
    fit("unclip_decoder", {**LOOP, **_decoder_opts(tiny_fashion, tiny_ldm), "steps": "1", "out": str(out)})
    loaded = load_model(out)
    z = F.normalize(torch.randn(1, loaded.modules["image_encoder"].config.projection_dim), dim=-1).expand(3, -1)
    one = D.decode(loaded.cfg, loaded.modules, z, torch.Generator().manual_seed(0), 2, 2.0, one_noise=True)
    each = D.decode(loaded.cfg, loaded.modules, z, torch.Generator().manual_seed(0), 2, 2.0)
    assert torch.equal(one[0], one[1]) and torch.equal(one[1], one[2])
    assert torch.equal(one[0], each[0]) and not torch.equal(each[0], each[1])  # row 0 from the same first draw


def test_prior_forward_process_and_standardisation_by_hand_in_float64():
    """noised: z_i^(t) = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps row by row (Ho et al. 2020, eq. 4), with
    alpha_bar_t = prod_{s <= t} (1 - beta_s) from the cosine betas; `standardise` is undone by diffusers'
    `post_process_latents`."""
    from trainers.ddpm.diffusion import Schedule, cosine_betas

    sched = Schedule("cosine", 50, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    x0, eps = (torch.randn(3, 5, generator=gen, dtype=torch.float64) for _ in range(2))
    t = torch.tensor([0, 17, 49])
    alpha_bar = torch.cumprod(1 - cosine_betas(50), 0)[t]
    by_hand = torch.stack([alpha_bar[i].sqrt() * x0[i] + (1 - alpha_bar[i]).sqrt() * eps[i] for i in range(3)])
    assert torch.allclose(P.noised(sched, x0, t, eps), by_hand, atol=1e-12)
    prior = P.prior_for(build_config(P.Config, {"layers": "1", "heads": "1", "head_dim": "8"}), 5, 4)
    prior.clip_mean.data.copy_(torch.randn(1, 5, generator=gen))
    prior.clip_std.data.copy_(torch.rand(1, 5, generator=gen) + 0.1)
    z = torch.randn(3, 5, generator=gen)
    assert torch.allclose(prior.post_process_latents(P.standardise(prior, z)), z, atol=1e-6)


def test_the_tabs_unclip_page_compares_prior_and_no_prior_and_makes_variations(tmp_path, tiny_fashion, tiny_ldm,
                                                                            tiny_prior):
    """Text to image → DALL·E 2: both rows from the same decoder noise (only the embedding differs); variations of
    a garment keep its colour; bad input gets one clear message."""
    import shutil

    import gradio as gr
    import numpy as np
    from PIL import Image

    from playground import unclip as U
    from playground.models import ModelStore
    from trainers import fit
    from trainers.core.images import from_uint8, upscale

    root = tmp_path / "store"
    fit("unclip_decoder", {**LOOP, **_decoder_opts(tiny_fashion, tiny_ldm), "steps": "2", "out": str(root / "dec")})
    shutil.copytree(tiny_prior, root / "prior")
    store = ModelStore(root)
    strip, note = U.text_to_image(store, "dec", "prior", "  a red   bag ", 0, 3, 2.0, 3)
    row = 32 * U.SCALE + 2 * 2 * U.SCALE  # a 32-px image and grid padding, upscaled
    assert strip.dtype == np.uint8 and strip.shape[1] == 3 * (32 + 2) * U.SCALE + 2 * U.SCALE
    assert strip.shape[0] > 2 * row and "cosine" in note
    again, _ = U.text_to_image(store, "dec", "prior", "a red bag", 0, 3, 2.0, 3)
    assert np.array_equal(strip, again)  # a seed fixes both rows
    garment = Image.new("L", (28, 28))
    garment.paste(200, (8, 4, 20, 24))
    x = U.garment(garment, "green", "large")
    assert x.shape == (1, 3, 32, 32) and x[0, 1].max() > 150 and x[0, 0].max() == 0 == x[0, 2].max()  # pure green
    small = U.garment(garment, "green", "small")
    assert (small[0, 1] > 0).sum() < (x[0, 1] > 0).sum()  # drawn small, as the captioned data draws it
    strip, note = U.variations(store, "dec", garment, "green", "large", 1, 4, 2.0, 3)
    assert strip.shape[1] > 5 * 32 * U.SCALE and "pairwise" in note and "unlike the data" not in note
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8))
    assert "unlike the data" in U.variations(store, "dec", noise, "green", "large", 1, 2, 2.0, 2)[1]  # said, not guessed
    assert "turned dark" not in note
    # a plain white upload is shown black (the light background inverted, as the data is light on black): said
    white = Image.new("L", (40, 40), 255)
    strip, note = U.variations(store, "dec", white, "green", "large", 1, 2, 2.0, 2)
    assert note.startswith("Its light background was turned dark") and "nearly) empty" in note
    for bad, match in [(("dec", "prior", "", 0, 2, 2.0, 3), "the prompt is empty"),
                       (("dec", "prior", "a " * 200, 0, 2, 2.0, 3), "characters; at most 300"),  # the tab's limit
                       # under the characters' limit, over the CLIP's context: refused, not cut silently
                       (("dec", "prior", "a red bag " * 8, 0, 2, 2.0, 3), "tokens long"),
                       (("prior", "prior", "a bag", 0, 2, 2.0, 3), "unclip_decoder"),
                       (("dec", "prior", "a bag", 0, 99, 2.0, 3), "images")]:
        with pytest.raises(gr.Error, match=match):
            U.text_to_image(store, *bad)
    with pytest.raises(gr.Error, match="colour must be one of"):
        U.variations(store, "dec", garment, "teal", "large", 0, 2, 2.0, 3)

    # interpolation: A, then 4 frames of slerp(z_A, z_B, t) from one noise, then B, one titled row
    other = Image.new("L", (28, 28))
    other.paste(200, (2, 12, 26, 20))
    strip, note = U.interpolate(store, "dec", garment, other, "green", "large", 0, 4, 2.0, 3)
    cell = 32 * U.PATH_SCALE
    assert strip.shape[1] == 6 * cell + 5 * 6 and strip.shape[0] > cell and "slerp" in note
    dec = store.get("dec", family="unclip_decoder")
    z = image_embeddings(dec.modules["image_encoder"], from_uint8(torch.cat(
        [U.garment(garment, "green", "large"), U.garment(other, "green", "large")])))
    first = D.decode(dec.cfg, dec.modules, z[:1], torch.Generator().manual_seed(0), 3, 2.0, one_noise=True)
    tile = strip[-cell:, cell + 6:2 * cell + 6]  # the t = 0 frame: z_A decoded from the seed's noise
    assert np.array_equal(tile, upscale(first[0].permute(1, 2, 0).numpy(), U.PATH_SCALE))
    assert np.array_equal(strip, U.interpolate(store, "dec", garment, other, "green", "large", 0, 4, 2.0, 3)[0])
    # text diff: the image, then theta = 0 ... 0.5
    strip, note = U.apply_text_diff(store, "dec", garment, "green", "large", "a green dress", "a green bag", 0, 3,
                                    2.0, 3)
    assert strip.shape[1] == 4 * cell + 3 * 6 and "z_d" in note
    for bad, match in [(("a bag", " a  bag"), "the two captions are the same"), (("", "a bag"), "is empty")]:
        with pytest.raises(gr.Error, match=match):
            U.apply_text_diff(store, "dec", garment, "green", "large", *bad, 0, 3, 2.0, 3)
    with pytest.raises(gr.Error, match="frames"):
        U.interpolate(store, "dec", garment, other, "green", "large", 0, 40, 2.0, 3)
    # which box is empty, said (two boxes' "no image given" left the user to guess)
    for a, b, which in ((None, other, r"image A \(the garment above\): no image"),
                        (garment, None, "image B: no image")):
        with pytest.raises(gr.Error, match=which):
            U.interpolate(store, "dec", a, b, "green", "large", 0, 3, 2.0, 3)
    # the embedding map: garments, captions, the prompt and the prior's z_i placed by PCA, with a note
    chart, note = U.embedding_map(store, "dec", "prior", "a red bag", 0, 3)
    assert chart.shape == (U.MAP_PX + 84, U.MAP_PX, 3) and "modality gap" in note
    # where the rings landed is measured in CLIP's space, one class per ring (3 rings), not left to the plot
    landed = note.split("nearest garments are: **")[1].split("**")[0]
    counts = [int(c.rsplit("(", 1)[1][:-1]) if "(" in c else 1 for c in landed.split(", ")]
    assert sum(counts) == 3 and all(c.split(" (")[0] in FASHION_MNIST_CLASSES for c in landed.split(", ")), landed
    square = chart[:U.MAP_PX, :U.MAP_PX]
    assert len(np.unique(square.reshape(-1, 3), axis=0)) > 10  # the classes' colours and the black marks drawn
    with pytest.raises(gr.Error, match="the prompt is empty"):
        U.embedding_map(store, "dec", "prior", " ", 0, 3)


def test_the_apps_first_unclip_load_prints_no_progress_bars():
    """The app's log is no terminal: loading unCLIP's models first (the text-to-image tab's openings do) printed
    transformers' "Loading weights" bars, since unCLIP's families skipped the one place that turns them off."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("from playground.models import ModelStore; s = ModelStore(); "
            "[s.get(s.names(f)[0]) for f in ('unclip_prior', 'unclip_decoder')]; print('loaded')")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.strip() == "loaded", out.stderr[-2000:]
    assert "Loading weights" not in out.stderr and "it/s]" not in out.stderr, out.stderr[-2000:]
