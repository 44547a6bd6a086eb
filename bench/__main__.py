"""`python -m bench [--quick] [--device cpu|cuda]`: print one table, write bench/results/bench.json.

Each row times our code and a reference doing the same work in the same process, interleaved
(A, B, A, B, ...) so that load from elsewhere on a shared machine hits both alike, and reports
medians and their ratio (ours / reference; below 1 is faster than the reference).

Rows:
  gan.train_step   images/s of the DCGAN family's `train_step` through accelerate (with EMA),
                   vs a plain eager PyTorch loop of the same networks and losses (no EMA)
  gan.sample       `trainers.gan.train.sample` of 64 images vs the bare generator forward pass
  classifier.fid   FID/KID of 2 x 2000 images through torchmetrics vs the bare feature forward pass
  gan.* / vae.*    each GAN-tab / VAE-tab action as a click runs it (shipped checkpoints) vs the bare decoder forward
  translation.*    the translation tab's Pix2Pix / CycleGAN action vs the bare generator forwards (goal < 0.2 s)
  lab.play         frames/s of the 2-D training lab's stream (goal: >= 5) vs what its frame budget allows
  ddpm.*           training images/s vs diffusers and denoising-diffusion-pytorch at equal parameter count;
                   reverse steps and DDIM-50 vs diffusers' schedulers with the same network; tab actions
                   (see bench/ddpm.py; the peers come from requirements-bench.txt)
  ldm.*            text-to-image generation (4 images, 30 steps, guidance) vs StableDiffusionPipeline.__call__;
                   training images/s vs a plain diffusers loop on the same networks (bench/ldm.py)
  browser.*        each tab's main action in headless Chromium, from the input event to the new image painted,
                   vs the same action's round trip over HTTP as the page makes it (bench/browser.py)
  drag: ...        a GAN direction slider and the forward-process t slider, each dragged for 1 s: images
                   painted per second, and the final position's image's delay after the last move (bench/browser.py)
  page.*           Gradio's own page on a bare Blocks: a click's input-to-paint time with 60 / 250 components
                   written by an earlier event vs none, and the 250 with the playground's edits to the page
                   (bench/page.py)
  app.cold_start   `python app.py` until the page answers vs a fresh interpreter's `import torch, gradio`
                   (bench/startup.py; goal: <= 10 s on 2 cores)

On a GPU: `python -m bench --device cuda` (the same rows, on that device).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent / "results"  # the last run (ignored by git)
RECORDS = Path(__file__).resolve().parent / "records"  # each group's latest run (tracked): docs/benchmarks.md's tables


def _time(fn, sync) -> float:
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


def interleaved(ours, reference, repeats: int, sync) -> tuple[float, float]:
    ours(), reference()  # warm-up
    a, b = [], []
    for _ in range(repeats):
        a.append(_time(ours, sync))
        b.append(_time(reference, sync))
    return statistics.median(a), statistics.median(b)


def bench_gan_train(device: str, repeats: int, steps: int) -> dict:
    import torch.nn.functional as F
    from accelerate import Accelerator

    from trainers.gan import train as gan

    cfg = gan.Config()
    acc = Accelerator(cpu=device == "cpu")
    modules = gan.build(cfg)
    opts = gan.optimizers(cfg, modules)
    for m in modules.values():
        m.to(acc.device)
    modules["G"], modules["D"], opts["G"], opts["D"] = acc.prepare(modules["G"], modules["D"], opts["G"], opts["D"])
    gen = torch.Generator(acc.device).manual_seed(0)
    x = torch.rand(64, 1, 32, 32, device=acc.device) * 2 - 1
    batch = {"image": x, "label": torch.zeros(64, dtype=torch.long)}

    ref = gan.build(cfg)
    G, D = ref["G"].to(acc.device), ref["D"].to(acc.device)
    og = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    xr = x.contiguous(memory_format=torch.channels_last)

    def ours():
        for _ in range(steps):
            gan.train_step(cfg, modules, opts, batch, gen, acc)

    def reference():
        for _ in range(steps):
            z = torch.randn(64, cfg.z_dim, device=x.device)
            with torch.no_grad():
                fake = G(z)
            loss_d = F.softplus(-D(xr)).mean() + F.softplus(D(fake)).mean()
            od.zero_grad()
            loss_d.backward()
            od.step()
            loss_g = F.softplus(-D(G(torch.randn(64, cfg.z_dim, device=x.device)))).mean()
            og.zero_grad()
            loss_g.backward()
            og.step()

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    a, b = interleaved(ours, reference, repeats, sync)
    n = 64 * steps
    return {"name": "gan.train_step", "unit": "images/s", "ours": n / a, "reference": n / b,
            "ratio": (n / a) / (n / b), "reference_is": "plain eager PyTorch loop, same networks"}


def bench_vae_train(repeats: int, steps: int) -> dict:
    """The VAE family's train_step through accelerate vs a plain eager loop of the same network and loss."""
    from accelerate import Accelerator

    from trainers.vae import train as vae
    from trainers.vae.losses import gaussian_recon, kl_normal_std_normal

    cfg = vae.Config(latent_dim=16)
    acc = Accelerator(cpu=True)
    modules = vae.build(cfg)
    opts = vae.optimizers(cfg, modules)
    modules["ae"], opts["ae"] = acc.prepare(modules["ae"], opts["ae"])
    x = torch.rand(128, 1, 32, 32) * 2 - 1
    batch, gen = {"image": x, "label": torch.zeros(128, dtype=torch.long)}, torch.Generator().manual_seed(0)
    ref = vae.build(cfg)["ae"]
    opt = torch.optim.Adam(ref.parameters(), lr=1e-3)

    def ours():
        for _ in range(steps):
            vae.train_step(cfg, modules, opts, batch, gen, acc)

    def reference():
        for _ in range(steps):
            logits, mu, logvar = ref(x, torch.randn(128, cfg.latent_dim))
            loss = (kl_normal_std_normal(mu, logvar) + gaussian_recon((x + 1) / 2, torch.sigmoid(logits), cfg.c)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    a, b = interleaved(ours, reference, repeats, lambda: None)
    n = 128 * steps
    return {"name": "vae.train_step (images/s)", "unit": "img/s", "ours": n / a, "reference": n / b, "ratio": b / a,
            "reference_is": "plain eager loop, same conv VAE and loss (ratio >1: ours faster)"}


def bench_gan_sample(device: str, repeats: int) -> dict:
    from trainers.gan import train as gan

    cfg = gan.Config()
    modules = {k: m.to(device).eval() for k, m in gan.build(cfg).items()}
    G = modules["G_ema"]
    z = torch.randn(64, cfg.z_dim, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def ours():
        gan.sample(cfg, modules, 64, torch.Generator(device).manual_seed(0))

    def reference():
        with torch.no_grad():
            G(z)

    a, b = interleaved(ours, reference, repeats, sync)
    return {"name": "gan.sample (64 images)", "unit": "ms", "ours": a * 1e3, "reference": b * 1e3,
            "ratio": a / b, "reference_is": "bare generator forward"}


def bench_fid(repeats: int) -> dict:
    from trainers.classifier.models import SmallCNN
    from trainers.core.metrics import classifier_inputs, fid_kid

    net = SmallCNN().eval()
    real = torch.randint(0, 256, (2000, 1, 32, 32), dtype=torch.uint8)
    fake = torch.randint(0, 256, (2000, 1, 32, 32), dtype=torch.uint8)

    def ours():
        fid_kid(real, fake, net)

    def reference():
        with torch.no_grad():
            net.features(classifier_inputs(real))
            net.features(classifier_inputs(fake))

    a, b = interleaved(ours, reference, repeats, lambda: None)
    return {"name": "metrics.fid_kid (2x2000)", "unit": "ms", "ours": a * 1e3, "reference": b * 1e3,
            "ratio": a / b, "reference_is": "bare feature forward of the same images"}


def bench_vae_tab(repeats: int) -> list[dict]:
    """Each VAE-tab action (the handler a click runs) vs the bare decoder forward it contains."""
    from playground import vae as tab
    from playground.models import ModelStore

    store = ModelStore()
    ae, vae2d = tab.names(store, variational=False, denoising=False), tab.names(store, latent_dim=2)
    vaes = [n for n in tab.names(store, variational=True) if n not in vae2d]
    daes = tab.names(store, denoising=True)
    if not (ae and vaes and vae2d and daes):
        return [{"name": "vae tab", "unit": "ms", "ours": float("nan"), "reference": float("nan"),
                 "ratio": float("nan"), "reference_is": "skipped: the VAE checkpoints are not in checkpoints/"}]
    a, b, c = tab.gallery_image(0), tab.gallery_image(1), tab.gallery_image(2)
    model = store.get(vaes[0])
    dec = model.modules["ae"].decoder
    rows = []
    for name, action, frames in [
        ("vae.interpolate (10 steps)", lambda: tab.interpolate(store, ae[0], vaes[0], a, b, 10, "slerp"), 20),
        ("vae.latent_map (cached)", lambda: tab.latent_map(store, vae2d[0]), 225),
        ("vae.decode_at (map click)", lambda: tab.decode_at(store, vae2d[0], 100, 200), 1),
        ("vae.arithmetic", lambda: tab.arithmetic(store, vaes[0], a, b, c), 1),
        ("vae.prior_samples (16)", lambda: tab.prior_samples(store, vaes[0], 0, 16), 16),
        ("vae.denoise", lambda: tab.denoise(store, daes[0], a, 0.3, 0), 1),
    ]:
        z = torch.randn(frames, model.cfg.latent_dim)

        def reference():
            with torch.no_grad():
                dec(z)

        t_ours, t_ref = interleaved(action, reference, repeats, lambda: None)
        rows.append({"name": name, "unit": "ms", "ours": t_ours * 1e3, "reference": t_ref * 1e3,
                     "ratio": t_ours / t_ref, "reference_is": f"bare decoder forward of {frames} codes"})
    return rows


def bench_gan_tab(repeats: int) -> list[dict]:
    """GAN-tab actions with the first shipped GAN vs the bare generator forward they contain."""
    from playground import gan as tab
    from playground.models import ModelStore

    store = ModelStore()
    names = store.names("gan")
    if not names:
        return []
    name = names[0]
    G = store.get(name).modules["G_ema"]
    rows = []
    for label, action, n in [
        ("gan.latent_walk (16 frames, GIF+MP4)", lambda: tab.latent_walk(store, name, "1, 2, 3", 16, "slerp", 1.0, "z"), 16),
        ("gan.edit (one slider move)", lambda: tab.edit(store, name, 3, 1.0, "z", None, 1, 0, 0, 0, 0), 1),
        ("gan.sample_grid (16)", lambda: tab.sample_grid(store, name, 0, 16, 1.0), 16),
    ]:
        z = torch.randn(n, G.z_dim)
        y = torch.zeros(n, dtype=torch.long) if G.n_classes else None

        def reference():
            with torch.no_grad():
                G(z, y)

        a, b = interleaved(action, reference, repeats, lambda: None)
        rows.append({"name": label, "unit": "ms", "ours": a * 1e3, "reference": b * 1e3, "ratio": a / b,
                     "reference_is": f"bare G_ema forward of {n} codes ({name})"})
    return rows


def bench_translation_tab(repeats: int) -> list[dict]:
    """Translation-tab actions on an example garment vs the bare generator forwards inside them
    (goal: a translation answers in under 0.2 s)."""
    from PIL import Image

    from playground import translation as tab
    from playground.classifier import EXAMPLES
    from playground.models import ModelStore

    store = ModelStore()
    image = Image.open(sorted(EXAMPLES.glob("*.png"))[7])  # a sneaker
    rows = []
    for family, action, calls in [
        ("pix2pix", lambda n: tab.pix2pix(store, n, image, "auto", False, 0, True), 1),
        ("cyclegan", lambda n: tab.cyclegan(store, n, image, "A"), 3),
    ]:
        for name in store.names(family):
            G = store.get(name).modules["G"]
            x = torch.rand(1, 1, 32, 32) * 2 - 1

            def reference():
                with torch.no_grad():
                    for _ in range(calls):
                        G(x) if family == "pix2pix" else G(x, "AtoB")

            a, b = interleaved(lambda: action(name), reference, repeats, lambda: None)
            rows.append({"name": f"translation.{family} ({name[:18]})", "unit": "ms", "ours": a * 1e3,
                         "reference": b * 1e3, "ratio": a / b,
                         "reference_is": f"{calls} bare generator forward(s) of one image"})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description="benchmarks, as ratios against same-run references")
    p.add_argument("--device", default="cpu")
    p.add_argument("--quick", action="store_true", help="fewer repeats (for a smoke run)")
    p.add_argument("--no-ui", action="store_true", help="skip the rows that start the app and call it over HTTP")
    p.add_argument("--only", default="", help="comma-separated groups to run (gan, classifier, vae, translation, "
                   "lab, ddpm, ldm, ui, threads, browser, startup, page, drag); default: all")
    args = p.parse_args()
    r = 3 if args.quick else 7
    from . import browser, ddpm, lab, ldm, page, startup, ui

    groups = [  # (group, runs on a GPU too, rows)
        ("gan", True, lambda: [bench_gan_train(args.device, r, 5 if args.quick else 20), bench_gan_sample(args.device, r)]),
        ("classifier", True, lambda: [bench_fid(r)]),
        ("vae", False, lambda: [bench_vae_train(r, 3 if args.quick else 10)] + bench_vae_tab(r)),
        ("gan", False, lambda: bench_gan_tab(r)),
        ("translation", False, lambda: bench_translation_tab(r)),
        ("lab", False, lambda: lab.bench_lab(r)),
        ("ddpm", False, lambda: ddpm.bench_train(3 if args.quick else 5) + ddpm.bench_sampling(r)
         + ddpm.bench_pipelines(r) + ddpm.bench_tab(r)),
        ("ldm", False, lambda: ldm.bench_generate(r) + ldm.bench_train(3 if args.quick else 5)),
        ("ui", False, lambda: [] if args.no_ui else ui.bench_ui(5 if args.quick else 15)),
        ("threads", False, lambda: [] if args.no_ui else ui.bench_threads(5 if args.quick else 11)),
        ("browser", False, lambda: [] if args.no_ui else browser.bench_browser(5 if args.quick else 15)),
        ("startup", False, lambda: [] if args.no_ui else startup.bench_startup(r)),
        ("page", False, lambda: [] if args.no_ui else page.bench_page(5 if args.quick else 15)),
        ("drag", False, lambda: [] if args.no_ui else browser.bench_drag(3 if args.quick else 7)),
    ]
    only = {g for g in args.only.split(",") if g}
    unknown = only - {g for g, _, _ in groups}
    if unknown:
        p.error(f"unknown group(s) {', '.join(sorted(unknown))}")
    rows, t0, by_group = [], time.monotonic(), {}
    for group, on_gpu, run in groups:
        if (not only or group in only) and (on_gpu or args.device == "cpu"):
            load = os.getloadavg()[0]  # how busy the machine was when the group started (ratios bear it, ms less)
            got = run()
            rows += got
            record = by_group.setdefault(group, {"rows": [], "load": load})
            record["rows"] += got
    wall = time.monotonic() - t0
    header = f"{'benchmark':38} {'unit':9} {'ours':>10} {'reference':>10} {'ratio':>7}  reference"
    lines = [header, "-" * len(header)] + [
        f"{row['name']:38} {row['unit']:9} {row['ours']:10.1f} {row['reference']:10.1f} {row['ratio']:7.2f}  "
        f"{row['reference_is']}" for row in rows]
    meta = {"device": args.device, "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.machine(), "repeats": r, "groups": sorted(only) or "all", "wall_s": round(wall, 1)}
    footer = f"{len(rows)} rows in {wall / 60:.1f} min on {args.device} ({meta['machine']}, {meta['threads']} threads)"
    print("\n".join(lines) + "\n" + footer)
    OUT.mkdir(exist_ok=True)
    (OUT / "bench.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    (OUT / "bench.txt").write_text("\n".join(lines) + "\n" + footer + "\n")  # the table, beside the JSON
    # each group's latest run in its own record, which docs/benchmarks.md's tables are generated from
    # (`python -m docs.bench_tables`): a run of some groups leaves the others' records as they were
    when = time.strftime("%Y-%m-%d %H:%M")
    for group, record in by_group.items():
        if record["rows"]:
            group_meta = {**meta, "groups": [group], "date": when, "quick": args.quick,
                          "load_average": round(record["load"], 1)}
            RECORDS.mkdir(exist_ok=True)
            (RECORDS / f"{group}.json").write_text(json.dumps({"meta": group_meta, "rows": record["rows"]}, indent=2))
    print(f"\nwritten {OUT / 'bench.json'}, {OUT / 'bench.txt'} and "
          f"{', '.join(str(RECORDS / f'{g}.json') for g in by_group)} (then: python -m docs.bench_tables)")


if __name__ == "__main__":
    main()
