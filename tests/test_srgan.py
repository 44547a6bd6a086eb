"""SRGAN: the networks' shapes, the loss terms against hand-computed values, a few training steps that learn,
upscaling through the CLI from the sizes a user has, and the evaluation's bicubic baseline."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
import torch

from trainers.core.metrics import psnr, ssim
from trainers.srgan import losses
from trainers.srgan import train as S
from trainers.srgan.models import Discriminator, Generator


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_the_generator_upscales_by_pixel_shuffles_and_the_discriminator_gives_one_logit(scale):
    g = Generator(1, scale, ngf=8, n_blocks=2)
    x = torch.rand(3, 1, 32 // scale, 32 // scale) * 2 - 1
    y = g(x)
    assert y.shape == (3, 1, 32, 32) and y.abs().max() <= 1
    assert sum(isinstance(m, torch.nn.PixelShuffle) for m in g.modules()) == int(np.log2(scale))
    assert Discriminator(1, 8, 32, dense=16)(y).shape == (3,)
    with pytest.raises(ValueError, match="power of two"):
        Generator(1, 3)


def test_the_loss_terms_match_their_equations():
    hr, sr = torch.tensor([[[[1.0, -1.0]]]]), torch.tensor([[[[0.5, 0.0]]]])
    assert losses.pixel_mse(hr, sr).item() == pytest.approx((0.25 + 1.0) / 2)  # eq. 4
    phi = torch.nn.Conv2d(1, 2, 1, bias=False)
    with torch.no_grad():
        phi.weight[:] = torch.tensor([1.0, 3.0]).view(2, 1, 1, 1)
    # eq. 5 with phi = (x, 3x): the mean of (hr - sr)^2 and 9 (hr - sr)^2 over both maps
    assert losses.feature_mse(phi, hr, sr).item() == pytest.approx((1 + 9) * (0.25 + 1.0) / 4)
    d_fake = torch.tensor([0.0])
    # eq. 3 and 6: l_X + lambda (-log sigmoid(D)); -log sigmoid(0) = log 2
    assert losses.g_loss(d_fake, torch.tensor(0.5), 1e-3).item() == pytest.approx(0.5 + 1e-3 * np.log(2))
    assert losses.d_loss(torch.tensor([0.0]), d_fake).item() == pytest.approx(2 * np.log(2))  # eq. 2 at D = 1/2


def test_psnr_and_ssim_against_hand_computed_values():
    ref = torch.zeros(2, 1, 16, 16, dtype=torch.uint8)
    # errors of 51/255 = 0.2 everywhere: MSE 0.04, PSNR 10 log10(25) = 13.98 dB; of 0.4: MSE 0.16, 7.96 dB
    out = torch.stack([torch.full((1, 16, 16), 51), torch.full((1, 16, 16), 102)]).to(torch.uint8)
    assert psnr(out[:1], ref[:1]) == pytest.approx(10 * np.log10(25), abs=1e-3)
    assert psnr(out, ref) == pytest.approx((10 * np.log10(25) + 10 * np.log10(1 / 0.16)) / 2, abs=1e-3)  # per image
    assert psnr(ref, ref) == 100.0  # an exact copy: a number, not infinity
    assert ssim(ref + 100, ref + 100) == pytest.approx(1.0) and ssim(out, ref) < 0.99


def test_the_config_refuses_sizes_it_cannot_make():
    for bad in ({"scale": 3}, {"scale": 8, "image_size": 24}, {"lambda_pixel": 0.0, "lambda_content": 0.0},
                {"channels": 3}):
        with pytest.raises(S.UserError):
            S.Config(**bad).validate()
    assert S.Config(scale=2).input_size == 16 and S.Config().input_size == 8


def _fit(out, tiny_fashion, **options):
    from trainers import fit

    opts = {"out": str(out), "data_dir": str(tiny_fashion), "image_size": "16", "scale": "2", "batch_size": "16",
            "device": "cpu", "log_every": "5", "sample_every": "1000", "ckpt_every": "1000", "monitor_n": "0",
            "ngf": "8", "n_blocks": "2", "ndf": "8", "lr": "2e-3", **options}
    return fit("srgan", opts)


def test_srgan_learns_and_upscales(tmp_path, tiny_fashion):
    from trainers.core.checkpoint import load_model

    out = _fit(tmp_path / "sr", tiny_fashion, steps="60")
    rows = list(csv.DictReader(open(out / "log.csv")))
    mse = [float(r["mse"]) for r in rows]
    assert sum(mse[-3:]) / 3 < 0.5 * sum(mse[:2]) / 2, mse  # l_MSE falls
    assert all(r["loss_d"] and r["feature_mse"] for r in rows)  # D trained and the feature term on
    loaded = load_model(out)
    test = S.dataset(loaded.cfg, "test")
    lr, hr = test.a[:20], test.b[:20]
    assert lr.shape == (20, 1, 8, 8) and hr.shape == (20, 1, 16, 16)
    assert torch.equal(lr, S.shrink(loaded.cfg, hr))  # the inputs are made the way a user's are resized
    up = S.translate(loaded.cfg, loaded.modules, lr)
    assert up.shape == hr.shape and up.dtype == torch.uint8
    assert psnr(up, hr) > psnr(torch.zeros_like(hr), hr) + 3  # it draws the garment, not a blank
    with pytest.raises(S.UserError, match="upscales 1x8x8"):
        S.translate(loaded.cfg, loaded.modules, hr)
    with pytest.raises(S.UserError, match="one way"):
        S.translate(loaded.cfg, loaded.modules, lr, "BtoA")
    metrics = S.evaluate(loaded, n=50)
    for method in ("bicubic", "model"):
        assert metrics[f"{method}_psnr_db"] > 0 and -1 <= metrics[f"{method}_ssim"] <= 1
        assert metrics[f"{method}_fid"] >= 0
        for judge in ("cnn", "mlp"):
            assert 0 <= metrics[f"{method}_class_accuracy_{judge}"] <= 1
    assert S.preview(loaded.cfg, loaded.modules, None).shape == (32, 1, 16, 16)


def test_srresnet_is_the_pixel_loss_alone(tmp_path, tiny_fashion):
    out = _fit(tmp_path / "srresnet", tiny_fashion, steps="4", lambda_adv="0", lambda_content="0")
    row = next(csv.DictReader(open(out / "log.csv")))
    assert not row.get("loss_d") and not row.get("feature_mse") and float(row["loss_g"]) == float(row["mse"])


def test_the_bicubic_baseline_keeps_a_flat_image_flat_and_sizes_up():
    cfg = S.Config(scale=4)
    flat = torch.full((2, 1, 8, 8), 77, dtype=torch.uint8)
    up = S.bicubic(cfg, flat)
    assert up.shape == (2, 1, 32, 32) and (up == 77).all()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "trainers", *map(str, args)], capture_output=True, text=True)


def test_translate_upscales_what_a_user_has(tmp_path, tiny_fashion):
    out = _fit(tmp_path / "sr", tiny_fashion, steps="2")
    for shape, resized in [((3, 8, 8), False), ((3, 28, 28), True), ((2, 40, 30, 3), True)]:
        np.savez(tmp_path / "in.npz", images=np.full(shape, 150, np.uint8))
        r = cli("translate", out, "--input", tmp_path / "in.npz", "--out", tmp_path / "o.npz")
        assert r.returncode == 0, r.stderr
        assert ("resized" in r.stderr and "1x8x8" in r.stderr) == resized, r.stderr
        with np.load(tmp_path / "o.npz") as f:
            assert f["images"].shape == (shape[0], 16, 16)


@pytest.fixture(scope="module")
def store(request, tmp_path_factory, tiny_fashion, tiny_ddpm):
    """Two tiny x2 models of 16 px (SRResNet, then SRGAN from it), a DDPM of that size (ILVR's column), an SR3 from
    it and the two judges, in a store of their own."""
    import shutil

    from playground.models import ModelStore
    from trainers import fit

    from trainers.core import data

    root = tmp_path_factory.mktemp("sr-store")
    mp = pytest.MonkeyPatch()  # a module's fixture runs before the per-test cache: it staged the toy data in ~/.cache
    mp.setattr(data, "CACHE_DIR", tmp_path_factory.mktemp("sr-store-cache"))
    request.addfinalizer(mp.undo)
    for judge in ("fashion-classifier", "fashion-classifier-mlp"):
        shutil.copytree(ModelStore().path(judge), root / judge)
    shutil.copytree(tiny_ddpm, root / "tiny-ddpm")
    tiny = {"data_dir": str(tiny_fashion), "batch_size": "16", "device": "cpu", "monitor_n": "0", "ngf": "8",
            "n_blocks": "1", "ndf": "8", "image_size": "16", "scale": "2"}
    fit("srgan", {**tiny, "out": str(root / "srresnet-x2"), "steps": "3", "lambda_adv": "0", "lambda_content": "0"})
    fit("srgan", {**tiny, "out": str(root / "srgan-x2"), "steps": "3", "init_from": str(root / "srresnet-x2"),
                 "lambda_adv": "0.005", "lambda_content": "1"})  # --init_from carries the parent's config
    from tests.conftest import TINY_DDPM

    fit("sr3", {**TINY_DDPM, "data_dir": str(tiny_fashion), "out": str(root / "sr3-x2"), "steps": "3", "scale": "2",
                "init_from": str(tiny_ddpm)})
    return ModelStore(root)


def test_the_upscale_tab_puts_every_method_beside_the_original_and_measures_each(store, monkeypatch):
    from PIL import Image

    from playground import upscale as U

    monkeypatch.setattr(U, "DIFFUSION_STEPS", 3)
    factor = "×2: 8 → 16 px"
    assert U.scales(store) == [factor] and U.models_for(store, factor) == ["srresnet-x2", "srgan-x2"]
    assert U.diffusion_model(store, store.get("srgan-x2").cfg) == "tiny-ddpm"
    strip, table = U.upscale(store, U.example(7), factor)
    # seven tiles of TILE px (input, bicubic, SRResNet, SRGAN, ILVR, SR3, original) with titles over them
    assert strip.shape[1] == 7 * U.TILE + 6 * 8 and strip.shape[0] > U.TILE
    rows = [line for line in table.splitlines() if line.startswith("| **")]
    assert [r.split("**")[1] for r in rows] == ["original", "bicubic", "SRResNet (pixel loss)", "SRGAN",
                                                "ILVR (diffusion, no training)", "SR3 (diffusion, trained)"]
    for row in rows[1:]:  # each method measured against the original, and read by both judges
        db = float(row.split("|")[2].split()[0])
        assert 5 < db < 60 and row.count("%") == 2
    assert "shrunk 2x" in table and "No SR3 tile" not in table and "unlike the data" not in table
    # a fully transparent upload scored 100 dB and "Bag 83%" with no word: said, as the classifier says it
    empty = U.upscale(store, Image.new("RGBA", (64, 64), (0, 0, 0, 0)), factor)[1]
    assert "unlike the data: it is (nearly) empty" in empty
    with monkeypatch.context() as m:  # no SR3 for this factor (the shipped ones at x2): the tile is gone, and said so
        m.setattr(U, "sr3_for", lambda *a: [])
        without = U.upscale(store, U.example(7), factor)[1]
        assert "No SR3 tile" in without and "train sr3 --scale 2" in without and "| **SR3" not in without
    other = U.upscale(store, U.example(7), factor, 1)[0]  # the seed draws ILVR's and SR3's noise
    for k in (4, 5):  # their tiles (k-th of the strip) change, the others do not
        x = slice(k * (U.TILE + 8), k * (U.TILE + 8) + U.TILE)
        assert not np.array_equal(strip[-U.TILE:, x], other[-U.TILE:, x])
    x = slice(2 * (U.TILE + 8), 2 * (U.TILE + 8) + U.TILE)
    assert np.array_equal(strip[-U.TILE:, x], other[-U.TILE:, x])
    # an image no larger than the input is upscaled as it is: nothing to measure against
    small_strip, small_table = U.upscale(store, Image.new("L", (8, 8), 200), factor)
    assert small_strip.shape[1] == 6 * U.TILE + 5 * 8 and "no original" in small_table and "dB" not in small_table
    with pytest.raises(Exception, match="no super-resolution model upscales"):
        U.upscale(store, U.example(7), "×3")
    with pytest.raises(Exception, match="no image given"):
        U.upscale(store, None, factor)
    assert "no held-out metrics" in U.held_out(store)
    # the box says up to which size an upload is enlarged as it is (a 16-px "small image" at x4 was shrunk first)
    assert U.input_label(store, factor) == "the original (or ≤ 8 px: enlarged as it is)"


def test_ilvr_takes_the_low_frequencies_from_the_small_image_and_the_rest_from_the_model():
    """With the exact denoiser of a two-point dataset (A: bright left half, B: bright right half; test_inpaint's),
    the model alone draws A or B at even odds. ILVR (Choi et al. 2021, eq. 7) given A shrunk to 4 px must draw A,
    and given B shrunk, B; and the result shrinks back to the small image it was given."""
    from test_inpaint import A, B, SCHED, exact_eps

    from trainers.ddpm.superres import down, ilvr

    n = 200
    for target in (A, B):
        low = down(target, 4).expand(n, -1, -1, -1)
        for _, _, x, x0_hat in ilvr(exact_eps, SCHED, low, 8, torch.Generator().manual_seed(0), 10):
            pass
        right = (x - target).abs().flatten(1).mean(1) < 0.25
        assert right.float().mean() > 0.97, right.float().mean()
        assert (down(x, 4) - low).abs().max() < 0.1  # consistent with what it was given
        assert x0_hat.shape == x.shape == (n, 1, 8, 8)
    with pytest.raises(S.UserError, match="smaller than"):
        next(ilvr(exact_eps, SCHED, torch.zeros(1, 1, 8, 8), 8, torch.Generator(), 10))


def test_ilvr_upscales_with_a_trained_ddpm_and_joins_the_evaluation(tmp_path, tiny_fashion, tiny_ddpm):
    from trainers.core.checkpoint import load_model
    from trainers.ddpm.superres import upscale_images

    ddpm = load_model(tiny_ddpm)  # 16 px
    low = torch.randint(0, 256, (3, 1, 8, 8), dtype=torch.uint8)
    a, b = upscale_images(ddpm, low, 16, steps=4, seed=1), upscale_images(ddpm, low, 16, steps=4, seed=1)
    assert a.shape == (3, 1, 16, 16) and torch.equal(a, b)  # a seed fixes the run
    with pytest.raises(S.UserError, match="makes 1x16x16"):
        upscale_images(ddpm, low, 32)
    out = _fit(tmp_path / "sr", tiny_fashion, steps="2")
    metrics = S.evaluate(load_model(out), n=20, diffusion=str(tiny_ddpm), diffusion_steps=3)
    assert metrics["ilvr_psnr_db"] > 0 and 0 <= metrics["ilvr_class_accuracy_mlp"] <= 1
    with pytest.raises(S.UserError, match="not a DDPM"):
        S.evaluate(load_model(out), n=20, diffusion=str(out))
