import csv
import math

import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from trainers.core import checkpoint as ck
from trainers.core.errors import UserError
from trainers import fit
from trainers.vae import losses
from trainers.vae import train as vae


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 7, generator=g, dtype=torch.float64)
    logvar = torch.randn(5, 7, generator=g, dtype=torch.float64)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    assert torch.allclose(losses.kl_normal_std_normal(mu, logvar), kl_divergence(q, p), atol=1e-12)
    assert torch.allclose(losses.kl_normal_std_normal(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_reparametrization_passes_gradients_to_mu_and_sigma():
    mu = torch.tensor([[0.5, -1.0]], dtype=torch.float64, requires_grad=True)
    logvar = torch.tensor([[0.2, -0.4]], dtype=torch.float64, requires_grad=True)
    eps = torch.tensor([[1.5, -0.3]], dtype=torch.float64)
    z = losses.reparametrize(mu, logvar, eps=eps)
    assert torch.allclose(z, mu + eps * torch.exp(0.5 * logvar))
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones_like(mu))  # dz/dmu = 1
    assert torch.allclose(logvar.grad, 0.5 * eps * torch.exp(0.5 * logvar.detach()))  # dz/dlogvar = eps sigma / 2


def test_likelihoods_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 1, 4, 4, generator=g, dtype=torch.float64)
    mean = torch.rand(3, 1, 4, 4, generator=g, dtype=torch.float64)
    c = 0.05
    ref = -Independent(Normal(mean, math.sqrt(c)), 3).log_prob(x)
    assert torch.allclose(losses.gaussian_nll(x, mean, c), ref)
    assert torch.allclose(losses.gaussian_recon(x, mean, c), ((x - mean) ** 2).sum((1, 2, 3)) / (2 * c))
    logits = torch.randn(3, 1, 4, 4, generator=g, dtype=torch.float64)
    binary = (x > 0.5).double()
    assert torch.allclose(losses.bernoulli_nll(binary, logits), -Independent(Bernoulli(logits=logits), 3).log_prob(binary))


@pytest.mark.parametrize("arch, variational, extra", [
    ("linear", False, {}), ("mlp", False, {}), ("conv", False, {"noise_std": "0.3"}),
    ("conv", True, {}), ("mlp", True, {"likelihood": "bernoulli", "latent_dim": "2"}),
])
def test_training_lowers_the_loss(tmp_path, tiny_fashion, arch, variational, extra):
    out = tmp_path / "run"
    fit("vae", {"data_dir": str(tiny_fashion), "out": str(out), "arch": arch, "variational": str(variational),
                "width": "8", "latent_dim": "8", "steps": "40", "batch_size": "32", "log_every": "5", "lr": "3e-3",
                "sample_every": "40", "ckpt_every": "40", "device": "cpu", "monitor_n": "0", **extra})
    rows = list(csv.DictReader(open(out / "log.csv")))
    first, last = float(rows[0]["loss"]), float(rows[-1]["loss"])
    assert last < 0.7 * first, (first, last)
    assert (out / "samples.png").exists()


def test_round_trip_sampling_and_translation(tmp_path, tiny_fashion):
    out = tmp_path / "vae"
    fit("vae", {"data_dir": str(tiny_fashion), "out": str(out), "width": "8", "latent_dim": "4", "steps": "3",
                "batch_size": "32", "fp16_weights": "false", "device": "cpu", "monitor_n": "200"})
    a, b = ck.load_model(out), ck.load_model(out)
    s1 = vae.sample(a.cfg, a.modules, 5, torch.Generator().manual_seed(0))["images"]
    s2 = vae.sample(b.cfg, b.modules, 5, torch.Generator().manual_seed(0))["images"]
    assert s1.dtype == torch.uint8 and s1.shape == (5, 1, 32, 32) and torch.equal(s1, s2)
    assert vae.translate(a.cfg, a.modules, s1).shape == s1.shape
    with pytest.raises(UserError, match="32x32"):
        vae.translate(a.cfg, a.modules, torch.zeros(1, 1, 28, 28, dtype=torch.uint8))
    ae_cfg = vae.Config(variational=False)
    with pytest.raises(UserError, match="no prior"):
        vae.sample(ae_cfg, vae.build(ae_cfg), 2, torch.Generator())
