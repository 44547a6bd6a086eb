"""DDPM rows of the benchmark: training images/s against two peers at equal parameter count, reverse
steps/s and DDIM-50 latency against diffusers' schedulers driving the same network, and the tab's actions.

Peers (same parameter count, 1.11 M, same batch, same data tensor). Our step does more than the plain
diffusers loop (EMA update, gradient clipping, dropout 0.1, class-label dropout): the ratio includes that.
  - a plain diffusers loop: `UNet2DModel` (block_out_channels 32, 64, 64; one layer per block; attention
    at 8x8 — the same layout as ours) + `DDPMScheduler.add_noise` + MSE + Adam;
  - lucidrains' `denoising-diffusion-pytorch` (`Unet` + `GaussianDiffusion`, pred_noise), its `dim`
    chosen to match the parameter count as closely as its layout allows.
"""

from __future__ import annotations

import copy
import time

import torch


def _params(m: torch.nn.Module) -> float:
    return sum(p.numel() for p in m.parameters()) / 1e6


def _median_interleaved(fns: dict, repeats: int) -> dict:
    for fn in fns.values():  # warm-up
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: sorted(v)[len(v) // 2] for k, v in times.items()}


def diffusers_unet(channels: int = 1):
    """diffusers' UNet2DModel laid out as our default U-Net (widths 32, 64, 64; one block per level;
    attention at 8x8): the same parameter count, 1.11 M."""
    from diffusers import UNet2DModel

    return UNet2DModel(sample_size=32, in_channels=channels, out_channels=channels, block_out_channels=(32, 64, 64),
                       layers_per_block=1, down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
                       up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"), norm_num_groups=8,
                       attention_head_dim=16)


def bench_train(repeats: int, batch: int = 64) -> list[dict]:
    import torch.nn.functional as F
    from accelerate import Accelerator
    from diffusers import DDPMScheduler

    from trainers.ddpm import train as ddpm

    rows = []
    cfg = ddpm.Config()
    acc = Accelerator(cpu=True)
    modules = ddpm.build(cfg)
    opts = ddpm.optimizers(cfg, modules)
    modules["unet"], opts["unet"] = acc.prepare(modules["unet"], opts["unet"])
    x = torch.rand(batch, 1, 32, 32) * 2 - 1
    data = {"image": x, "label": torch.zeros(batch, dtype=torch.long)}
    gen = torch.Generator().manual_seed(0)

    def ours():
        ddpm.train_step(cfg, modules, opts, data, gen, acc)

    hf = diffusers_unet()
    hf_sched, hf_opt = DDPMScheduler(), torch.optim.Adam(hf.parameters(), lr=2e-4)

    def diffusers_loop():
        t = torch.randint(0, 1000, (batch,))
        eps = torch.randn_like(x)
        loss = F.mse_loss(hf(hf_sched.add_noise(x, eps, t), t).sample, eps)
        hf_opt.zero_grad()
        loss.backward()
        hf_opt.step()

    fns = {"ours": ours, "diffusers": diffusers_loop}
    params = {"ours": _params(modules["unet"]), "diffusers": _params(hf)}
    try:
        from denoising_diffusion_pytorch import GaussianDiffusion, Unet

        dim = min(range(16, 40, 2), key=lambda d: abs(_params(Unet(dim=d, dim_mults=(1, 2, 2), channels=1,
                                                                     flash_attn=False)) - params["ours"]))
        lucid = GaussianDiffusion(Unet(dim=dim, dim_mults=(1, 2, 2), channels=1, flash_attn=False), image_size=32,
                                  timesteps=1000, objective="pred_noise")
        lucid_opt = torch.optim.Adam(lucid.parameters(), lr=2e-4)
        x01 = (x + 1) / 2  # lucidrains' GaussianDiffusion takes [0, 1] images

        def lucid_loop():
            loss = lucid(x01)
            lucid_opt.zero_grad()
            loss.backward()
            lucid_opt.step()

        fns["denoising-diffusion-pytorch"] = lucid_loop
        params["denoising-diffusion-pytorch"] = _params(lucid.model)
    except ImportError:
        rows.append({"name": "ddpm.train vs denoising-diffusion-pytorch", "unit": "img/s", "ours": float("nan"),
                     "reference": float("nan"), "ratio": float("nan"),
                     "reference_is": "skipped: pip install -r requirements-bench.txt"})
    med = _median_interleaved(fns, repeats)
    for peer in [k for k in fns if k != "ours"]:
        a, b = batch / med["ours"], batch / med[peer]
        rows.append({"name": f"ddpm.train vs {peer}"[:38], "unit": "img/s", "ours": a, "reference": b, "ratio": a / b,
                     "reference_is": f"{peer} training loop, batch {batch}, "
                                     f"{params['ours']:.2f} M vs {params[peer]:.2f} M params (ratio >1: ours faster)"})
    return rows


def bench_sampling(repeats: int) -> list[dict]:
    from diffusers import DDIMScheduler, DDPMScheduler

    from trainers.ddpm import train as ddpm
    from trainers.ddpm.samplers import guided_eps

    cfg = ddpm.Config(n_classes=10, guidance_interval=1.0)  # every step guided: the costlier step, timed alone
    contiguous = {k: m.eval() for k, m in ddpm.build(cfg).items()}
    modules = {k: copy.deepcopy(m) for k, m in contiguous.items()}
    ddpm.for_inference(cfg, modules)  # as `load_model` hands them to the app and the CLI
    y = torch.tensor([7])
    x_T = torch.randn(1, 1, 32, 32)
    rows = []

    def first_steps(mods, sampler="ddpm", steps=1000, w=3.0, n=50):
        """The first n steps of our reverse chain."""
        gen = torch.Generator().manual_seed(0)
        for i, *_ in ddpm.reverse(cfg, mods, x_T, gen, y, sampler, steps, 0.0, w):
            if i + 1 == n:
                break

    med = _median_interleaved({"ours": lambda: first_steps(modules), "ref": lambda: first_steps(contiguous)}, repeats)
    rows.append({"name": "ddpm.reverse_step channels_last", "unit": "ms/step", "ours": med["ours"] / 50 * 1e3,
                 "reference": med["ref"] / 50 * 1e3, "ratio": med["ours"] / med["ref"],
                 "reference_is": "the same steps with the default (NCHW) layout (for_inference's gain)"})
    for label, sampler, steps, ref_sched, n_ref, w in [
        ("ddpm.reverse_step (1 image, guided)", "ddpm", 1000, DDPMScheduler(), 100, 3.0),
        ("ddpm.reverse_step (1 image, w = 1)", "ddpm", 1000, DDPMScheduler(), 100, 1.0),
        ("ddim.sample 50 steps (1 image, guided)", "ddim", 50, DDIMScheduler(), 50, 3.0),
    ]:
        eps_fn = guided_eps(modules["unet_ema"], y, cfg.n_classes, w)  # w = 1: one network call per step
        ref_sched.set_timesteps(steps)
        timesteps = ref_sched.timesteps[:n_ref]

        def ours():
            first_steps(modules, sampler, steps, w, n_ref)

        def reference():
            gen = torch.Generator().manual_seed(0)
            x = x_T
            with torch.no_grad():
                for t in timesteps:
                    eps = eps_fn(x, torch.full((1,), int(t), dtype=torch.long))
                    x = ref_sched.step(eps, t, x, generator=gen).prev_sample

        med = _median_interleaved({"ours": ours, "ref": reference}, repeats)
        a, b = med["ours"] / n_ref * 1e3, med["ref"] / n_ref * 1e3
        if sampler == "ddpm":
            rows.append({"name": label, "unit": "ms/step", "ours": a, "reference": b, "ratio": a / b,
                         "reference_is": f"diffusers DDPMScheduler loop, same network ({1e3 / a:.0f} steps/s ours)"})
        else:
            rows.append({"name": label, "unit": "ms", "ours": a * n_ref, "reference": b * n_ref, "ratio": a / b,
                         "reference_is": "diffusers DDIMScheduler loop, same network"})
    return rows


def bench_pipelines(repeats: int) -> list[dict]:
    """Our unconditional `sample` (DDIM 50, DDPM 100 of 1000) vs diffusers' own DDIMPipeline / DDPMPipeline
    running a UNet2DModel of the same layout and size, one image each."""
    from diffusers import DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler

    from trainers.ddpm import train as ddpm

    cfg = ddpm.Config()
    modules = {k: m.eval() for k, m in ddpm.build(cfg).items()}
    ddpm.for_inference(cfg, modules)
    unet = diffusers_unet().eval().to(memory_format=torch.channels_last)  # the same layout for the peer
    rows = []
    for label, sampler, steps, pipe in [
        ("ddim.sample 50 vs DDIMPipeline", "ddim", 50,
         DDIMPipeline(unet=unet, scheduler=DDIMScheduler(timestep_spacing="trailing"))),
        ("ddpm.sample 100 steps vs DDPMPipeline", "ddpm", 100, DDPMPipeline(unet=unet, scheduler=DDPMScheduler())),
    ]:
        pipe.set_progress_bar_config(disable=True)

        def ours():
            ddpm.sample(cfg, modules, 1, torch.Generator().manual_seed(0), sampler=sampler, steps=steps)

        def reference():
            pipe(batch_size=1, num_inference_steps=steps, generator=torch.Generator().manual_seed(0), output_type="np")

        med = _median_interleaved({"ours": ours, "ref": reference}, repeats)
        rows.append({"name": label, "unit": "ms", "ours": med["ours"] * 1e3, "reference": med["ref"] * 1e3,
                     "ratio": med["ours"] / med["ref"],
                     "reference_is": f"diffusers pipeline, UNet2DModel {_params(unet):.2f} M vs ours "
                                     f"{_params(modules['unet_ema']):.2f} M, 1 image"})
    return rows


def bench_tab(repeats: int) -> list[dict]:
    """The diffusion tab's actions as a click runs them vs the bare work inside them."""
    from PIL import Image

    from playground import diffusion as tab
    from playground.classifier import EXAMPLES
    from playground.models import ModelStore
    from trainers.ddpm.diffusion import q_sample

    rows = []
    image = Image.open(sorted(EXAMPLES.glob("*.png"))[7])
    sched = tab._schedule("linear")
    x0 = torch.rand(8, 1, 32, 32)
    med = _median_interleaved({"ours": lambda: tab.forward_process(image, 250, "linear"),
                               "ref": lambda: q_sample(sched, x0, torch.full((8,), 250), torch.randn_like(x0))},
                              repeats)
    rows.append({"name": "ddpm.forward_process (slider move)", "unit": "ms", "ours": med["ours"] * 1e3,
                 "reference": med["ref"] * 1e3, "ratio": med["ours"] / med["ref"], "reference_is": "bare q_sample of 8 images"})
    store = ModelStore()
    names = store.names("ddpm")
    if not names:
        return rows
    model = store.get(names[0])
    net = model.modules["unet_ema"]
    y = torch.tensor([7]) if model.cfg.n_classes else None
    from trainers.ddpm.samplers import guided_eps, timesteps
    from trainers.ddpm.train import guidance_t_max

    eps_fn = guided_eps(net, y, model.cfg.n_classes, 3.0, guidance_t_max(model.cfg))  # as the tab guides
    x = torch.randn(1, model.cfg.channels, model.cfg.image_size, model.cfg.image_size)

    def bare():
        with torch.no_grad():
            for t in timesteps(1000, 50):  # the DDIM steps the tab runs
                eps_fn(x, torch.full((1,), t))

    med = _median_interleaved({"ours": lambda: list(tab.denoise(store, names[0], 0, 1, "ddim", 50, 0.0,
                                                                 "Sneaker" if y is not None else tab.ANY_CLASS, 3.0)),
                               "ref": bare}, repeats)
    rows.append({"name": "ddpm.denoise (DDIM 50, stream, GIF+MP4)", "unit": "ms", "ours": med["ours"] * 1e3,
                 "reference": med["ref"] * 1e3, "ratio": med["ours"] / med["ref"],
                 "reference_is": f"50 bare network calls, guided as the tab guides ({names[0]})"})
    return rows
