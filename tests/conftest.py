"""Shared fixtures: tiny datasets the tests build themselves (never the full Fashion-MNIST)."""

from __future__ import annotations

import contextlib
import gzip
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def write_idx(directory: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool = True) -> None:
    """Write `images` (N, 28, 28) uint8 and `labels` (N,) as IDX files, as LeCun's format defines."""
    directory.mkdir(parents=True, exist_ok=True)
    op = gzip.open if gz else open
    suffix = ".gz" if gz else ""
    with op(directory / f"{prefix}-images-idx3-ubyte{suffix}", "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(images), 28, 28) + images.astype(np.uint8).tobytes())
    with op(directory / f"{prefix}-labels-idx1-ubyte{suffix}", "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes())


def toy_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Ten easy classes: class k is a bright horizontal bar at row 2 + 2k, plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        images[i, 2 + 2 * k: 4 + 2 * k, 4:24] = 220
    return images, labels


def make_tiny_fashion(directory: Path, n_train: int = 256, n_test: int = 100, gz: bool = True) -> Path:
    write_idx(directory, "train", *toy_images(n_train, 0), gz=gz)
    write_idx(directory, "t10k", *toy_images(n_test, 1), gz=gz)
    return directory


@pytest.fixture(scope="session")
def tiny_fashion(tmp_path_factory) -> Path:
    return make_tiny_fashion(tmp_path_factory.mktemp("tiny-fashion"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Each test stages IDX files into its own cache, so tests never see each other's data."""
    from trainers.core import data

    monkeypatch.setattr(data, "CACHE_DIR", tmp_path / "cache")


def _train_tiny(tmp_path_factory, family: str, name: str, options: dict) -> Path:
    """Train a session-wide tiny checkpoint with its own data cache (the autouse cache is per test)."""
    from trainers.core import data
    from trainers import fit

    out = tmp_path_factory.mktemp("ckpt") / name
    mp = pytest.MonkeyPatch()
    mp.setattr(data, "CACHE_DIR", tmp_path_factory.mktemp(f"{name}-cache"))
    try:
        fit(family, {**options, "out": str(out)})
    finally:
        mp.undo()
    return out


@pytest.fixture(scope="session")
def tiny_gan(tmp_path_factory, tiny_fashion) -> Path:
    """A tiny GAN checkpoint trained for a few steps on the toy data."""
    return _train_tiny(tmp_path_factory, "gan", "tiny-gan", {
        "data_dir": str(tiny_fashion), "ngf": "8", "ndf": "8", "z_dim": "16", "steps": "4", "batch_size": "16",
        "device": "cpu", "monitor_n": "0"})


TINY_DDPM = {"base": "8", "mults": "1,2", "attn_res": "8", "T": "100", "sample_steps": "5", "image_size": "16",
             "batch_size": "32", "device": "cpu", "monitor_n": "0"}


@pytest.fixture(scope="session")
def tiny_ddpm(tmp_path_factory, tiny_fashion) -> Path:
    """A tiny class-conditional DDPM (16 px, T = 100) trained 120 steps on the toy data."""
    return _train_tiny(tmp_path_factory, "ddpm", "tiny-ddpm", {
        **TINY_DDPM, "data_dir": str(tiny_fashion), "n_classes": "10", "steps": "120", "lr": "2e-3",
        "log_every": "10", "sample_every": "1000", "ckpt_every": "1000"})


@pytest.fixture(scope="session")
def tiny_ddpm_t1000(tmp_path_factory, tiny_fashion) -> Path:
    """tiny_ddpm with the full T = 1000 chain, for samplers run at the step counts the app offers."""
    return _train_tiny(tmp_path_factory, "ddpm", "tiny-ddpm-t1000", {
        **TINY_DDPM, "T": "1000", "data_dir": str(tiny_fashion), "n_classes": "10", "steps": "120", "lr": "2e-3",
        "log_every": "10", "sample_every": "1000", "ckpt_every": "1000"})


@pytest.fixture(scope="session")
def tiny_ldm(tmp_path_factory, tiny_fashion) -> dict[str, Path]:
    """The three parts of a tiny text-to-image model, each trained a few steps by its own trainer on the toy
    data: a CLIP, a KL autoencoder, and the latent U-Net on both (saved as a StableDiffusionPipeline)."""
    common = {"data_dir": str(tiny_fashion), "device": "cpu", "monitor_n": "0", "sample_every": "1000",
              "ckpt_every": "1000", "log_every": "5"}
    clip = _train_tiny(tmp_path_factory, "clip", "tiny-clip", {
        **common, "width": "32", "text_layers": "1", "vision_layers": "1", "heads": "2", "embed_dim": "16",
        "steps": "4", "batch_size": "32"})
    vae = _train_tiny(tmp_path_factory, "autoencoder_kl", "tiny-vae", {
        **common, "widths": "8,16,16", "groups": "4", "steps": "8", "batch_size": "16", "n_scale": "64"})
    ldm = _train_tiny(tmp_path_factory, "latent_diffusion", "tiny-ldm", {
        **common, "clip": str(clip), "vae": str(vae), "widths": "32,32", "head_dim": "16", "steps": "16",
        "batch_size": "16", "sample_steps": "3", "lr": "1e-3", "guidance_interval": "0.5"})
    return {"clip": clip, "vae": vae, "ldm": ldm}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_server(env: dict[str, str] | None = None, args: tuple[str, ...] = ()):
    """`python app.py` on a free loopback port with the shipped checkpoints, offline; yields (url, process).
    Its output goes to a log file (a pipe nobody reads would block the server once full), printed at the end."""
    import subprocess
    import sys
    import tempfile
    import time
    import urllib.request

    root = Path(__file__).resolve().parents[1]
    port = _free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PLAYGROUND_QUIET": "1",
           **(env or {})}
    t0 = time.monotonic()
    log = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *args], cwd=root, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() - t0 > 180:
                    proc.kill()
                    log.seek(0)
                    pytest.fail(f"app did not start:\n{log.read()[-5000:]}")
                time.sleep(0.5)
        print(f"app cold start: {time.monotonic() - t0:.1f} s")
        proc.log = log  # for `server_log` and `wait_warm`
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.seek(0)
        tail = log.read()[-3000:]
        log.close()
        if "Traceback" in tail:
            print(f"app log (tail):\n{tail}")


def server_log(proc) -> str:
    """What the `app_server` process has printed so far."""
    proc.log.flush()
    with open(f"/proc/self/fd/{proc.log.fileno()}", encoding="utf-8", errors="replace") as f:
        return f.read()


def server_tracebacks(proc, limit: int = 3000) -> str:
    """The server's tracebacks so far, for a failing test's message (the log is printed only at teardown, where
    a module's last, passing test owns the output: a CI failure said only "the app raised an exception")."""
    log = server_log(proc)
    start = log.find("Traceback")
    if start < 0:
        return ""
    # the first traceback to its exception's line, its middle cut where it is long (cut at `limit` from its start,
    # a CI failure's message ended inside the frames, before the exception it was about)
    lines, end = log[start:].splitlines(), 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    text = "\n".join(lines[:end + 1])
    if len(text) > limit:
        text = text[:limit // 3] + "\n  [...]\n" + text[-(2 * limit // 3):]
    return f"\nserver log from its first traceback:\n{text}"


def wait_warm(proc, timeout: float = 600) -> None:
    """Until the server has finished its start-up work (every tab's first result, in the background): memory
    measured before that grew with it, not with the requests."""
    import time

    from playground.app import WARM_DONE

    t0 = time.monotonic()
    while WARM_DONE not in server_log(proc):
        if proc.poll() is not None or time.monotonic() - t0 > timeout:
            pytest.fail(f"the app's start-up work did not finish in {timeout:.0f} s{server_tracebacks(proc)}")
        time.sleep(1)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def black_png(width: int, height: int, channels: int = 1) -> bytes:
    """A valid PNG (grey, or RGB with channels=3) of width x height zero pixels, a few hundred KB however large:
    every row is the same deflate block (compressed once, then repeated), and the Adler-32 of n zero bytes is
    (n << 16) | 1. A 12000 x 12000 RGB one decodes to 432 MB."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    row = deflate.compress(bytes(width * channels + 1)) + deflate.flush(zlib.Z_FULL_FLUSH)  # filter byte + pixels
    n = (width * channels + 1) * height
    idat = b"\x78\x9c" + row * height + deflate.flush() + struct.pack(">I", ((n % 65521) << 16) | 1)
    colour = {1: 0, 3: 2}[channels]
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))
