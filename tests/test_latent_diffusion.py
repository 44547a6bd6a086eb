"""CLIP, the KL autoencoder and latent diffusion: the math against references, training that learns,
the ecosystem formats (transformers CLIP folder, diffusers pipeline) and sampling parity with diffusers."""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
from pathlib import Path

import pytest
import torch

from trainers.clip import losses as CL
from trainers.core import captions
from trainers.core.checkpoint import load_model
from trainers.core.errors import UserError


def test_contrastive_loss_matches_transformers_clip_loss():
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig(text_config=dict(vocab_size=50, hidden_size=32, intermediate_size=64,
                                                  num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=8),
                                 vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                                    num_attention_heads=2, image_size=16, patch_size=8),
                                 projection_dim=16))
    ids = torch.randint(0, 50, (6, 8))
    out = model(input_ids=ids, pixel_values=torch.randn(6, 3, 16, 16), return_loss=True)
    ours = CL.contrastive_loss(out.image_embeds, out.text_embeds, model.logit_scale)
    assert torch.allclose(ours, out.loss, atol=1e-6)


def test_contrastive_loss_by_hand_in_float64():
    img = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    txt = torch.tensor([[3.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    t = torch.tensor(0.0, dtype=torch.float64)  # exp(t) = 1
    c = 2 ** -0.5
    s = torch.tensor([[1.0, c], [0.0, c]], dtype=torch.float64)  # cosines
    rows = -(torch.log_softmax(s, 1).diagonal()).mean()
    cols = -(torch.log_softmax(s.T, 1).diagonal()).mean()
    assert torch.allclose(CL.contrastive_loss(img, txt, t), 0.5 * (rows + cols))


def test_tokenizer_knows_the_vocabulary_and_every_byte(tmp_path):
    import subprocess
    import sys

    from transformers import CLIPTokenizer

    from trainers.clip.tokenizer import build_tokenizer, write_tokenizer_files

    tok = build_tokenizer()
    ids = tok("A small red ankle boot").input_ids
    assert tok.convert_ids_to_tokens(ids) == ["<|startoftext|>", "a</w>", "small</w>", "red</w>", "ankle</w>",
                                              "boot</w>", "<|endoftext|>"]
    odd = tok("zébra, 42!").input_ids[1:-1]
    assert tok.eos_token_id not in odd  # nothing is unknown (CLIP's unknown token is its end token)
    again = CLIPTokenizer.from_pretrained(write_tokenizer_files(tmp_path))
    assert again("a blue bag").input_ids == tok("a blue bag").input_ids
    # the same files in another process (another string-hash seed): a trained CLIP's token ids stay valid
    code = "import sys; from trainers.clip.tokenizer import write_tokenizer_files as w; w(sys.argv[1])"
    for seed in ("1", "2"):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / seed)], check=True, cwd=Path(captions.__file__).parents[2],
                       env={"PYTHONHASHSEED": seed, "PATH": ""})
        for name in ("vocab.json", "merges.txt"):
            assert (tmp_path / seed / name).read_bytes() == (tmp_path / name).read_bytes()


def test_captions_render_and_the_detectors_read_them_back(tiny_fashion):
    data = captions.CaptionedFashion("test", str(tiny_fashion))
    item = data[3]
    assert item["image"].shape == (3, 32, 32) and -1 <= item["image"].min() and item["image"].max() <= 1
    words = item["caption"].split()
    assert captions.CLASS_WORDS[int(item["label"])].split()[-1] in words
    idx = torch.arange(len(data))
    rgb = data.images(idx)
    # intensity (max over channels) gives the garment back: every colour is at full value
    large = data.attr["size"] == 1
    assert torch.allclose(captions.intensity(rgb)[large], data.gray[idx][large].float() / 255, atol=1e-6)
    assert (captions.dominant_colour(rgb) == data.attr["colour"]).float().mean() > 0.95
    assert (captions.measured_size(rgb) == data.attr["size"]).float().mean() > 0.9
    again = captions.CaptionedFashion("test", str(tiny_fashion))
    assert [again.captions(i) for i in range(20)] == [data.captions(i) for i in range(20)]  # deterministic


def _rows(path):
    with open(path / "log.csv") as f:
        return list(csv.DictReader(f))


def test_clip_training_makes_matching_pairs_score_higher():
    """The contrastive loss's direction: a few steps of `train_step` on one batch of 8 captioned images raise
    each image's score for its own caption above its scores for the other seven."""
    from accelerate import Accelerator

    from trainers.clip import train as C
    from trainers.core.config import build_config

    torch.manual_seed(0)
    cfg = build_config(C.Config, {"width": "32", "text_layers": "1", "vision_layers": "1", "heads": "2",
                                  "embed_dim": "16", "lr": "1e-3", "warmup": "1", "decay_steps": "1000"})
    modules, gen = C.build(cfg), torch.Generator().manual_seed(0)
    opts = C.optimizers(cfg, modules)
    labels, colour, size = torch.arange(8), torch.arange(8), torch.tensor([0, 1] * 4)
    x = captions.render(torch.rand(8, 1, 32, 32, generator=gen), colour, size) * 2 - 1
    texts = [captions.caption(int(k), int(c), int(s)) for k, c, s in zip(labels, colour, size)]

    def margin():  # mean matching score minus mean mismatched score
        with torch.no_grad():
            s = modules["clip"](pixel_values=x, **C.tokenize(cfg, texts, "cpu")).logits_per_image
        return float(s.diagonal().mean() - (s.sum() - s.diagonal().sum()) / 56)

    before = margin()
    losses = [float(C.train_step(cfg, modules, opts, {"image": x, "caption": texts}, gen, Accelerator(cpu=True))["loss"])
              for _ in range(15)]
    assert losses[-1] < 0.5 * losses[0]
    assert margin() > before + 2


def test_clip_folder_loads_with_transformers_alone(tiny_ldm):
    from transformers import CLIPModel, CLIPProcessor

    model = CLIPModel.from_pretrained(tiny_ldm["clip"], local_files_only=True)
    proc = CLIPProcessor.from_pretrained(tiny_ldm["clip"], local_files_only=True)
    from PIL import Image

    inputs = proc(text=["a red bag", "a blue coat"], images=Image.new("RGB", (64, 64), (255, 0, 0)),
                  return_tensors="pt", padding=True)
    assert inputs["pixel_values"].shape == (1, 3, 32, 32)
    assert model(**inputs).logits_per_image.shape == (1, 2)
    assert json.loads((tiny_ldm["clip"] / "trainer.json").read_text())["family"] == "clip"
    assert json.loads((tiny_ldm["ldm"] / "config.json").read_text())["family"] == "latent_diffusion"


def test_autoencoder_learns_and_saves_a_diffusers_folder(tiny_ldm):
    from diffusers import AutoencoderKL

    rows = _rows(tiny_ldm["vae"])
    assert float(rows[-1]["l1"]) < float(rows[0]["l1"])
    vae = AutoencoderKL.from_pretrained(tiny_ldm["vae"], local_files_only=True)
    assert vae.config.scaling_factor != 1.0  # 1 / std of the training latents was written
    z = vae.encode(torch.zeros(1, 3, 32, 32)).latent_dist.mean
    assert z.shape == (1, 4, 8, 8)


def test_latent_diffusion_loss_falls_and_the_pipeline_loads_offline(tiny_ldm):
    from diffusers import StableDiffusionPipeline

    rows = _rows(tiny_ldm["ldm"])
    first, last = (sum(float(r["loss"]) for r in part) / len(part) for part in (rows[:2], rows[-2:]))
    assert last < first
    pipe = StableDiffusionPipeline.from_pretrained(tiny_ldm["ldm"], local_files_only=True, use_safetensors=True)
    out = pipe("a small red sneaker", num_inference_steps=2, guidance_scale=2.0, output_type="np",
               generator=torch.Generator().manual_seed(0)).images
    assert out.shape == (1, 32, 32, 3)
    loaded = load_model(tiny_ldm["ldm"])
    assert loaded.family == "latent_diffusion" and set(loaded.modules) == {"unet_ema", "vae", "text_encoder"}


def test_unet_heads_have_head_dim_channels():
    # diffusers reads UNet2DConditionModel's `attention_head_dim` as the number of heads (its issue 2011)
    from trainers.latent_diffusion import train as LT

    unet = LT.unet_for(LT.Config(widths=(32, 64), head_dim=32), text_width=128, latent_channels=4, latent_size=8)
    attn = [m for n, m in unet.named_modules() if n.endswith("attn2")]
    assert attn and {(m.heads, m.inner_dim // m.heads) for m in attn} == {(1, 32), (2, 32)}


def test_resume_refuses_a_unet_built_with_other_heads(tmp_path):
    from trainers.core.errors import UserError
    from trainers.latent_diffusion import train as LT

    cfg = LT.Config(widths=(32, 64), head_dim=32)
    (tmp_path / "unet").mkdir()
    for heads, ok in [([1, 2], True), (32, False), ([32, 32], False)]:
        (tmp_path / "unet" / "config.json").write_text(json.dumps({"attention_head_dim": heads}))
        if ok:
            LT.check_resume(cfg, tmp_path)
        else:
            with pytest.raises(UserError, match="--init_from"):
                LT.check_resume(cfg, tmp_path)


def test_frozen_outputs_are_computed_once_and_equal_the_frozen_parts(tiny_ldm):
    import gc
    import weakref

    from trainers.latent_diffusion import train as LT

    modules = load_model(tiny_ldm["ldm"]).modules
    vae, text, tok = modules["vae"], modules["text_encoder"], LT.text_tokenizer(modules)
    frozen = LT.frozen_outputs(modules)
    assert LT.frozen_outputs(modules) is frozen
    x = torch.rand(6, 3, 32, 32) * 2 - 1
    first = frozen.posterior(vae, x[:4], torch.tensor([10, 11, 12, 13])).parameters
    calls = []
    vae.encoder.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    again = frozen.posterior(vae, x[:4], torch.tensor([10, 11, 12, 13])).parameters  # all known: no encoder call
    both = frozen.posterior(vae, x[2:], torch.tensor([12, 13, 14, 15])).parameters  # two new: the batch, whole
    assert calls == [4] and torch.equal(again, first)
    direct = vae.encode(x).latent_dist.parameters
    assert torch.allclose(first, direct[:4], atol=1e-5) and torch.allclose(both, direct[2:], atol=1e-5)
    prompts = ["a red bag", "", "a red bag", "a small blue coat"]
    assert torch.allclose(frozen.states(tok, text, prompts), LT.encode_text(tok, text, prompts), atol=1e-5)
    assert set(frozen.text) == set(prompts)
    # the cache goes with its text encoder (it holds no module itself)
    alive = weakref.ref(frozen)
    del modules, text, frozen
    gc.collect()
    assert alive() is None


@pytest.mark.parametrize("scheduler", ["ddim", "ddpm", "euler", "dpm++"])
def test_step_by_step_sampling_equals_the_pipeline(tiny_ldm, scheduler):
    from trainers.core.images import to_uint8
    from trainers.latent_diffusion.sampling import denoise, make_pipeline

    loaded = load_model(tiny_ldm["ldm"])
    pipe = make_pipeline(loaded.cfg, loaded.modules, scheduler)
    prompts = ["a red bag", "a small blue coat"]
    steps = list(denoise(pipe, prompts, torch.Generator().manual_seed(3), 4, 3.0, "a shirt"))
    if scheduler == "ddim":  # denoise takes DDIM's step with eps re-derived from the clipped z0 (GLIDE)
        pipe.scheduler.step = functools.partial(pipe.scheduler.step, use_clipped_model_output=True)
    if scheduler in ("euler", "dpm++"):  # denoise clips their z0 (the next test); the pipeline never does
        pipe.scheduler.register_to_config(clip_sample=False)
        steps = list(denoise(pipe, prompts, torch.Generator().manual_seed(3), 4, 3.0, "a shirt"))
    ref = pipe(prompts, num_inference_steps=4, guidance_scale=3.0, negative_prompt=["a shirt"] * 2, output_type="pt",
               generator=torch.Generator().manual_seed(3)).images
    assert len(steps) == 5 and steps[-1].images.shape == (2, 3, 32, 32)
    assert torch.equal(steps[-1].images, to_uint8(ref * 2 - 1))


def test_euler_gets_the_noise_of_the_clipped_z0(tiny_ldm):
    """Euler has no clip of its own: denoise hands it eps re-derived from the clipped z0_hat, so the z0 its
    step predicts stays in [-r, r] (r = 0.5 here, so that the tiny model's guesses go past it unclipped)."""
    from trainers.latent_diffusion.sampling import denoise, make_pipeline

    loaded = load_model(tiny_ldm["ldm"])

    def z0s(clip: bool) -> torch.Tensor:
        pipe = make_pipeline(loaded.cfg, loaded.modules, "euler")
        pipe.scheduler.register_to_config(clip_sample=clip, clip_sample_range=0.5)
        step, seen = pipe.scheduler.step, []

        def spy(*a, **k):
            out = step(*a, **k)
            seen.append(out.pred_original_sample)
            return out
        pipe.scheduler.step = spy
        list(denoise(pipe, ["a red bag", "a small blue coat"], torch.Generator().manual_seed(3), 6, 3.0))
        return torch.stack(seen)

    assert z0s(False).abs().max() > 0.6
    assert z0s(True).abs().max() <= 0.5 + 1e-4


def test_guidance_combines_the_two_predictions(tiny_ldm):
    from trainers.latent_diffusion.sampling import denoise, make_pipeline

    loaded = load_model(tiny_ldm["ldm"])
    pipe = make_pipeline(loaded.cfg, loaded.modules, "ddim")
    guided = next(denoise(pipe, ["a red bag"], torch.Generator().manual_seed(1), 3, 4.0))
    plain = next(denoise(pipe, ["a red bag"], torch.Generator().manual_seed(1), 3, 1.0))
    assert plain.eps_uncond is None and torch.allclose(plain.eps_text, guided.eps_text, atol=1e-5)
    # one DDIM step from the same z_T with eps_hat = eps_u + w (eps_c - eps_u), computed here by hand
    sched = make_pipeline(loaded.cfg, loaded.modules, "ddim").scheduler
    sched.set_timesteps(3)
    eps_hat = guided.eps_uncond + 4.0 * (guided.eps_text - guided.eps_uncond)
    by_hand = sched.step(eps_hat, sched.timesteps[0], guided.z_t, use_clipped_model_output=True).prev_sample
    assert torch.allclose(by_hand, guided.latents, atol=1e-6)
    assert not torch.allclose(plain.latents, guided.latents)


def test_guidance_below_one_is_the_equations_not_the_conditional_model(tiny_ldm):
    """w = 0 is eps(z_t, "") alone and 0 < w < 1 a blend, as eq. 6 says: diffusers' pipeline (and this sampler,
    before) skipped guidance for every w <= 1, so the tab's w = 0 drew w = 1's images (a walk found them
    pixel-identical)."""
    from trainers.latent_diffusion.sampling import denoise, make_pipeline

    loaded = load_model(tiny_ldm["ldm"])

    def first(w):
        pipe = make_pipeline(loaded.cfg, loaded.modules, "ddim")
        return next(denoise(pipe, ["a red bag"], torch.Generator().manual_seed(1), 3, w))
    zero, half, one = first(0.0), first(0.5), first(1.0)
    assert one.eps_uncond is None and zero.eps_uncond is not None
    sched = make_pipeline(loaded.cfg, loaded.modules, "ddim").scheduler
    sched.set_timesteps(3)
    for s, w in ((zero, 0.0), (half, 0.5)):
        eps_hat = s.eps_uncond + w * (s.eps_text - s.eps_uncond)  # w = 0: eps_u itself
        by_hand = sched.step(eps_hat, sched.timesteps[0], s.z_t, use_clipped_model_output=True).prev_sample
        assert torch.allclose(by_hand, s.latents, atol=1e-6)
        assert not torch.allclose(s.latents, one.latents, atol=1e-4)


def test_both_predictions_at_w_one_leave_the_run_unguided(tiny_ldm):
    """The guidance view shows eps(z_t, "") at w = 1 too (`both`): the run is still w = 1's, eps(z_t, y) alone
    (it was run as w = 1.0001 before)."""
    from trainers.latent_diffusion.sampling import denoise, make_pipeline

    loaded = load_model(tiny_ldm["ldm"])

    def run(**kw):
        pipe = make_pipeline(loaded.cfg, loaded.modules, "ddim")
        return list(denoise(pipe, ["a red bag"], torch.Generator().manual_seed(1), 3, 1.0, **kw))
    plain, both = run(), run(both=True)
    assert all(s.eps_uncond is None for s in plain[:-1]) and all(s.eps_uncond is not None for s in both[:-1])
    assert not torch.allclose(both[0].eps_uncond, both[0].eps_text, atol=1e-4)  # a prediction of its own
    for a, b in zip(plain, both):  # equal but for the batched call's float rounding (latents up to ~5)
        assert torch.allclose(a.eps_text, b.eps_text, atol=1e-5) and torch.allclose(a.latents, b.latents, atol=1e-4)


def test_guidance_interval_leaves_the_noisiest_steps_unguided(tiny_ldm):
    """DDIM 3 steps (t = 999, 666, 332) with guidance_interval 0.5: the first two use eps(z_t, y) alone (as
    w = 1 does), the third is guided; every step still carries both predictions for the tab's view."""
    from trainers.latent_diffusion.sampling import denoise, make_pipeline

    loaded = load_model(tiny_ldm["ldm"])

    def run(w, interval=1.0):
        pipe = make_pipeline(loaded.cfg, loaded.modules, "ddim")
        return list(denoise(pipe, ["a red bag"], torch.Generator().manual_seed(1), 3, w, guidance_interval=interval))
    part, plain, full = run(4.0, 0.5), run(1.0), run(4.0)
    assert [s.t for s in part[:3]] == [999, 666, 332] and all(s.eps_uncond is not None for s in part[:3])
    assert torch.allclose(part[1].latents, plain[1].latents, atol=1e-4)  # a batch of 2 vs 1: rounding only
    assert not torch.allclose(part[1].latents, full[1].latents)
    assert not torch.allclose(part[2].latents, plain[2].latents)
    with pytest.raises(UserError, match="guidance_interval must be in"):
        run(4.0, 0.0)


def test_latent_ddim_converges_as_steps_grow(tiny_ldm):
    """The latent pipeline's DDIM from the same z_T at 50, 200 and 1000 steps lands on nearly the same latents,
    closer the more steps (the scheduler clips z0_hat; with eps left as predicted it drifted at 1000 steps)."""
    from trainers.latent_diffusion.sampling import denoise, make_pipeline

    loaded = load_model(tiny_ldm["ldm"])
    z_T = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))

    def run(steps):
        pipe = make_pipeline(loaded.cfg, loaded.modules, "ddim")
        *_, last = denoise(pipe, ["a red bag", "a small blue coat"], torch.Generator(), steps, 3.0,
                           latents=z_T.clone())
        return last.latents

    z50, z200, z1000 = run(50), run(200), run(1000)
    d_50_200, d_200_1000 = (z200 - z50).abs().mean().item(), (z1000 - z200).abs().mean().item()
    assert (z1000 - z50).abs().mean().item() < 0.05 * z50.abs().mean().item()
    assert d_200_1000 <= d_50_200 + 1e-4, (d_50_200, d_200_1000)


def test_cli_sample_and_evaluate(tiny_ldm, tmp_path, monkeypatch, capsys):
    import numpy as np

    from trainers.__main__ import main
    from trainers.latent_diffusion import metrics as M

    out = tmp_path / "s.npz"
    assert main(["sample", str(tiny_ldm["ldm"]), "--n", "3", "--seed", "0", "--prompt", "a red bag",
                 "--steps", "2", "--out", str(out)]) == 0
    with np.load(out) as f:
        assert f["images"].shape == (3, 32, 32, 3) and list(f["prompts"]) == ["a red bag"] * 3
    assert "never saw" not in capsys.readouterr().err
    # a word no caption holds is named (it pulls the images off the garment); a prompt too long is refused, not cut
    assert main(["sample", str(tiny_ldm["ldm"]), "--n", "1", "--prompt", "a nice red bag", "--steps", "2",
                 "--out", str(out)]) == 0
    assert "never saw 'nice'" in capsys.readouterr().err
    assert main(["sample", str(tiny_ldm["ldm"]), "--n", "1", "--prompt", "a red bag " * 12, "--steps", "2",
                 "--out", str(out)]) != 0
    assert "tokens long" in capsys.readouterr().err
    # evaluate scores with the classifier; a tiny stand-in keeps this offline test small
    from trainers.classifier.models import SmallCNN

    monkeypatch.setattr(M.metrics, "load_classifier", lambda path=None: SmallCNN(1, 8, 16, 10, 0.0).eval())
    target = tmp_path / "ldm"
    import shutil

    shutil.copytree(tiny_ldm["ldm"], target)
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", str(target), "--n", "8", "--steps", "2"]) == 0
    metrics = json.loads((target / "card.json").read_text())["metrics"]
    for key in ("class_accuracy", "colour_accuracy", "size_accuracy", "grey_fid_vs_fashion_mnist", "real_colour_accuracy"):
        assert key in metrics
    assert metrics["steps"] == 2 and metrics["n"] == 8


def test_the_autoencoders_evaluate_reads_the_class_in_its_reconstructions(tiny_fashion, tiny_ldm, monkeypatch):
    """The first shipped autoencoder kept the class of 0.64 of held-out garments (originals: 0.87), a ceiling no
    latent diffusion model in its space passes; `evaluate` reports it, overall and per size. A perfect
    autoencoder (the identity) reads exactly as the originals do; the tiny trained one is reported as it is."""
    from types import SimpleNamespace

    from trainers.core import data
    from trainers.core.checkpoint import load_model
    from trainers.latent_diffusion import autoencoder as A

    monkeypatch.setattr(data, "CACHE_DIR", tiny_fashion.parent / "ae-eval-cache")
    loaded = load_model(tiny_ldm["vae"])
    cfg = dataclasses.replace(loaded.cfg, data_dir=str(tiny_fashion))

    class Identity(torch.nn.Module):
        config = SimpleNamespace(scaling_factor=1.0)

        def encode(self, x):
            return SimpleNamespace(latent_dist=SimpleNamespace(mode=lambda: x, mean=x, logvar=torch.zeros_like(x),
                                                               sample=lambda generator=None: x))

        def decode(self, z):
            return SimpleNamespace(sample=z)

    perfect = A.evaluate(SimpleNamespace(cfg=cfg, modules={"vae": Identity()}), n=64)
    assert perfect["recon_class_accuracy"] == perfect["real_class_accuracy"] > 0
    assert perfect["recon_mse"] == 0
    trained = A.evaluate(SimpleNamespace(cfg=cfg, modules=loaded.modules), n=64)
    assert trained["real_class_accuracy"] == perfect["real_class_accuracy"]  # the same originals, the same judge
    for key in ("real", "recon"):  # the overall share is the two sizes' shares weighted by their counts
        small, large = trained[f"{key}_class_accuracy_small"], trained[f"{key}_class_accuracy_large"]
        assert min(small, large) - 1e-3 <= trained[f"{key}_class_accuracy"] <= max(small, large) + 1e-3


def test_a_shared_tokenizer_pads_every_call_while_other_threads_count_tokens():
    """transformers 5's tokenizer keeps padding and truncation as its backend's state, set on each call: one
    request counting a prompt's tokens left another's "" unpadded (2 tokens against 16), and 25 concurrent
    text-to-image clients failed. Through `tokenized` (and check_prompt, which uses it), 8 threads for a second
    give no unpadded result (without the lock: about 340 a second)."""
    import threading
    import time

    from trainers.clip.tokenizer import build_tokenizer, tokenized
    from trainers.latent_diffusion.sampling import check_prompt

    tok, wrong, until = build_tokenizer(), [], time.monotonic() + 1.0

    def padded():
        while time.monotonic() < until:
            ids = tokenized(tok, [""], padding="max_length", max_length=tok.model_max_length, truncation=True).input_ids
            if len(ids[0]) != tok.model_max_length:
                wrong.append(len(ids[0]))

    def counting():
        while time.monotonic() < until:
            check_prompt(tok, "a small red bag")

    threads = [threading.Thread(target=f) for f in (padded, counting) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
