import csv

import numpy as np
import pytest
import torch

from trainers.core import checkpoint as ck
from trainers.core.errors import TrainingDiverged, UserError
from trainers import fit

GAN = {"ngf": "8", "ndf": "8", "z_dim": "16", "batch_size": "16", "device": "cpu", "ckpt_every": "3", "monitor_n": "200",
       "sample_every": "3", "log_every": "1"}


def _weights(path):
    return ck.load_train_state(path)["modules"]


def test_resume_is_bitwise_equal_to_an_uninterrupted_run(tmp_path, tiny_fashion):
    # 256 images / 16 = 16 steps per epoch: 20 steps cross an epoch boundary, the split lands mid-epoch
    base = {**GAN, "data_dir": str(tiny_fashion)}
    fit("gan", {**base, "out": str(tmp_path / "a"), "steps": "20"})
    fit("gan", {**base, "out": str(tmp_path / "b"), "steps": "7"})
    fit("gan", {**base, "out": str(tmp_path / "b"), "steps": "18", "resume": "true"})  # resumes in epoch 0
    fit("gan", {**base, "out": str(tmp_path / "b"), "steps": "20", "resume": "true"})  # resumes in epoch 1
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    for module in ("G", "D", "G_ema"):
        for k in a[module]:
            assert torch.equal(a[module][k], b[module][k]), f"{module}.{k} differs after resume"
    rows = list(csv.DictReader(open(tmp_path / "b" / "log.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, 21))
    card = ck.read_card(tmp_path / "b")
    assert card["steps"] == 20 and isinstance(card["command"], list) and len(card["command"]) == 3
    assert (tmp_path / "b" / "snapshots" / "step-00000006.png").exists()
    # the mode-collapse monitor ran at every snapshot (without disturbing the training RNG, as above)
    monitored = list(csv.DictReader(open(tmp_path / "b" / "metrics.csv")))
    assert [int(r["step"]) for r in monitored] == [3, 6, 7, 9, 12, 15, 18, 20]  # 7: end of the first part
    assert all(0 <= float(r["class_entropy"]) <= 2.31 for r in monitored) and "fid_200" in monitored[0]


def test_resume_refuses_a_changed_config(tmp_path, tiny_fashion):
    base = {**GAN, "data_dir": str(tiny_fashion), "out": str(tmp_path / "r")}
    fit("gan", {**base, "steps": "2"})
    with pytest.raises(UserError, match="--lr_g"):
        fit("gan", {**base, "steps": "4", "resume": "true", "lr_g": "0.1"})


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, tiny_fashion, monkeypatch):
    import trainers.gan.train as gan

    real_step = gan.train_step
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        out = real_step(*args)
        if calls["n"] == 5:
            out["loss_d"] = torch.tensor(float("nan"))
        return out

    monkeypatch.setattr(gan, "train_step", flaky)
    out = tmp_path / "nan"
    with pytest.raises(TrainingDiverged, match=r"loss_d=nan at step 5.*step 3"):
        fit("gan", {**GAN, "data_dir": str(tiny_fashion), "out": str(out), "steps": "10"})
    assert ck.load_train_state(out)["step"] == 3
    assert ck.load_model(out).step == 3


def test_time_budget_stops_with_a_resumable_checkpoint(tmp_path, tiny_fashion):
    out = tmp_path / "budget"
    fit("gan", {**GAN, "data_dir": str(tiny_fashion), "out": str(out), "steps": "1000", "max_minutes": "0.0001"})
    step = ck.load_train_state(out)["step"]
    assert 1 <= step < 1000 and (out / "samples.png").exists()
    from PIL import Image

    with Image.open(out / "samples.png") as im:  # a grid of grey samples is stored grey, its settings with it
        assert im.mode == "L" and im.size[0] > 32 and im.text


def test_a_colour_grid_stays_colour(tmp_path):
    from PIL import Image

    from trainers.core.images import save_png

    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 200
    save_png(tmp_path / "c.png", rgb, {"k": "v"})
    save_png(tmp_path / "g.png", np.full((4, 4, 3), 7, np.uint8))
    with Image.open(tmp_path / "c.png") as c, Image.open(tmp_path / "g.png") as g:
        assert c.mode == "RGB" and np.array_equal(np.asarray(c), rgb) and c.text == {"k": "v"}
        assert g.mode == "L" and np.array_equal(np.asarray(g.convert("RGB")), np.full((4, 4, 3), 7))


def test_unknown_option_names_valid_ones(tiny_fashion):
    with pytest.raises(UserError, match="--lrr.*--lr_g"):
        fit("gan", {"lrr": "1"})


# the shipped judge, and the second judge of another architecture (no weight sharing: it needs more steps)
@pytest.mark.parametrize("arch,steps", [("cnn", 60), ("mlp", 150)])
def test_classifier_learns_on_toy_data(tmp_path, tiny_fashion, arch, steps):
    """Loss falls and accuracy on held-out toy images beats chance by far."""
    from trainers.classifier.train import predict
    from trainers.core.data import load_dataset

    out = tmp_path / "clf"
    fit("classifier", {"data_dir": str(tiny_fashion), "out": str(out), "width": "8", "feature_dim": "32", "arch": arch,
                       "steps": str(steps), "batch_size": "32", "log_every": "10", "sample_every": "1000",
                       "ckpt_every": "1000", "device": "cpu"})
    losses = [float(r["loss"]) for r in csv.DictReader(open(out / "log.csv"))]
    assert losses[-1] < 0.5 * losses[0]
    test = load_dataset("fashion-mnist", data_dir=str(tiny_fashion), split="test")
    probs = predict(ck.load_model(out).modules["net"], test.images.float() / 127.5 - 1)
    assert (probs.argmax(1) == test.labels).float().mean() > 0.8


def test_two_processes_train_one_checkpoint(tmp_path, tiny_fashion):
    """The loop under torch.distributed (2 CPU processes, gloo): what `accelerate launch` gives on GPUs."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root),
           "PLAYGROUND_DATA_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        "-m", "trainers", "train", "gan", f"--data_dir={tiny_fashion}", "--ngf=8", "--ndf=8",
                        "--z_dim=16", "--batch_size=16", "--steps=6", f"--out={out}", "--device=cpu", "--monitor_n=0"],
                       cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    card = ck.read_card(out)
    assert card["num_processes"] == 2 and card["batch_size"] == 32 and card["steps"] == 6
    ck.load_model(out)


def test_init_from_starts_a_new_run_from_a_checkpoints_weights(tmp_path, tiny_fashion):
    """`--init_from`: a finished checkpoint (no resume state needed) seeds a new run; the architecture comes from
    the parent, the optimiser is fresh, and the card records the lineage and the total steps."""
    base = {**GAN, "data_dir": str(tiny_fashion)}
    fit("gan", {**base, "out": str(tmp_path / "parent"), "steps": "5"})
    parent = ck.load_model(tmp_path / "parent")
    # with the learning rates at 0, the new run's weights are exactly the parent's: that is where it began
    child = fit("gan", {"data_dir": str(tiny_fashion), "device": "cpu", "batch_size": "16", "monitor_n": "0",
                        "out": str(tmp_path / "child"), "steps": "3", "seed": "1", "lr_g": "0", "lr_d": "0",
                        "init_from": str(tmp_path / "parent")})
    meta = ck.read_meta(child)
    assert meta["config"]["ngf"] == 8 and meta["config"]["z_dim"] == 16  # inherited, not the defaults
    card = ck.read_card(child)
    assert card["steps"] == 3 and card["steps_total"] == 8
    assert card["init_from"]["checkpoint"] == str(tmp_path / "parent") and card["init_from"]["step"] == 5
    assert card["init_from"]["modules"] == {"G": "G", "D": "D", "G_ema": "G_ema"}
    got = ck.load_model(child).modules
    for name in ("G", "D"):  # parameters (batch-norm running statistics move without a learning rate)
        mine = dict(got[name].named_parameters())
        for k, v in parent.modules[name].named_parameters():
            assert torch.equal(mine[k], v), f"{name}.{k}"
    # a resumed child keeps counting from its parent; "the same command plus --resume" (its --init_from
    # kept) is what the stop message tells the user to run, so it works too
    fit("gan", {"data_dir": str(tiny_fashion), "device": "cpu", "batch_size": "16", "monitor_n": "0",
                "out": str(tmp_path / "child"), "steps": "4", "resume": "true"})
    fit("gan", {"data_dir": str(tiny_fashion), "device": "cpu", "batch_size": "16", "monitor_n": "0",
                "out": str(tmp_path / "child"), "steps": "5", "resume": "true", "init_from": str(tmp_path / "parent")})
    card = ck.read_card(child)
    assert card["steps"] == 5 and card["steps_total"] == 10 and card["init_from"]["step"] == 5
    # and with a learning rate the same start trains on (the weights move)
    moved = fit("gan", {"data_dir": str(tiny_fashion), "device": "cpu", "batch_size": "16", "monitor_n": "0",
                        "out": str(tmp_path / "moved"), "steps": "3", "init_from": str(tmp_path / "parent")})
    g = ck.load_model(moved).modules["G"].state_dict()
    assert any(not torch.equal(g[k], v) for k, v in parent.modules["G"].state_dict().items())


def test_init_from_takes_the_trained_module_from_its_ema_twin(tmp_path, tiny_ldm):
    """A pipeline export keeps only `unet_ema`: the trained `unet` of the new run starts from it."""
    from trainers.core.loop import init_weights
    from trainers.families import get_family

    parent = ck.load_model(tiny_ldm["ldm"])
    modules = get_family("latent_diffusion").build(parent.cfg)
    lineage = init_weights(modules, parent)
    assert lineage["modules"]["unet"] == "unet_ema" and lineage["modules"]["unet_ema"] == "unet_ema"
    assert lineage["modules"]["vae"] == lineage["modules"]["text_encoder"] == "config"  # frozen: as built
    ref = parent.modules["unet_ema"].state_dict()
    for name in ("unet", "unet_ema"):
        for k, v in modules[name].state_dict().items():
            assert torch.equal(v, ref[k].to(v.dtype)), f"{name}.{k}"


def test_init_from_keeps_the_autoencoder_the_config_names(tmp_path, tiny_ldm):
    """Text to image continued over a retrained autoencoder: the parent's own --vae replaced the new one, so the
    U-Net went on learning the old latent space while the card named the new autoencoder."""
    import dataclasses

    from trainers.core.loop import init_weights
    from trainers.families import get_family

    parent = ck.load_model(tiny_ldm["ldm"])
    other = tmp_path / "other-vae"
    vae = ck.load_model(tiny_ldm["vae"]).modules["vae"]
    with torch.no_grad():
        for p in vae.parameters():
            p.mul_(0.5)
    vae.save_pretrained(other)
    fam = get_family("latent_diffusion")
    modules = fam.build(dataclasses.replace(parent.cfg, vae=str(other)))
    init_weights(modules, parent)
    new = dict(vae.named_parameters())
    assert all(torch.equal(p, new[k]) for k, p in modules["vae"].named_parameters())  # the new autoencoder stays
    assert not torch.equal(next(modules["vae"].parameters()), next(parent.modules["vae"].parameters()))


def test_init_from_refuses_resume_and_another_family(tmp_path, tiny_fashion, tiny_ddpm):
    base = {**GAN, "data_dir": str(tiny_fashion), "out": str(tmp_path / "x"), "steps": "2"}
    fit("gan", base)  # from scratch: resuming it "from" a checkpoint would be a lie in its card
    with pytest.raises(UserError, match="started from scratch, not --init_from=.*drop --init_from"):
        fit("gan", {**base, "steps": "3", "resume": "true", "init_from": str(tiny_ddpm)})
    with pytest.raises(UserError, match="'ddpm' model, not 'gan'"):
        fit("gan", {**base, "init_from": str(tiny_ddpm)})


def test_lr_decay_after_falls_linearly_to_zero_and_resumes_on_the_same_line(tmp_path, tiny_fashion, monkeypatch):
    """--lr_decay_after=N: the family's rates up to step N, then linearly to 0 at the run's total (CycleGAN's
    schedule); a resumed run goes on from the family's rates, not the decayed ones its optimiser state saved."""
    import trainers.gan.train as gan

    seen = []
    real_step = gan.train_step

    def recording(cfg, modules, opts, *rest):
        seen.append((opts["G"].param_groups[0]["lr"], opts["D"].param_groups[0]["lr"]))
        return real_step(cfg, modules, opts, *rest)

    monkeypatch.setattr(gan, "train_step", recording)
    base = {**GAN, "data_dir": str(tiny_fashion), "lr_g": "0.0004", "lr_d": "0.0002"}
    fit("gan", {**base, "out": str(tmp_path / "a"), "steps": "4", "lr_decay_after": "2"})
    assert np.allclose(seen, [(4e-4, 2e-4)] * 3 + [(2e-4, 1e-4)])  # steps 0-2 as set, step 3 halfway down
    seen.clear()
    fit("gan", {**base, "out": str(tmp_path / "b"), "steps": "4", "lr_decay_after": "0"})
    assert np.allclose([g for g, _ in seen], [4e-4, 3e-4, 2e-4, 1e-4])
    seen.clear()
    fit("gan", {**base, "out": str(tmp_path / "c"), "steps": "2", "lr_decay_after": "0"})  # its own line: total 2
    fit("gan", {**base, "out": str(tmp_path / "c"), "steps": "4", "lr_decay_after": "0", "resume": "true"})
    assert np.allclose([g for g, _ in seen], [4e-4, 2e-4, 2e-4, 1e-4])
    with pytest.raises(UserError, match="lr_decay_after"):
        fit("gan", {**base, "out": str(tmp_path / "d"), "steps": "4", "lr_decay_after": "-2"})
