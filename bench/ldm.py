"""Latent diffusion rows: the text-to-image tab's generation (4 images, 30 DDIM steps, guidance 3) against
diffusers' own `StableDiffusionPipeline.__call__` on the same shipped pipeline, and training images/s of our
`train_step` against a plain diffusers loop (`DDPMScheduler.add_noise` + MSE + AdamW) on the same networks
(ours keeps E(x)'s posterior per image and tau(y) per caption, `train.FrozenOutputs`; the plain loop recomputes them).
Both need the shipped `latent_diffusion` checkpoint; without one the rows are skipped."""

from __future__ import annotations

import torch

from .ddpm import _median_interleaved, _params


def _shipped():
    from playground.models import ModelStore

    store = ModelStore()
    names = store.names("latent_diffusion")
    return (store, names[0]) if names else (store, None)


def bench_generate(repeats: int) -> list[dict]:
    from playground import text2image as tab
    from trainers.latent_diffusion.sampling import make_pipeline

    store, name = _shipped()
    if name is None:
        return []
    model = store.get(name)
    pipe = make_pipeline(model.cfg, model.modules, "ddim")

    def ours():
        list(tab.generate(store, name, "", "a small red sneaker", "", 3.0, 30, "ddim", 0, 4))

    def reference():
        pipe(["a small red sneaker"] * 4, num_inference_steps=30, guidance_scale=3.0, output_type="np",
             generator=torch.Generator().manual_seed(0))

    med = _median_interleaved({"ours": ours, "ref": reference}, repeats)
    return [{"name": "ldm.generate 4 img, 30 steps, w=3", "unit": "ms", "ours": med["ours"] * 1e3,
             "reference": med["ref"] * 1e3, "ratio": med["ours"] / med["ref"],
             "reference_is": f"StableDiffusionPipeline.__call__, same pipeline ({name}); ours streams and scores"}]


def bench_train(repeats: int, batch: int = 64) -> list[dict]:
    import torch.nn.functional as F
    from accelerate import Accelerator
    from diffusers import DDPMScheduler

    from trainers.latent_diffusion import train as ldm

    store, name = _shipped()
    if name is None:
        return []
    cfg = store.get(name).cfg
    acc = Accelerator(cpu=True)
    modules = ldm.build(cfg)
    opts = ldm.optimizers(cfg, modules)
    modules["unet"], opts["unet"] = acc.prepare(modules["unet"], opts["unet"])
    gen = torch.Generator().manual_seed(0)
    data = {"image": torch.rand(batch, 3, 32, 32) * 2 - 1, "caption": ["a small red sneaker"] * batch,
            "index": torch.arange(batch)}

    ref = ldm.build(cfg)
    unet, vae, text = ref["unet"], ref["vae"], ref["text_encoder"]
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=1e-2)
    sched = DDPMScheduler.from_config(ldm.scheduler_config(cfg))
    tok = text.pipeline_tokenizer

    def ours():
        ldm.train_step(cfg, modules, opts, data, gen, acc)

    def ours_cold():  # as in the first epoch: every image and caption new to the cache
        ldm._frozen.pop(modules["text_encoder"], None)
        ldm.train_step(cfg, modules, opts, data, gen, acc)

    def plain():
        with torch.no_grad():
            z0 = vae.encode(data["image"]).latent_dist.sample() * vae.config.scaling_factor
            cond = text(tok(data["caption"], padding="max_length", max_length=tok.model_max_length,
                            return_tensors="pt").input_ids)[0]
        t = torch.randint(0, 1000, (batch,))
        eps = torch.randn_like(z0)
        loss = F.mse_loss(unet(sched.add_noise(z0, eps, t), t, encoder_hidden_states=cond).sample, eps)
        opt.zero_grad()
        loss.backward()
        opt.step()

    med = _median_interleaved({"ours": ours, "cold": ours_cold, "ref": plain}, repeats)
    what = f"plain diffusers loop, same U-Net ({_params(unet):.2f} M) and frozen parts, batch {batch}"
    return [{"name": "ldm.train_step", "unit": "img/s", "ours": batch / med["ours"], "reference": batch / med["ref"],
             "ratio": med["ref"] / med["ours"],
             "reference_is": what + "; ours reuses the frozen parts' outputs (2nd epoch on)"},
            {"name": "ldm.train_step (1st epoch)", "unit": "img/s", "ours": batch / med["cold"],
             "reference": batch / med["ref"], "ratio": med["ref"] / med["cold"],
             "reference_is": what + "; ours filling its cache (ratio >1: ours faster)"}]
