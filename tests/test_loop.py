import csv

import pytest
import torch

from trainers.core import checkpoint as ck
from trainers.core.errors import TrainingDiverged, UserError
from trainers.core.loop import fit

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


def test_unknown_option_names_valid_ones(tiny_fashion):
    with pytest.raises(UserError, match="--lrr.*--lr_g"):
        fit("gan", {"lrr": "1"})


def test_classifier_learns_on_toy_data(tmp_path, tiny_fashion):
    """Loss falls and accuracy on held-out toy images beats chance by far."""
    from trainers.classifier.train import predict
    from trainers.core.data import load_dataset

    out = tmp_path / "clf"
    fit("classifier", {"data_dir": str(tiny_fashion), "out": str(out), "width": "8", "feature_dim": "32",
                       "steps": "60", "batch_size": "32", "log_every": "10", "sample_every": "1000",
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
