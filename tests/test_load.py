"""Load (issue 9, promise 6), through `gradio_client` against `python app.py` on loopback with the shipped
models: 25 concurrent clients per tab at its cheapest settings finish with zero errors; past the queue's size,
clients get a "queue full" answer quickly instead of hanging; two identical batches of 100 requests grow the
server's resident memory by under 5% and leave the temporary files where they were; 25 clients uploading a
12000 x 12000 RGB PNG at once (432 MB decoded, each) are all refused by the header check, and the server's peak
resident memory grows by under 300 MB (issue 21)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import app_server, black_png, server_log, server_tracebacks, wait_warm

CLIENTS = 25


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("load")
    (tmp / "tmp").mkdir()
    env = {"GRADIO_TEMP_DIR": str(tmp / "gradio"), "TMPDIR": str(tmp / "tmp")}  # the app's exports go in TMPDIR
    with app_server(env) as (url, proc):
        # the measures are of the requests: the app's own start-up work (openings, lesson views) also takes
        # the CPU and grows memory while it runs
        wait_warm(proc)
        yield url, proc, tmp


def test_the_apps_start_up_prints_no_warning(served):
    """Its log through the start-up work (every tab's opening, every lesson view): no warning from us or a
    library (a tensor-copy UserWarning and diffusers' scheduler FutureWarning were printed once; they are fixed
    at their causes, not filtered). First in the module: the log is the start-up's alone."""

    log = server_log(served[1])
    assert "start-up work done" in log
    said = [line for line in log.splitlines() if "Warning" in line or "warnings.warn" in line]
    assert not said, "\n".join(said[:10])


@pytest.fixture(scope="module")
def clients(served):
    """CLIENTS gradio_client sessions, connected once (a Client fetches the app's whole config)."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: _client(served[0]), range(CLIENTS)))


@pytest.fixture(scope="module")
def garment(tmp_path_factory) -> str:
    from trainers.core.data import load_dataset

    path = tmp_path_factory.mktemp("upload") / "sneaker.png"
    Image.fromarray(load_dataset("fashion-mnist", split="test", image_size=28).images[9, 0].numpy()).save(path)
    return str(path)


def calls(garment: str) -> dict[str, tuple[str, callable]]:
    """Each tab's main action at its cheapest settings: tab -> (api name, seed -> arguments)."""
    from gradio_client import handle_file

    from playground.gan import NO_CLASS

    return {
        "GAN": ("/gan_samples", lambda s: ("dcgan-ns-fashion", s, 1, 1.0, NO_CLASS)),
        "VAE": ("/vae_prior_samples", lambda s: ("vae-conv16-fashion", s, 1)),
        "Translation": ("/cyclegan", lambda s: ("cyclegan-sneaker-boot-fashion", handle_file(garment), "A", "auto")),
        "Diffusion": ("/ddpm_denoise", lambda s: ("ddpm-fashion", s, 1, "ddim", 2, 0.0, "Sneaker", 1.0)),
        "Inpaint & upscale": ("/upscale", lambda s: (handle_file(garment), "×4: 8 → 32 px", s)),  # ILVR: 50 steps
        "Text to image": ("/text_to_image", lambda s: ("ldm-fashion-captions", "", "a red sneaker", "", 3.0, 2, "ddim",
                                                       s, 1)),
        "Text to image → unCLIP": ("/unclip_variations", lambda s: ("unclip-decoder-fashion", handle_file(garment),
                                                                    "blue", "large", s, 1, 3.0, 2)),
        "Compare": ("/compare", lambda s: (["dcgan-ns-fashion", "vae-conv16-fashion"], s, 1, "(any)", 5, 1.0)),
        "Train live": ("/lab_step", lambda s: (None, 1, "ring", "non-saturating", "adam", 1e-3, 1e-3, 1, 2, s)),
        "Classifier": ("/classify", lambda s: ("fashion-classifier", handle_file(garment), "auto")),
        "About": ("/model_card", lambda s: ("dcgan-ns-fashion",)),
    }


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def test_25_concurrent_clients_per_tab_all_succeed(clients, served, garment):
    report = {}
    for tab, (api, args) in calls(garment).items():
        barrier = threading.Barrier(CLIENTS)

        def one(i):
            barrier.wait(timeout=60)  # the requests arrive together
            t0 = time.monotonic()
            try:
                clients[i].predict(*args(i), api_name=api)
                return None, time.monotonic() - t0
            except Exception as e:  # any error counts against the promise; say which
                return f"{type(e).__name__}: {str(e)[:200]}", time.monotonic() - t0

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(one, range(CLIENTS)))
        errors = [e for e, _ in results if e]
        report[tab] = (len(results) - len(errors), max(t for _, t in results))
        assert not errors, (f"{tab} ({api}): {len(errors)} of {CLIENTS} clients failed, e.g. {errors[0]}"
                            f"{server_tracebacks(served[1])}")
    print("\n" + "\n".join(f"{tab}: {ok}/{CLIENTS} ok, slowest {t:.1f} s" for tab, (ok, t) in report.items()))


def test_past_the_queue_size_clients_are_told_the_queue_is_full(clients, served):
    """Each client sends three requests at once (75 in all, the queue holds QUEUE_MAX_SIZE): the ones past the
    queue's size are refused at once with "queue full"; the rest are served; the app then answers normally."""
    from gradio_client.utils import QueueError

    from playground.app import QUEUE_MAX_SIZE

    barrier = threading.Barrier(CLIENTS)

    def send(i):
        barrier.wait(timeout=60)
        t0, finished = time.monotonic(), {}
        jobs = [clients[i].submit("ddpm-fashion", 3 * i + k, 1, "ddim", 10, 0.0, "Sneaker", 1.0,
                                  api_name="/ddpm_denoise") for k in range(3)]
        for k, job in enumerate(jobs):  # when each answer came, whatever order they are read in
            job.future.add_done_callback(lambda _, k=k: finished.setdefault(k, time.monotonic() - t0))
        out = []
        for k, job in enumerate(jobs):
            try:
                job.result(timeout=300)
                kind = "done"
            except QueueError:
                kind = "full"
            except Exception as e:
                kind = f"{type(e).__name__}: {str(e)[:200]}"
            out.append((kind, finished.get(k, time.monotonic() - t0)))
        return out

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = [r for rs in pool.map(send, range(CLIENTS)) for r in rs]
    kinds = [k for k, _ in results]
    full_times = [t for k, t in results if k == "full"]
    assert set(kinds) <= {"done", "full"}, [k for k in kinds if k not in ("done", "full")][:3]
    assert kinds.count("full") >= 1 and kinds.count("done") >= QUEUE_MAX_SIZE // 2, kinds
    print(f"\n{len(kinds)} requests at once: {kinds.count('done')} served, {kinds.count('full')} told 'queue full'"
          f" (slowest such answer {max(full_times):.2f} s)")
    # a refusal comes as soon as the queue is full, not after the queue drains
    assert max(full_times) < max(t for k, t in results if k == "done")
    # and the app serves the next request normally
    out = clients[0].predict("dcgan-ns-fashion", 0, 1, 1.0, "(model's own / none)", api_name="/gan_samples")
    assert np.asarray(Image.open(out)).std() > 0


def test_two_identical_batches_of_100_requests_leave_memory_and_files_flat(served, garment):
    url, proc, tmp = served
    # the lab keeps a session's training state (a step continues it): its reset is the repeatable request
    plan = {**calls(garment), "Train live": ("/lab_reset", lambda s: (None, "ring", "non-saturating", "adam", 1e-3,
                                                                      1e-3, 1, 2, s))}
    plan = list(plan.values())
    four = [_client(url) for _ in range(4)]

    def batch():
        def one(i):
            api, args = plan[i % len(plan)]
            try:
                four[i % 4].predict(*args(i % 7), api_name=api)
            except Exception as e:  # which request, and what the server said
                raise AssertionError(f"{api} failed: {type(e).__name__}: {e}{server_tracebacks(proc)}") from e

        with ThreadPoolExecutor(4) as pool:  # four at a time: the app's concurrency is 2 per event
            list(pool.map(one, range(100)))

    batch()
    batch()
    rss1, files1 = _rss_kib(proc.pid), {**_files(tmp / "gradio"), **_files(tmp / "tmp")}
    batch()
    rss2, files2 = _rss_kib(proc.pid), {**_files(tmp / "gradio"), **_files(tmp / "tmp")}
    growth = (rss2 - rss1) / rss1
    print(f"\nresident memory after 100 requests {rss1 / 1024:.0f} MiB, after 200 {rss2 / 1024:.0f} MiB "
          f"({100 * growth:+.2f}%); temporary files {len(files1)} -> {len(files2)}, "
          f"{sum(files1.values()) / 1e6:.2f} -> {sum(files2.values()) / 1e6:.2f} MB")
    assert growth < 0.05
    assert set(files2) == set(files1), sorted(set(files2) ^ set(files1))[:5]  # the same requests: the same files


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def test_25_clients_uploading_a_432_mb_image_at_once_leave_memory_bounded(clients, served, garment, tmp_path):
    """Each of 25 clients sends a 12000 x 12000 RGB PNG (a few hundred KB on the wire, 432 MB if decoded) to the
    classifier at the same moment. Every one gets the app's "too large" message, the server's *peak* resident
    memory (VmHWM, reset first) grows by under 300 MB, and the next normal request returns what it did before."""
    from gradio_client import handle_file

    url, proc, _ = served
    big = tmp_path / "huge.png"
    big.write_bytes(black_png(12000, 12000, channels=3))
    before = clients[0].predict("fashion-classifier", handle_file(garment), "auto", api_name="/classify")
    base = _rss_kib(proc.pid)
    with open(f"/proc/{proc.pid}/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current resident size
    barrier = threading.Barrier(CLIENTS)

    def one(i):
        barrier.wait(timeout=60)
        try:
            clients[i].predict("fashion-classifier", handle_file(str(big)), "auto", api_name="/classify")
            return "accepted"
        except Exception as e:
            return str(e)

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(one, range(CLIENTS)))
    peak = _peak_rss_kib(proc.pid)
    print(f"\n25 uploads of a 12000x12000 RGB PNG ({big.stat().st_size / 1e3:.0f} KB): resident {base / 1024:.0f} "
          f"MiB before, peak {peak / 1024:.0f} MiB during (+{(peak - base) / 1024:.0f} MiB); e.g. {answers[0][:160]!r}")
    assert all("too large" in a for a in answers), [a for a in answers if "too large" not in a][:2]
    assert all("144,000,000 pixels (max " in a for a in answers), answers[0]  # names the problem and the limit
    assert (peak - base) / 1024 < 300
    after = clients[0].predict("fashion-classifier", handle_file(garment), "auto", api_name="/classify")
    assert after == before

