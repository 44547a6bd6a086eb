import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=ROOT, env_extra=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "trainers", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_sample_is_deterministic_and_has_the_contract_shape(tmp_path, tiny_gan):
    outs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        r = cli("sample", tiny_gan, "--n", "6", "--seed", seed, "--out", tmp_path / f"{name}.npz")
        assert r.returncode == 0, r.stderr
        with np.load(tmp_path / f"{name}.npz") as f:
            outs.append(f["images"])
    assert outs[0].shape == (6, 32, 32) and outs[0].dtype == np.uint8
    assert np.array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])
    r = cli("sample", tiny_gan, "--n=2", "--seed=3", "--truncation=0.5", f"--out={tmp_path / 't.npz'}")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["truncation"] == 0.5


@pytest.mark.parametrize("args, message", [
    (["--n", "2", "--seed", "0", "--bogus=1"], "unknown option --bogus"),
    (["--n", "2", "--seed", "0", "--label", "3"], "unconditional"),
    (["--n", "0", "--seed", "0"], "out of range"),
    (["--n", "2", "--seed", "0", "--truncation=nan"], "finite"),
])
def test_sample_errors_are_one_line_without_traceback(tmp_path, tiny_gan, args, message):
    r = cli("sample", tiny_gan, *args, "--out", tmp_path / "x.npz")
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_missing_checkpoint_and_translate_on_a_gan(tmp_path, tiny_gan):
    r = cli("sample", tmp_path / "nope", "--n", "1", "--seed", "0", "--out", tmp_path / "x.npz")
    assert r.returncode == 2 and "does not exist" in r.stderr
    np.savez(tmp_path / "in.npz", images=np.zeros((1, 32, 32), np.uint8))
    r = cli("translate", tiny_gan, "--input", tmp_path / "in.npz", "--out", tmp_path / "o.npz")
    assert r.returncode == 2 and "does not translate" in r.stderr


def test_evaluate_writes_metrics_into_the_card(tmp_path, tiny_gan):
    ckpt = tmp_path / "gan"
    shutil.copytree(tiny_gan, ckpt)
    r = cli("evaluate", ckpt, "--n", "64", env_extra={"PLAYGROUND_DATA_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)
    assert metrics["fid"] > 0 and 0 <= metrics["class_entropy"] <= np.log(10) + 1e-6
    card = json.loads((ckpt / "card.json").read_text())
    assert card["metrics"]["fid"] == metrics["fid"] and "evaluate" in card["evaluate_command"]


def test_evaluate_with_a_second_judge_records_its_verdicts_beside_the_first(tmp_path, tiny_gan, tiny_fashion):
    ckpt, judge = tmp_path / "gan", tmp_path / "judge-mlp"
    shutil.copytree(tiny_gan, ckpt)
    r = cli("train", "classifier", f"--data_dir={tiny_fashion}", "--arch=mlp", "--width=4", "--feature_dim=16",
            "--steps=5", "--batch_size=16", f"--out={judge}", "--monitor_n=0")
    assert r.returncode == 0, r.stderr
    before = json.loads((ckpt / "card.json").read_text())
    env = {"PLAYGROUND_DATA_CACHE": str(tmp_path / "cache")}
    r = cli("evaluate", ckpt, "--n", "64", "--judge", judge, env_extra=env)
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)
    card = json.loads((ckpt / "card.json").read_text())
    assert card.get("metrics") == before.get("metrics")  # the shipped judge's numbers stay as they were
    judged = card["judged_by"]["judge-mlp"]
    assert judged["fid"] == metrics["fid"] and judged["command"].endswith(f"--judge {judge}")
    r = cli("evaluate", ckpt, "--n", "64", "--judge", ckpt, env_extra=env)
    assert r.returncode == 2 and "not a classifier" in r.stderr


def test_train_via_cli_then_resume(tmp_path, tiny_fashion):
    out = tmp_path / "run"
    common = ["--data_dir", tiny_fashion, "--ngf=8", "--ndf=8", "--z_dim=16", "--batch_size=16", f"--out={out}", "--monitor_n=0"]
    r = cli("train", "gan", *common, "--steps=2")
    assert r.returncode == 0, r.stderr
    r = cli("train", "gan", *common, "--steps=4", "--resume")
    assert r.returncode == 0, r.stderr
    card = json.loads((out / "card.json").read_text())
    assert card["steps"] == 4 and card["command"][1].endswith("--resume")


def test_translate_with_a_denoising_autoencoder(tmp_path, tiny_fashion):
    out = tmp_path / "dae"
    r = cli("train", "vae", f"--data_dir={tiny_fashion}", "--variational=false", "--noise_std=0.3", "--width=8",
            "--latent_dim=8", "--steps=2", "--batch_size=32", f"--out={out}", "--monitor_n=0")
    assert r.returncode == 0, r.stderr
    np.savez(tmp_path / "in.npz", images=np.full((3, 32, 32), 200, np.uint8))
    r = cli("translate", out, "--input", tmp_path / "in.npz", "--out", tmp_path / "o.npz")
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "o.npz") as f:
        assert f["images"].shape == (3, 32, 32) and f["images"].dtype == np.uint8
    r = cli("translate", out, "--input", tmp_path / "in.npz", "--direction=BtoA", "--out", tmp_path / "o.npz")
    assert r.returncode == 2 and "one way" in r.stderr
    # what a user has: Fashion-MNIST's own 28x28 images, or RGB photos, for a model trained at 32 px
    for shape in [(3, 28, 28), (2, 100, 60, 3)]:
        np.savez(tmp_path / "in.npz", images=np.full(shape, 200, np.uint8))
        r = cli("translate", out, "--input", tmp_path / "in.npz", "--out", tmp_path / "o.npz")
        assert r.returncode == 0 and "resized" in r.stderr and "as training resized" in r.stderr, r.stderr
        with np.load(tmp_path / "o.npz") as f:
            assert f["images"].shape == (shape[0], 32, 32)
    np.savez(tmp_path / "in.npz", images=np.zeros((1, 4096, 8), np.uint8))  # beyond reason: a clear refusal
    r = cli("translate", out, "--input", tmp_path / "in.npz", "--out", tmp_path / "o.npz")
    assert r.returncode == 2 and "px a side" in r.stderr
