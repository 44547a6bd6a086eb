"""SR3 (a DDPM conditioned on the small image by concatenation): starting from a pixel DDPM is exactly that DDPM,
training lowers the loss and makes the condition matter, a seed fixes the upscaling, the CLI takes what a user
has, and the evaluation scores it like the SRGAN models."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.conftest import TINY_DDPM
from trainers.core.checkpoint import load_model
from trainers.ddpm import sr3


def _fit(out, tiny_fashion, **options):
    from trainers import fit

    keep = {k: v for k, v in TINY_DDPM.items() if k not in ("sample_steps",)}
    opts = {**keep, "out": str(out), "data_dir": str(tiny_fashion), "scale": "2", "batch_size": "16",
            "log_every": "5", "sample_every": "1000", "ckpt_every": "1000", "sample_steps": "4", "lr": "2e-3",
            **options}
    return fit("sr3", opts)


def test_the_config_refuses_what_sr3_is_not():
    for bad in ({"scale": 3}, {"scale": 8, "image_size": 16}, {"n_classes": 10}):
        with pytest.raises(sr3.UserError):
            sr3.Config(**bad).validate()
    assert sr3.Config(scale=2).input_size == 16 and sr3.Config().input_size == 8


def test_starting_from_a_ddpm_is_that_ddpm_unconditioned(tmp_path, tiny_fashion, tiny_ddpm):
    """--init_from a class-conditional DDPM: at step 0 eps([x_t, cond], t) = the DDPM's eps(x_t, t, no label),
    whatever the condition (its input channels are at zero)."""
    ddpm = load_model(tiny_ddpm)
    opts = {k: v for k, v in ddpm.cfg.__dict__.items() if k in ("image_size", "base", "mults", "attn_res", "T")}
    cfg = sr3.Config(**opts, scale=2)
    modules = sr3.build(cfg)
    sources = sr3.init_from(cfg, modules, ddpm)
    assert "condition channels at zero" in sources["unet"]
    x, t = torch.randn(4, 1, 16, 16), torch.tensor([0, 30, 60, 99])
    with torch.no_grad():
        expected = ddpm.modules["unet_ema"].eval()(x, t)  # no label: the "no label" token
        for cond in (torch.zeros_like(x), torch.rand_like(x)):
            for name in ("unet", "unet_ema"):
                got = modules[name].eval()(x, t, cond=cond)
                assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()
    with pytest.raises(sr3.UserError, match="differs in --base"):
        sr3.init_from(sr3.Config(**{**opts, "base": 16}, scale=2), sr3.build(sr3.Config(**{**opts, "base": 16})), ddpm)
    # through the CLI: the card keeps the lineage
    out = _fit(tmp_path / "sr3", tiny_fashion, steps="1", init_from=str(tiny_ddpm))
    assert "condition channels at zero" in load_model(out).card["init_from"]["modules"]["unet"]


def test_sr3_learns_to_use_the_small_image(tmp_path, tiny_fashion):
    out = _fit(tmp_path / "sr3", tiny_fashion, steps="60")
    loss = [float(r["loss"]) for r in csv.DictReader(open(out / "log.csv"))]
    assert sum(loss[-3:]) / 3 < 0.7 * sum(loss[:2]) / 2, loss
    loaded = load_model(out)
    cfg, modules = loaded.cfg, loaded.modules
    test = sr3.dataset(cfg, "test")
    lr, hr = test.a[:16], test.b[:16]
    # the network reads the condition: the true small images predict the noise better than shuffled ones
    net, sched = modules["unet_ema"].eval(), sr3.D.schedule_for(cfg, "cpu")
    g = torch.Generator().manual_seed(0)
    x0 = sr3.from_uint8(hr)
    t = torch.full((16,), 20)
    eps = torch.randn(x0.shape, generator=g)
    xt = sr3.q_sample(sched, x0, t, eps)
    with torch.no_grad():
        right = (net(xt, t, cond=sr3.condition(cfg, sr3.from_uint8(lr))) - eps).pow(2).mean()
        wrong = (net(xt, t, cond=sr3.condition(cfg, sr3.from_uint8(lr.roll(1, 0)))) - eps).pow(2).mean()
    assert right < wrong, (right, wrong)
    a, b = sr3.translate(cfg, modules, lr, seed=3), sr3.translate(cfg, modules, lr, seed=3)
    assert a.shape == hr.shape and a.dtype == torch.uint8 and torch.equal(a, b)  # a seed fixes the result
    assert not torch.equal(a, sr3.translate(cfg, modules, lr, seed=4))
    with pytest.raises(sr3.UserError, match="upscales 1x8x8"):
        sr3.translate(cfg, modules, hr)
    with pytest.raises(sr3.UserError, match="one way"):
        sr3.translate(cfg, modules, lr, "BtoA")
    metrics = sr3.evaluate(loaded, n=20, steps=3)
    assert metrics["steps"] == 3 and metrics["n_test"] == 20
    for method in ("bicubic", "model"):
        assert metrics[f"{method}_psnr_db"] > 0 and 0 <= metrics[f"{method}_class_accuracy_mlp"] <= 1
    assert sr3.preview(cfg, modules, torch.Generator().manual_seed(0)).shape == (32, 1, 16, 16)


def test_translate_upscales_what_a_user_has(tmp_path, tiny_fashion):
    out = _fit(tmp_path / "sr3", tiny_fashion, steps="2")
    np.savez(tmp_path / "in.npz", images=np.full((2, 28, 28), 150, np.uint8))  # Fashion-MNIST's size
    r = subprocess.run([sys.executable, "-m", "trainers", "translate", str(out), "--input", str(tmp_path / "in.npz"),
                        "--out", str(tmp_path / "o.npz"), "--steps", "3", "--seed", "1"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "resized" in r.stderr and "1x8x8" in r.stderr
    with np.load(tmp_path / "o.npz") as f:
        assert f["images"].shape == (2, 16, 16)
