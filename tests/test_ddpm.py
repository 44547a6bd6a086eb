"""DDPM: schedule math against float64 recursions, parity with diffusers' schedulers, training, sampling."""

from __future__ import annotations

import math

import pytest
import torch

from trainers.ddpm import diffusion as D
from trainers.ddpm import samplers as S
from trainers.ddpm import train as T


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_closed_form_matches_the_step_by_step_forward_process(kind):
    """x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps, iterated, has mean sqrt(alpha_bar_t) x0 and
    variance 1 - alpha_bar_t (Ho et al. 2020, eq. 4): check the recursion in float64 against the buffers."""
    sched = D.Schedule(kind, 1000)
    betas = (D.linear_betas() if kind == "linear" else D.cosine_betas()).tolist()
    mean, var = 1.0, 0.0
    for t in range(1000):
        mean, var = math.sqrt(1 - betas[t]) * mean, (1 - betas[t]) * var + betas[t]
        if t in (0, 9, 499, 998):
            assert sched.sqrt_alpha_bar[t].item() == pytest.approx(mean, rel=1e-5)
            assert sched.sqrt_one_minus_alpha_bar[t].item() ** 2 == pytest.approx(var, rel=1e-5)
    if kind == "linear":
        assert betas[0] == pytest.approx(1e-4) and betas[-1] == pytest.approx(0.02)
        assert sched.alpha_bar[-1] < 1e-4  # x_T is almost pure noise
    else:
        u = 500 / 1000
        expected = math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2 / math.cos(0.008 / 1.008 * math.pi / 2) ** 2
        assert sched.alpha_bar[499].item() == pytest.approx(expected, rel=1e-4)
    assert torch.all(sched.snr()[1:] < sched.snr()[:-1])  # signal-to-noise falls monotonically


def test_q_sample_is_the_gaussian_of_the_closed_form():
    sched = D.Schedule("linear", 1000)
    x0 = torch.full((20000, 1, 1, 1), 0.7)
    t = torch.full((20000,), 300)
    xt = D.q_sample(sched, x0, t, torch.randn(x0.shape, generator=torch.Generator().manual_seed(0)))
    a = sched.alpha_bar[300].item()
    assert xt.mean().item() == pytest.approx(math.sqrt(a) * 0.7, abs=0.02)
    assert xt.var().item() == pytest.approx(1 - a, rel=0.03)
    eps = torch.randn(4, 1, 8, 8)
    t4 = torch.tensor([0, 10, 500, 999])
    x4 = D.q_sample(sched, torch.rand(4, 1, 8, 8), t4, eps)
    a4 = sched.alpha_bar[t4].view(-1, 1, 1, 1)
    assert torch.allclose(D.eps_from_x0(x4, D.predict_x0(sched, x4, t4, eps), a4), eps, atol=1e-4)


# ---- parity with diffusers: same betas, same model output, same noise -> same result to 1e-5 ----
# The reverse steps are compared in float64 on both sides: diffusers writes the DDPM mean in its
# posterior form (coefficients of x0_hat and x_t with 1 - alpha_bar in the denominators), which in
# float32 loses ~1e-4 to cancellation near t = 0; Ho et al.'s eps form (eq. 11) loses less. In float64
# both are exact.

def _diffusers_schedule(kind):
    return {"beta_schedule": "linear" if kind == "linear" else "squaredcos_cap_v2", "num_train_timesteps": 1000,
            "timestep_spacing": "trailing"}


def _float64(ref):
    ref.betas = ref.betas.double()
    ref.alphas = 1.0 - ref.betas
    ref.alphas_cumprod = torch.cumprod(ref.alphas, 0)
    ref.one = torch.tensor(1.0, dtype=torch.float64)
    if hasattr(ref, "final_alpha_cumprod"):
        ref.final_alpha_cumprod = torch.as_tensor(ref.final_alpha_cumprod, dtype=torch.float64)
    return ref


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_forward_process_matches_diffusers(kind):
    from diffusers import DDPMScheduler

    ref = DDPMScheduler(**_diffusers_schedule(kind))
    ours = D.Schedule(kind)
    assert torch.allclose(ours.betas, ref.betas, atol=1e-7)
    assert torch.allclose(ours.alpha_bar, ref.alphas_cumprod, atol=1e-6)
    g = torch.Generator().manual_seed(1)
    x0, eps = torch.rand(6, 1, 8, 8, generator=g) * 2 - 1, torch.randn(6, 1, 8, 8, generator=g)
    t = torch.tensor([0, 1, 250, 500, 900, 999])
    assert torch.allclose(D.q_sample(ours, x0, t, eps), ref.add_noise(x0, eps, t), atol=1e-5)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("variance,diffusers_variance", [("beta", "fixed_large"), ("beta_tilde", "fixed_small")])
@pytest.mark.parametrize("clip", [False, True])
@pytest.mark.parametrize("steps", [1000, 50])
def test_ddpm_step_matches_diffusers(kind, variance, diffusers_variance, clip, steps):
    from diffusers import DDPMScheduler

    ref = _float64(DDPMScheduler(**_diffusers_schedule(kind), variance_type=diffusers_variance, clip_sample=clip))
    ref.set_timesteps(steps)
    ours = D.Schedule(kind, betas=ref.betas, dtype=torch.float64)
    assert [int(t) for t in ref.timesteps] == S.timesteps(1000, steps)
    g = torch.Generator().manual_seed(2)
    for t in [int(ref.timesteps[i]) for i in (0, 1, len(ref.timesteps) // 2, -2, -1)]:
        xt, eps = (torch.randn(3, 1, 8, 8, generator=g, dtype=torch.float64) for _ in range(2))
        expected = ref.step(eps, t, xt, generator=torch.Generator().manual_seed(t))
        noise = torch.randn(xt.shape, generator=torch.Generator().manual_seed(t), dtype=torch.float64)
        t_prev = S.previous(1000, steps, t)
        x_prev, x0 = S.ddpm_step(ours, eps, t, t_prev, xt, noise, variance, clip)
        assert torch.allclose(x0, expected.pred_original_sample, atol=1e-5, rtol=1e-5)
        want = expected.prev_sample
        if t_prev < 0 and t > 0 and variance == "beta":
            # the step to x0 of a strided chain: diffusers adds sigma z (fixed_large: sigma^2 = 1 - alpha_bar_t, as
            # alpha_bar_{-1} = 1), which left x0 noisy; Ho et al.'s Algorithm 2 adds none on the step to x0
            want = want - (1 - ref.alphas_cumprod[t]).sqrt() * noise
        assert torch.allclose(x_prev, want, atol=1e-5, rtol=1e-5), t


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("clip", [False, True])
def test_ddim_step_matches_diffusers(kind, eta, clip):
    from diffusers import DDIMScheduler

    ref = _float64(DDIMScheduler(**_diffusers_schedule(kind), clip_sample=clip))
    ref.set_timesteps(50)
    ours = D.Schedule(kind, betas=ref.betas, dtype=torch.float64)
    assert [int(t) for t in ref.timesteps] == S.timesteps(1000, 50)
    g = torch.Generator().manual_seed(3)
    for t in [int(ref.timesteps[i]) for i in (0, 1, 25, -2, -1)]:
        xt, eps = (torch.randn(3, 1, 8, 8, generator=g, dtype=torch.float64) for _ in range(2))
        # clipping re-derives eps from the clipped x0_hat, as diffusers' use_clipped_model_output (GLIDE)
        expected = ref.step(eps, t, xt, eta=eta, generator=torch.Generator().manual_seed(t),
                            use_clipped_model_output=clip)
        noise = torch.randn(xt.shape, generator=torch.Generator().manual_seed(t), dtype=torch.float64)
        x_prev, x0 = S.ddim_step(ours, eps, t, S.previous(1000, 50, t), xt, eta, noise, clip)
        assert torch.allclose(x0, expected.pred_original_sample, atol=1e-5, rtol=1e-5)
        assert torch.allclose(x_prev, expected.prev_sample, atol=1e-5, rtol=1e-5), t


def test_seed_reverse_step_is_the_posterior_mean_when_nothing_is_clipped():
    """mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t) equals Ho et al.'s eq. 7 mean."""
    sched = D.Schedule("linear")
    xt, eps = torch.randn(2, 1, 4, 4), 0.1 * torch.randn(2, 1, 4, 4)
    for t in (1, 400, 999):
        a = sched.alpha_bar[t].double()
        a_prev = sched.alpha_bar[t - 1].double()
        beta = 1 - a / a_prev
        x0 = (xt.double() - (1 - a).sqrt() * eps.double()) / a.sqrt()
        mu_post = a_prev.sqrt() * beta / (1 - a) * x0 + (1 - beta).sqrt() * (1 - a_prev) / (1 - a) * xt.double()
        mu, _ = S.ddpm_step(sched, eps, t, t - 1, xt, torch.zeros_like(xt), "beta", clip_x0=False)
        assert torch.allclose(mu.double(), mu_post, atol=1e-5)


def test_guidance_combines_conditional_and_unconditional_predictions():
    class Toy(torch.nn.Module):
        def forward(self, x, t, y):
            return x * 0 + (y.float().view(-1, 1, 1, 1) + 1)  # eps = y + 1; the null label 10 gives 11

    x, t, y = torch.zeros(2, 1, 2, 2), torch.zeros(2, dtype=torch.long), torch.tensor([0, 3])
    out = S.guided_eps(Toy(), y, 10, 3.0)(x, t)
    # eps_u + w (eps_c - eps_u) = 11 + 3 (y + 1 - 11)
    assert torch.allclose(out[:, 0, 0, 0], torch.tensor([11 + 3 * (1 - 11.0), 11 + 3 * (4 - 11.0)]))
    assert torch.equal(S.guided_eps(Toy(), y, 10, 1.0)(x, t), Toy()(x, t, y))


def test_guidance_in_an_interval_guides_only_below_t_max():
    """t < t_max: eps_u + w (eps_c - eps_u); t >= t_max: the conditional eps alone, in one network call."""
    calls = []

    class Toy(torch.nn.Module):
        def forward(self, x, t, y):
            calls.append(len(x))
            return x * 0 + (y.float().view(-1, 1, 1, 1) + 1)

    x, y = torch.zeros(3, 1, 2, 2), torch.tensor([0, 3, 5])
    eps = S.guided_eps(Toy(), y, 10, 3.0, t_max=300)
    high = eps(x, torch.full((3,), 300))
    assert torch.equal(high, Toy()(x, None, y)) and calls[0] == 3  # one call on the batch, not two
    low = eps(x, torch.full((3,), 299))
    assert torch.allclose(low[:, 0, 0, 0], 11 + 3 * (y.float() + 1 - 11)) and calls[2] == 6
    mixed = eps(x, torch.tensor([0, 999, 299]))  # per-sample t: guided, plain, guided
    assert torch.equal(mixed, torch.stack([low[0], high[1], low[2]]))


def test_guidance_interval_comes_from_the_config_and_is_checked(tmp_path):
    from trainers.core.errors import UserError

    with pytest.raises(UserError, match="guidance_interval must be in"):
        T.Config(n_classes=2, guidance_interval=0.0).validate()
    assert T.Config().guidance_interval == 1.0  # a config without the key guides every step, as it always did
    cfg = T.Config(image_size=8, base=8, mults=(1, 2), attn_res=(4,), n_classes=2, T=20, guidance=4.0,
                   guidance_interval=0.3)
    modules = T.build(cfg)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # a fresh U-Net's zero output layer would make every guidance setting equal
        for p in modules["unet_ema"].parameters():
            p.copy_(0.2 * torch.randn(p.shape, generator=g))
    x_T = torch.randn(2, 1, 8, 8, generator=g)
    y = torch.tensor([0, 1])

    def run(**kw):
        return [x for _, _, x, _ in T.reverse(cfg, modules, x_T, torch.Generator(), y, "ddim", 4, **kw)][-1]
    everywhere, default, unguided = run(guidance_interval=1.0), run(), run(guidance=1.0)
    assert not torch.allclose(everywhere, default)  # the config's 0.3 leaves the high-noise steps unguided
    assert not torch.allclose(default, unguided)  # and guides the rest
    assert torch.equal(default, run(guidance_interval=0.3))
    with pytest.raises(UserError, match="guidance_interval must be in"):
        run(guidance_interval=1.5)


def test_trailing_timesteps_start_from_pure_noise_for_any_step_count():
    for steps in (1, 3, 10, 50, 501, 600, 999, 1000):
        ts = S.timesteps(1000, steps)
        assert ts[0] == 999 and len(ts) == len(set(ts)) == steps and ts == sorted(ts, reverse=True)
        assert S.previous(1000, steps, ts[-1]) == -1
    assert S.timesteps(1000, 1000) == list(range(999, -1, -1))  # Ho et al.'s full chain


def test_a_strided_ddpm_chain_ends_on_its_clean_prediction():
    """The step to x0 adds no noise at any step count: DDPM at 1 step returned pure noise as "x_0, the result"
    (and at 10 steps a garment under grain) beside a clean x0_hat."""
    sched = D.Schedule("linear")
    for steps in (1, 10, 1000):
        gen = torch.Generator().manual_seed(0)
        *_, (i, t, x, x0) = S.sample_loop(lambda x, t: 0.5 * x, sched, torch.randn(2, 1, 8, 8, generator=gen), gen,
                                          "ddpm", steps)
        assert i == steps - 1 and torch.allclose(x, x0, atol=1e-6), steps


def test_bad_sampler_settings_are_refused():
    from trainers.core.errors import UserError

    with pytest.raises(UserError, match="steps must be in"):
        S.timesteps(1000, 0)
    with pytest.raises(UserError, match="steps must be in"):
        S.timesteps(1000, 10**9)
    with pytest.raises(UserError, match="sampler must be one of"):
        next(S.sample_loop(lambda x, t: x, D.Schedule(), torch.zeros(1, 1, 4, 4), torch.Generator(), "euler"))
    with pytest.raises(UserError, match="schedule must be one of"):
        D.Schedule("sigmoid")


# ---- the trainer ----

def test_ddim_converges_as_steps_grow_at_every_step_count_the_app_offers(tiny_ddpm_t1000):
    """DDIM is a discretisation of one ODE: from the same x_T, 50, 200 and 1000 steps must land on nearly the
    same image, closer the more steps. Clipping x0_hat without re-deriving eps broke this at 1000 steps
    (the shipped model drifted by 0.44 mean |pixel| from its 50-step image, where 200 steps drifted 0.02)."""
    from trainers.core.checkpoint import load_model

    loaded = load_model(tiny_ddpm_t1000)
    cfg = loaded.cfg
    x_T = T.initial_noise(cfg, 8, torch.Generator().manual_seed(0))
    y = torch.arange(8)

    def run(steps):
        net = loaded.modules["unet_ema"].eval()
        eps_fn = S.guided_eps(net, y, cfg.n_classes, 1.0)
        with torch.no_grad():
            *_, (_, _, x, _) = S.sample_loop(eps_fn, T.schedule_for(cfg, "cpu"), x_T.clone(), torch.Generator(),
                                             "ddim", steps)
        return x

    x50, x200, x1000 = run(50), run(200), run(1000)
    d_50_200, d_200_1000 = (x200 - x50).abs().mean().item(), (x1000 - x200).abs().mean().item()
    d_50_1000 = (x1000 - x50).abs().mean().item()
    assert d_50_1000 < 0.05 and d_200_1000 <= d_50_200 + 1e-3, (d_50_200, d_200_1000, d_50_1000)


def test_training_loss_falls(tiny_ddpm):
    import csv

    rows = list(csv.DictReader(open(tiny_ddpm / "log.csv")))
    losses = [float(r["loss"]) for r in rows]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:2]) / 2, losses


def test_sampling_is_deterministic_and_follows_the_label(tiny_ddpm):
    from trainers.core.checkpoint import load_model

    loaded = load_model(tiny_ddpm)
    a = T.sample(loaded.cfg, loaded.modules, 4, torch.Generator().manual_seed(5), label=3)
    b = T.sample(loaded.cfg, loaded.modules, 4, torch.Generator().manual_seed(5), label=3)
    c = T.sample(loaded.cfg, loaded.modules, 4, torch.Generator().manual_seed(6), label=3)
    assert a["images"].shape == (4, 1, 16, 16) and a["images"].dtype == torch.uint8
    assert torch.equal(a["images"], b["images"]) and not torch.equal(a["images"], c["images"])
    assert a["labels"].tolist() == [3, 3, 3, 3]
    ddpm = T.sample(loaded.cfg, loaded.modules, 2, torch.Generator().manual_seed(5), sampler="ddpm", steps=100)
    assert ddpm["images"].shape == (2, 1, 16, 16)
    steps = list(T.reverse(loaded.cfg, loaded.modules, T.initial_noise(loaded.cfg, 1, torch.Generator()),
                           torch.Generator(), torch.tensor([1]), "ddim", 5))
    assert [t for _, t, _, _ in steps] == [99, 79, 59, 39, 19]  # trailing spacing: starts from pure noise


def test_cli_samples_a_class(tiny_ddpm, tmp_path):
    import numpy as np

    from trainers.__main__ import main

    out = tmp_path / "s.npz"
    assert main(["sample", str(tiny_ddpm), "--n", "3", "--seed", "1", "--label", "2", "--steps", "4",
                 "--guidance", "2", "--out", str(out)]) == 0
    arrays = np.load(out)
    assert arrays["images"].shape == (3, 16, 16) and arrays["labels"].tolist() == [2, 2, 2]
    for bad in (["--steps", "0"], ["--steps", "many"], ["--guidance", "nan"], ["--sampler", "euler"]):
        assert main(["sample", str(tiny_ddpm), "--n", "1", *bad, "--out", str(out)]) == 2, bad


def test_evaluate_takes_and_records_sampling_options(tiny_ddpm, tmp_path):
    import json
    import shutil

    from trainers.__main__ import main

    ckpt = tmp_path / "ddpm"
    shutil.copytree(tiny_ddpm, ckpt)
    assert main(["evaluate", str(ckpt), "--n", "20", "--steps", "3", "--guidance", "1.5"]) == 0
    card = json.loads((ckpt / "card.json").read_text())
    assert card["evaluate_command"].endswith("--n 20 --seed 0 --steps 3 --guidance 1.5")
    assert card["metrics"]["steps"] == 3 and card["metrics"]["guidance"] == 1.5 and "fid" in card["metrics"]
    assert main(["evaluate", str(ckpt), "--n", "20", "--colour", "red"]) == 2
    # another sampling mode goes beside the card's metrics, with its own command (docs/metrics.md lists both)
    assert main(["evaluate", str(ckpt), "--n", "20", "--steps", "2", "--record_as", "two_steps"]) == 0
    card = json.loads((ckpt / "card.json").read_text())
    assert card["metrics"]["steps"] == 3 and card["metrics_two_steps"]["steps"] == 2
    assert card["evaluate_command_two_steps"].endswith("--steps 2 --record_as two_steps")
    assert main(["evaluate", str(ckpt), "--n", "20", "--record_as", "Bad Name"]) == 2
