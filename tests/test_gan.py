"""The GAN loss table against hand-computed values, the penalties' gradient norms, and training."""

import csv
import math

import pytest
import torch

from trainers.core import checkpoint as ck
from trainers.core.errors import UserError
from trainers import fit
from trainers.gan import losses as L
from trainers.gan import train as gan

# two real logits and two fake logits, with their sigmoids computed by hand
D_REAL = torch.tensor([2.0, 0.0], dtype=torch.float64)
D_FAKE = torch.tensor([-1.0, 0.5], dtype=torch.float64)
sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731


def test_bce_losses_by_hand():
    expected_d = -(math.log(sig(2.0)) + math.log(sig(0.0))) / 2 - (math.log(1 - sig(-1.0)) + math.log(1 - sig(0.5))) / 2
    assert L.d_loss_bce(D_REAL, D_FAKE).item() == pytest.approx(expected_d, rel=1e-12)
    assert L.g_loss_minimax(D_FAKE).item() == pytest.approx((math.log(1 - sig(-1.0)) + math.log(1 - sig(0.5))) / 2)
    assert L.g_loss_non_saturating(D_FAKE).item() == pytest.approx(-(math.log(sig(-1.0)) + math.log(sig(0.5))) / 2)
    # numerically safe where the naive formula overflows
    assert torch.isfinite(L.d_loss_bce(torch.tensor([100.0]), torch.tensor([-100.0])))


def test_wgan_lsgan_hinge_by_hand():
    assert L.d_loss_wgan(D_REAL, D_FAKE).item() == pytest.approx(-(2.0 + 0.0) / 2 + (-1.0 + 0.5) / 2)
    assert L.g_loss_wgan(D_FAKE).item() == pytest.approx(0.25)
    assert L.d_loss_lsgan(D_REAL, D_FAKE).item() == pytest.approx(((2 - 1) ** 2 + 1) / 2 + (1 + 0.25) / 2)
    assert L.g_loss_lsgan(D_FAKE).item() == pytest.approx((4 + 0.25) / 2)
    assert L.d_loss_hinge(D_REAL, D_FAKE).item() == pytest.approx((0 + 1) / 2 + (0 + 1.5) / 2)


def test_gradient_penalties_measure_the_gradient_norm():
    w = torch.tensor([1.2, -1.6], dtype=torch.float64, requires_grad=True)  # |w| = 2
    critic = lambda v: v @ w  # noqa: E731  linear: grad_x D = w everywhere
    x, xf = torch.randn(4, 2, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    gp = L.wgan_gp_penalty(critic, x, xf, torch.rand(4, dtype=torch.float64))
    assert gp.item() == pytest.approx((2 - 1) ** 2)
    gp.backward()  # d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w|
    assert torch.allclose(w.grad, 2 * (2 - 1) * w.detach() / 2)
    quad = lambda v: (v ** 2).sum(1)  # noqa: E731  grad = 2 v: norm 2|v|
    pts = torch.tensor([[0.5, 0.0], [0.0, 1.0]], dtype=torch.float64)
    assert L.dragan_penalty(quad, pts, torch.zeros_like(pts)).item() == pytest.approx(((1 - 1) ** 2 + (2 - 1) ** 2) / 2)


def test_began_terms_by_hand():
    x, ae = torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 0.5)
    assert torch.allclose(L.began_recon(x, ae), torch.tensor([0.5, 0.5]))
    l_real, l_fake = torch.tensor([0.4]), torch.tensor([0.1])
    assert L.began_d_loss(l_real, l_fake, 0.5).item() == pytest.approx(0.35)
    k = L.began_k_update(torch.tensor(0.0), l_real, l_fake, gamma=0.5, lambda_k=0.1)
    assert k.item() == pytest.approx(0.1 * (0.2 - 0.1))
    assert L.began_k_update(torch.tensor(1.0), l_real, l_fake, 0.5, 100.0).item() == 1.0  # clipped
    assert L.began_convergence(l_real, l_fake, 0.5).item() == pytest.approx(0.4 + 0.1)


TINY = {"ngf": "8", "ndf": "8", "z_dim": "16", "batch_size": "32", "device": "cpu", "log_every": "1", "monitor_n": "0",
        "sample_every": "1000", "ckpt_every": "1000"}


@pytest.mark.parametrize("loss", sorted(L.LOSSES))
def test_discriminator_learns_to_separate_under_each_loss(tmp_path, tiny_fashion, loss):
    """With G frozen (lr_g = 0), D's steps move its outputs the way its objective says."""
    import csv

    out = tmp_path / loss
    fit("gan", {**TINY, "data_dir": str(tiny_fashion), "out": str(out), "loss": loss, "steps": "25",
                "lr_g": "0", "lr_d": "2e-3", "ema_decay": "0"})
    rows = list(csv.DictReader(open(out / "log.csv")))
    if loss == "began":  # D (an autoencoder) learns to reconstruct real images: L(x) falls
        first, last = float(rows[0]["l_real"]), sum(float(r["l_real"]) for r in rows[-5:]) / 5
        assert last < first
        return
    gap = [float(r["d_real"]) - float(r["d_fake"]) for r in rows]
    assert sum(gap[-5:]) / 5 > gap[0] + 0.05, gap


def test_conditional_gan_with_mapping_network(tmp_path, tiny_fashion):
    out = tmp_path / "cgan"
    fit("gan", {**TINY, "data_dir": str(tiny_fashion), "out": str(out), "n_classes": "10", "mapping_layers": "8",
                "steps": "3", "fp16_weights": "false"})
    m = ck.load_model(out)
    assert m.modules["G_ema"].mapping is not None and m.modules["G_ema"].w_avg.abs().sum() > 0
    s = gan.sample(m.cfg, m.modules, 6, torch.Generator().manual_seed(0), label=7)
    assert s["labels"].tolist() == [7] * 6 and s["images"].shape == (6, 1, 32, 32)
    G = m.modules["G_ema"]
    w = G.map(s["z"])
    assert torch.allclose(G.truncate(w, 0.5), G.w_avg + 0.5 * (w - G.w_avg))  # w' = w_avg + psi (w - w_avg)
    y = torch.full((6,), 7)
    assert not torch.allclose(G(s["z"], y, psi=0.5), G(s["z"], y))
    assert gan.sample(m.cfg, m.modules, 12, torch.Generator())["labels"].tolist()[:11] == list(range(10)) + [0]
    with pytest.raises(UserError, match="label"):
        gan.sample(m.cfg, m.modules, 2, torch.Generator(), label=10)


def test_the_mapping_network_carries_z_to_w_from_the_start():
    """8 plain nn.Linear layers (PyTorch's init) shrank the variance ~5x a layer: w was almost the last bias, z
    barely reached G, and the shipped mapping GAN trained to FID 32. With the equalised learning rate (StyleGAN)
    every layer keeps unit gain, and the mapping's weights move lr_mul = 0.01 times as fast."""
    from torch import nn

    from trainers.gan.models import EqualLinear, Generator

    torch.manual_seed(0)
    G = Generator(mapping_layers=8)
    w = G.map(torch.randn(512, 100))
    assert w.std(0).mean() > 0.3  # each w dimension still varies with z
    plain = nn.Sequential(*[m for _ in range(8) for m in (nn.Linear(100, 100), nn.LeakyReLU(0.2))])
    assert plain(torch.randn(512, 100)).std(0).mean() < 0.01  # what it replaced
    layer = EqualLinear(100, 100, lr_mul=0.01)
    x = torch.randn(64, 100)
    before = layer(x).detach()
    opt = torch.optim.Adam(layer.parameters(), lr=1e-3)
    layer(x).pow(2).mean().backward()
    opt.step()
    # Adam's step is ~lr per stored weight; stored at 1/lr_mul scale, the effective weight moves 100x less
    assert (layer(x) - before).abs().mean() < 1e-3 * before.abs().mean()


def test_mlp_gan_trains_and_samples(tmp_path, tiny_fashion):
    out = tmp_path / "mlp"
    fit("gan", {**TINY, "data_dir": str(tiny_fashion), "out": str(out), "arch": "mlp", "steps": "3",
                "image_size": "28"})
    m = ck.load_model(out)
    assert gan.sample(m.cfg, m.modules, 2, torch.Generator())["images"].shape == (2, 1, 28, 28)


def test_config_errors_name_the_valid_choices():
    from trainers.core.config import build_config

    with pytest.raises(UserError, match="wgan-gp"):
        build_config(gan.Config, {"loss": "wasserstein"})
    assert build_config(gan.Config, {"loss": "wgan-gp"}).norm == "layer"
    assert build_config(gan.Config, {"loss": "hinge"}).norm == "batch"


def test_projection_discriminator_adds_the_class_embeddings_inner_product():
    """D(x, y) = psi(phi(x)) + <embed(y), sum phi(x)> (Miyato & Koyama 2018, eq. 3)."""
    from trainers.gan.models import Discriminator
    torch.manual_seed(0)
    D = Discriminator(8, 1, 32, n_classes=10, norm="none", cond="projection").eval()
    x, y = torch.randn(4, 1, 32, 32), torch.tensor([0, 3, 3, 9])
    h = D.net[:-1](x)
    by_hand = D.net[-1](h).flatten() + (D.embed(y) * h.sum(dim=(2, 3))).sum(1)
    assert torch.allclose(D(x, y), by_hand)
    assert D.net[0].in_channels == 1  # the label is not concatenated to the input
    assert not torch.allclose(D(x, y), D(x, (y + 1) % 10))  # the label changes the score


def test_projection_conditional_gan_trains_and_samples_each_class(tmp_path, tiny_fashion):
    out = tmp_path / "cgan-proj"
    fit("gan", {**TINY, "data_dir": str(tiny_fashion), "out": str(out), "n_classes": "10",
                "d_cond": "projection", "steps": "3", "fp16_weights": "false"})
    m = ck.load_model(out)
    assert m.cfg.d_cond == "projection" and "embed.weight" in dict(m.modules["D"].named_parameters())
    s = gan.sample(m.cfg, m.modules, 4, torch.Generator().manual_seed(0), label=2)
    assert s["labels"].tolist() == [2] * 4 and torch.isfinite(s["images"]).all()
    with pytest.raises(UserError, match="d_cond"):
        gan.Config(d_cond="sum").validate()


def test_spectral_norm_keeps_each_discriminator_layer_1_lipschitz(tmp_path, tiny_fashion):
    """--d_norm=spectral: every layer's weight is W / sigma(W) (Miyato et al. 2018), through training and reload."""
    out = tmp_path / "cgan-sn"
    fit("gan", {**TINY, "data_dir": str(tiny_fashion), "out": str(out), "n_classes": "10", "d_cond": "projection",
                "d_norm": "spectral", "loss": "hinge", "steps": "4", "fp16_weights": "false"})
    D = ck.load_model(out).modules["D"].eval()
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(not isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    for m in convs:
        sigma = torch.linalg.matrix_norm(m.weight.flatten(1), ord=2)
        assert abs(float(sigma) - 1) < 0.05  # one power iteration per step: close to, not exactly, 1


def test_auxiliary_classifier_gan_learns_to_classify_real_images(tmp_path, tiny_fashion):
    """--ac_weight: D's classifier head (AC-GAN, Odena et al. 2017) learns the real labels, G is trained
    against it, and the head survives a reload; with concat conditioning the head is refused."""
    out = tmp_path / "acgan"
    fit("gan", {**TINY, "data_dir": str(tiny_fashion), "out": str(out), "n_classes": "10", "d_cond": "projection",
                "ac_weight": "1", "steps": "120", "lr_d": "0.001", "log_every": "1", "fp16_weights": "false"})
    log = list(csv.DictReader(open(out / "log.csv")))
    ac_real = [float(r["ac_real"]) for r in log if r.get("ac_real")]
    assert "ac_fake" in log[0] and len(ac_real) == 120
    assert sum(ac_real[-10:]) / 10 < 0.8 * sum(ac_real[:5]) / 5  # the head learns (starts at ~ln 10 = 2.3)
    D = ck.load_model(out).modules["D"].eval()
    d, logits = D(torch.zeros(3, 1, 32, 32), torch.tensor([0, 1, 2]), logits=True)
    assert d.shape == (3,) and logits.shape == (3, 10)
    with pytest.raises(UserError, match="ac_weight"):
        gan.Config(n_classes=10, ac_weight=1.0).validate()  # concat: the label would leak into the head


def test_perceptual_path_length_by_hand():
    """Karras et al. 2019, eq. 3: with a generator linear in w (image = A w, small enough not to be clipped) and a
    judge whose features are the pixels, every step of a W walk changes the image by eps A (w2 - w1), so
    l_W = E|A (w2 - w1)|^2 exactly (trimmed to the 1st-99th percentiles, as the paper). A model without a mapping
    network has no W to measure."""
    from trainers.gan.walk import path_length

    class Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.z_dim, self.A = 4, torch.nn.Linear(4, 16, bias=False)
            self.mapping = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh())
            torch.nn.init.normal_(self.A.weight, std=0.02)

        def map(self, z):
            return self.mapping(z)

        def synthesis(self, w, y, e):
            return self.A(w).view(-1, 1, 4, 4)

    class Pixels(torch.nn.Module):
        def features(self, x):
            return x.flatten(1)

    G = Linear()
    with torch.no_grad():
        got = path_length(G, "w", Pixels(), n=500, eps=1e-4, seed=3)
        gen = torch.Generator().manual_seed(3)
        d = []
        for i in range(0, 500, 250):  # the same draws as path_length: z1, z2, then t, per batch
            z1, z2 = torch.randn(250, 4, generator=gen), torch.randn(250, 4, generator=gen)
            torch.rand(250, 1, generator=gen)
            d.append((G.A(G.map(z2) - G.map(z1)) ** 2).sum(1).double())
        d = torch.cat(d)
        lo, hi = torch.quantile(d, 0.01), torch.quantile(d, 0.99)
        assert got == pytest.approx(float(d[(d >= lo) & (d <= hi)].mean()), rel=1e-3)
        assert path_length(G, "z", Pixels(), n=500, seed=3) > 0
    G.mapping = None
    with pytest.raises(UserError, match="mapping"):
        path_length(G, "w", Pixels())
