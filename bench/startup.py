"""The app's cold start: `python app.py` until the page answers, against the floor of importing the libraries
the app is built on (`import torch, gradio`) in a fresh interpreter, interleaved as the other rows are. Beside
it, what a Space's first visitor meets: the first click's time (GAN samples through `gradio_client`, its
connection included) and the server's resident memory once every tab's opening is made.

A Space and `make run` start from nothing each time, so each try is a new process; the operating system's file
cache is warm after the first (as on a host that has started the app before)."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PLAYGROUND_QUIET": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_start(timeout: float = 180.0, first: list | None = None) -> float:
    """Seconds from `python app.py` to the first answer of its page. With `first`, also appends (seconds of the
    first GAN-samples call, resident MB after the openings) of this start."""
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t0 > timeout:
                    raise RuntimeError("the app did not start")
                time.sleep(0.1)
        started = time.perf_counter() - t0
        if first is not None:
            from gradio_client import Client

            t1 = time.perf_counter()
            Client(f"http://127.0.0.1:{port}/", verbose=False).predict("dcgan-ns-fashion", 0, 16, 1.0,
                                                                        api_name="/gan_samples")
            click = time.perf_counter() - t1
            time.sleep(20)  # the openings and the lessons' views, made in the background at start-up
            first.append((click, _rss_mb(proc.pid)))
        return started
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def imports_only() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, gradio"], cwd=ROOT, env=ENV, check=True)
    return time.perf_counter() - t0


def bench_startup(repeats: int) -> list[dict]:
    first: list[tuple[float, float]] = []
    imports_only(), app_start(first=first)  # the file cache warm, as for every later start on the host
    ours, ref = [], []
    for _ in range(repeats):
        ours.append(app_start())
        ref.append(imports_only())
    a, b = statistics.median(ours), statistics.median(ref)
    click, rss = first[0]
    return [{"name": "app.cold_start", "unit": "s", "ours": a, "reference": b, "ratio": a / b,
             "reference_is": "a fresh interpreter's `import torch, gradio`", "max_s": max(ours),
             "first_click_s": click, "resident_mb": rss}]


if __name__ == "__main__":
    print(bench_startup(3))
