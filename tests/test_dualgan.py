"""DualGAN (Yi et al. 2017) as `--loss=dualgan` of the CycleGAN family: its Wasserstein terms against hand
computation, the clipped critic, the loss-dependent defaults, and a few training steps that learn."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from trainers.core.config import build_config
from trainers.cyclegan import losses
from trainers.cyclegan import train as C


def test_critic_loss_is_fake_minus_real_averaged_over_batch_and_patches():
    d_real = torch.tensor([[[[1.0, 3.0]]], [[[2.0, 6.0]]]], dtype=torch.float64)  # (2, 1, 1, 2): mean 3
    d_fake = torch.tensor([[[[0.5, -0.5]]], [[[1.5, 2.5]]]], dtype=torch.float64)  # mean 1
    assert losses.d_loss_dualgan(d_real, d_fake).item() == pytest.approx(1.0 - 3.0)  # eqs. 1-2: D(G(u)) - D(v)
    assert losses.d_loss_dualgan(d_fake, d_real).item() == pytest.approx(3.0 - 1.0)
    assert losses.d_loss_dualgan(d_real, d_real).item() == 0.0


def test_generator_adversarial_term_is_minus_both_critics_on_fakes():
    d_b_fake = torch.tensor([[[[2.0, 4.0]]]], dtype=torch.float64)  # mean 3
    d_a_fake = torch.tensor([[[[-1.0]]], [[[0.0]]]], dtype=torch.float64)  # mean -0.5
    assert losses.g_adversarial_dualgan(d_b_fake, d_a_fake).item() == pytest.approx(-(3.0 - 0.5))
    # the reconstruction term of eq. 3 (lambda_U = lambda_V) is CycleGAN's L1 cycle term
    a, b = torch.zeros(1, 1, 2, 2, dtype=torch.float64), torch.ones(1, 1, 2, 2, dtype=torch.float64)
    a_back = torch.tensor([[[[0.5, -0.5], [0.0, 1.0]]]], dtype=torch.float64)  # |.| mean 0.5
    assert losses.cycle(a, a_back, b, b).item() == pytest.approx(0.5)


def test_defaults_follow_the_loss_and_lsgan_keeps_cyclegans():
    lsgan, dual = build_config(C.Config, {}), build_config(C.Config, {"loss": "dualgan"})
    assert (lsgan.loss, lsgan.lr, lsgan.lambda_cycle, lsgan.lambda_identity, lsgan.pool_size, lsgan.n_critic) == \
        ("lsgan", 2e-4, 10.0, 0.5, 50, 1)
    assert (dual.lr, dual.lambda_identity, dual.pool_size, dual.clip_value) == (5e-5, 0.0, 0, 0.01)
    assert dual.n_critic >= 2 and dual.lambda_cycle == C.LOSS_DEFAULTS["dualgan"]["lambda_cycle"]
    assert build_config(C.Config, {"loss": "dualgan", "lr": "1e-4"}).lr == 1e-4  # a given value wins
    opts = C.optimizers(dual, C.build(dual))
    assert all(isinstance(o, torch.optim.RMSprop) for o in opts.values())
    assert all(isinstance(o, torch.optim.Adam) for o in C.optimizers(lsgan, C.build(lsgan)).values())
    with pytest.raises(C.UserError, match="lsgan, dualgan"):
        build_config(C.Config, {"loss": "wgan"})
    with pytest.raises(C.UserError, match="n_critic=1"):
        build_config(C.Config, {"n_critic": "3"})
    with pytest.raises(C.UserError, match="clip_value > 0"):
        build_config(C.Config, {"loss": "dualgan", "clip_value": "0"})


def test_a_config_saved_before_the_loss_option_loads_as_cyclegan():
    saved = {"dataset": "fashion-mnist", "data_dir": None, "image_size": 32, "channels": 1, "domain_a": "Sneaker",
             "domain_b": "Ankle boot", "ngf": 32, "n_blocks": 6, "ndf": 32, "d_layers": 2, "lambda_cycle": 10.0,
             "lambda_identity": 0.5, "pool_size": 50, "lr": 0.0002, "beta1": 0.5}
    cfg = build_config(C.Config, saved)
    assert cfg.loss == "lsgan" and cfg.n_critic == 1 and cfg.pool_size == 50


class _Plain:  # the two things train_step asks of accelerate, on one CPU process
    @staticmethod
    def backward(loss):
        loss.backward()

    @staticmethod
    def unwrap_model(m):
        return m


def test_critic_weights_stay_within_c_after_a_step_and_the_generators_are_not_clipped():
    cfg = build_config(C.Config, {"loss": "dualgan", "image_size": "16", "ngf": "4", "n_blocks": "1", "ndf": "4",
                                  "d_layers": "1", "clip_value": "0.005", "lr": "1e-2"})
    torch.manual_seed(0)
    modules = C.build(cfg)
    opts = C.optimizers(cfg, modules)
    before = [p.detach().clone() for p in modules["D"].parameters()]
    assert max(p.abs().max().item() for p in before) > 0.005  # N(0, 0.02) init: clipping has work to do
    batch = {"A": torch.rand(4, 1, 16, 16) * 2 - 1, "B": torch.rand(4, 1, 16, 16) * 2 - 1}
    out = C.train_step(cfg, modules, opts, batch, torch.Generator().manual_seed(0), _Plain())
    after = list(modules["D"].parameters())
    assert all(p.abs().max().item() <= 0.005 for p in after)
    assert any(not torch.equal(p, p0.clamp(-0.005, 0.005)) for p, p0 in zip(after, before))  # a step, then the clip
    assert max(p.abs().max().item() for p in modules["G"].parameters()) > 0.005
    assert set(out) == {"loss_g_adv", "cycle", "identity", "loss_d_a", "loss_d_b"} and out["identity"] == 0


def _log(path, key):
    return [float(r[key]) for r in csv.DictReader(open(path / "log.csv"))]


def test_dualgan_trains_its_reconstruction_down_and_saves_no_pool(tmp_path, tiny_fashion):
    from trainers.core.checkpoint import load_model
    from trainers import fit

    out = tmp_path / "dual"
    fit("cyclegan", {"out": str(out), "data_dir": str(tiny_fashion), "image_size": "16", "batch_size": "8",
                     "device": "cpu", "log_every": "5", "sample_every": "1000", "ckpt_every": "1000",
                     "monitor_n": "0", "loss": "dualgan", "ngf": "8", "n_blocks": "1", "ndf": "8", "d_layers": "1",
                     "steps": "40", "lr": "1e-3", "lambda_cycle": "10"})
    cycle = _log(out, "cycle")
    assert sum(cycle[-2:]) / 2 < 0.7 * cycle[0], cycle  # the reconstruction term of eq. 3 falls
    assert json.loads((out / "config.json").read_text())["config"]["loss"] == "dualgan"
    loaded = load_model(out)
    assert loaded.cfg.loss == "dualgan" and loaded.cfg.pool_size == 0
    assert loaded.modules["D"].pool_A.shape[0] == 0  # no history pool kept in the weights
    x = torch.randint(0, 256, (2, 1, 16, 16), dtype=torch.uint8)
    assert C.translate(loaded.cfg, loaded.modules, x, "BtoA").shape == x.shape


def _gaps(modules, a, b):
    """D(real) - D(translation) per critic, measured with the networks alone (not with the loss functions)."""
    G, D = modules["G"], modules["D"]
    with torch.no_grad():
        return (D(a, "A").mean() - D(G(b, "BtoA"), "A").mean()).item(), \
            (D(b, "B").mean() - D(G(a, "AtoB"), "B").mean()).item()


def test_critic_steps_widen_the_gap_and_generator_steps_close_it(tiny_fashion):
    cfg = build_config(C.Config, {"loss": "dualgan", "data_dir": str(tiny_fashion), "image_size": "16", "ngf": "8",
                                  "n_blocks": "1", "ndf": "8", "d_layers": "1", "lr": "1e-3",
                                  "lambda_cycle": "0"})  # the generators' steps: the adversarial term alone
    train = C.dataset(cfg, "train")
    batch = {k: torch.stack([train[i][k] for i in range(16)]) for k in "AB"}
    torch.manual_seed(0)
    modules = C.build(cfg)
    opts = C.optimizers(cfg, modules)
    gen, acc = torch.Generator().manual_seed(0), _Plain()

    def steps(n, frozen):
        for group in opts[frozen].param_groups:
            group["lr"] = 0.0
        for _ in range(n):
            C.train_step(cfg, modules, opts, batch, gen, acc)
        for group in opts[frozen].param_groups:
            group["lr"] = cfg.lr

    C.train_step(cfg, modules, opts, batch, gen, acc)  # clipped critics to start from
    before = _gaps(modules, batch["A"], batch["B"])
    steps(10, frozen="G")  # critics only: each learns to score real images above the translations
    trained = _gaps(modules, batch["A"], batch["B"])
    assert all(t > b0 + 1e-3 for t, b0 in zip(trained, before)), (before, trained)
    steps(5, frozen="D")  # generators only: their translations climb the critics' scores
    after = _gaps(modules, batch["A"], batch["B"])
    assert all(x < t for x, t in zip(after, trained)), (trained, after)
