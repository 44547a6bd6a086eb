"""UI latency through the real app: each tab's main action called against `python app.py` on loopback, p50 and
p95 over repeated calls, against the bare model forward pass inside that action (measured in this process). The
difference is what the page costs: queueing, (de)serialisation, PNG/GIF/MP4 encoding, HTTP.

Two clients per action, interleaved: `ui /<api>` is gradio_client's `predict`; `http /<api>` makes the requests a
page's call makes (POST /gradio_api/queue/join in the page's session, then the session's event stream until the
event completes), with any input file uploaded once beforehand as a page does. gradio_client waits in 50-ms sleeps between
polls of its own queues (`gradio_client.utils`, `client.py`), so its rows carry a ~90-ms floor of its own: an
empty handler returning a 64-px PNG took 104 ms through it and 10 ms over plain HTTP."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict | None = None):
    """`python app.py` on a free port -> (process, url), once its start-up work is done (the log's WARM_DONE
    line): timed while the app still computed every tab's opening, the first actions shared the CPU with it.
    `env`: variables set for the app beside the bench's own."""
    import tempfile

    from playground.app import WARM_DONE

    port = _free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PLAYGROUND_QUIET": "1",
           **(env or {})}
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-app-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    url, t0 = f"http://127.0.0.1:{port}/", time.monotonic()
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            if WARM_DONE in Path(log.name).read_text(errors="replace"):
                return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() - t0 > 300:
            proc.kill()
            raise RuntimeError(f"the app did not start, or its start-up work did not finish (log: {log.name})")
        time.sleep(0.5)


def _percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def _uploaded(http, url: str, value):
    """A gradio_client argument with its files (handle_file dicts) uploaded, as the REST API takes them."""
    if isinstance(value, dict) and value.get("meta", {}).get("_type") == "gradio.FileData":
        with open(value["path"], "rb") as f:
            path = http.post(f"{url}gradio_api/upload", files={"files": (Path(value["path"]).name, f)}).json()[0]
        return {"path": path, "meta": {"_type": "gradio.FileData"}}
    if isinstance(value, dict):
        return {k: _uploaded(http, url, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_uploaded(http, url, v) for v in value]
    return value


def _http_call(http, url: str, api: str, data: list, session: str = "bench", shown: str | None = None) -> float | None:
    """One call as the page makes it: POST /gradio_api/queue/join with the event's function and the page's
    session, then the session's event stream read until that event completes. (Gradio's REST API,
    /gradio_api/call/<api>, starts a new session each call, which builds the state of all ~500 components:
    ~35 ms a call that a page pays once.) With `shown`, the seconds until the first update whose message holds
    that text (None if none did)."""
    import json

    fn_index, states = _fn_indices(http, url)[api]
    data = list(data)
    for k in states:  # a page sends its State inputs' places as null (gradio_client leaves them out)
        data.insert(k, None)
    t0, seen = time.perf_counter(), None
    event = http.post(f"{url}gradio_api/queue/join", json={
        "data": data, "fn_index": fn_index, "session_hash": session, "event_data": None,
        "trigger_id": None}).json()["event_id"]
    with http.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            if shown is not None and seen is None and shown in line:
                seen = time.perf_counter() - t0
            msg = json.loads(line[5:])
            if msg.get("event_id") == event and msg.get("msg") == "process_completed":
                if not msg.get("success"):
                    raise RuntimeError(f"/{api} over HTTP failed: {str(msg.get('output'))[:200]}")
                return seen
    raise RuntimeError(f"/{api} over HTTP: the stream ended before the event completed")


_FN_INDICES: dict[str, dict[str, tuple[int, list[int]]]] = {}


def _fn_indices(http, url: str) -> dict[str, tuple[int, list[int]]]:
    """api name -> (the dependency's index, the places of its State inputs), from the page's config (what a
    browser reads once)."""
    if url not in _FN_INDICES:
        config = http.get(f"{url}config").json()
        kinds = {c["id"]: c.get("type") for c in config["components"]}
        _FN_INDICES[url] = {d["api_name"]: (d["id"], [k for k, i in enumerate(d["inputs"]) if kinds.get(i) == "state"])
                            for d in config["dependencies"] if d.get("api_name")}
    return _FN_INDICES[url]


# the update that first shows a streamed action's result, before the exports it goes on to make: the walk's and
# the interpolation's frames (their first update), the DDIM run's garment (then its GIF and MP4 are encoded)
SHOWN = {"gan_walk": "process_generating", "vae_interpolate": "process_generating", "ddpm_denoise": "making the GIF"}


def bench_ui(repeats: int) -> list[dict]:
    from gradio_client import Client, handle_file

    from playground.classifier import EXAMPLES
    from playground.gan import NO_CLASS
    from playground.models import ModelStore
    from trainers.ddpm.samplers import guided_eps, timesteps
    from trainers.ddpm.train import guidance_t_max

    store = ModelStore()
    example = str(sorted(EXAMPLES.glob("*.png"))[7])
    gan = store.get("dcgan-ns-fashion").modules["G_ema"].eval()
    vae = store.get("vae-conv16-fashion").modules["ae"].eval()
    clf = store.get("fashion-classifier").modules["net"].eval()
    ddpm = store.get("ddpm-fashion") if "ddpm-fashion" in store.names() else None

    def bare_gan(n):
        with torch.no_grad():
            gan(torch.randn(n, gan.z_dim))

    def bare_ddpm(steps):
        eps = guided_eps(ddpm.modules["unet_ema"].eval(), torch.tensor([7]), ddpm.cfg.n_classes, 3.0,
                         guidance_t_max(ddpm.cfg))  # as the tab guides
        with torch.no_grad():
            for t in timesteps(1000, steps):  # the DDIM steps the tab runs (15 of 50 below t = 300)
                eps(torch.randn(1, 1, 32, 32), torch.full((1,), t))

    actions = [
        ("gan_samples", ("dcgan-ns-fashion", 0, 16, 1.0, NO_CLASS), lambda: bare_gan(16), "G forward, 16 codes"),
        ("gan_walk", ("dcgan-ns-fashion", "1, 2, 3", 16, "slerp", 1.0, "z", NO_CLASS, NO_CLASS),
         lambda: bare_gan(16), "G forward, 16 codes"),
        ("vae_prior_samples", ("vae-conv16-fashion", 0, 16), torch.no_grad()(lambda: vae.decode(torch.randn(16, 16))),
         "decoder forward, 16 codes"),
        ("classify", ("fashion-classifier", handle_file(example), "auto"),
         torch.no_grad()(lambda: clf(torch.randn(1, 1, 32, 32))), "classifier forward, 1 image"),
        ("ddpm_forward", (handle_file(example), 250, "linear", 0), lambda: torch.randn(8, 1, 32, 32) * 0.5,
         "one noise draw"),
        ("compare", (["dcgan-ns-20min-fashion", "dcgan-lsgan-20min-fashion"], 0, 16, "(any)", 50, 3.0),
         lambda: (bare_gan(16), bare_gan(16)), "2 x G forward, 16 codes"),
    ]
    from trainers.core.checkpoint import read_card
    from trainers.gan import toy2d

    lab = toy2d.Lab(toy2d.LabConfig())
    editor = {"background": handle_file(example), "layers": [], "composite": handle_file(example)}
    other = {"background": handle_file(str(sorted(EXAMPLES.glob("*.png"))[1])), "layers": [],
             "composite": handle_file(str(sorted(EXAMPLES.glob("*.png"))[1]))}
    actions += [
        ("vae_interpolate", ("ae-conv16-fashion", "vae-conv16-fashion", editor, other, 10, "slerp"),
         torch.no_grad()(lambda: vae.decode(torch.randn(20, 16))), "decoder forward, 2 x 10 codes"),
        ("lab_step", (None, 1, "ring", "non-saturating", "adam", 1e-3, 1e-3, 1, 2, 0), lambda: lab.run(1),
         "one 2-D GAN training step"),
        ("model_card", ("dcgan-ns-fashion",), lambda: read_card(store.path("dcgan-ns-fashion")), "reading card.json"),
    ]
    p2p = store.get("pix2pix-sketches-fashion").modules["G"].eval() if "pix2pix-sketches-fashion" in store.names() else None
    if p2p is not None:  # the Translation tab
        actions.append(("pix2pix", ("pix2pix-sketches-fashion", handle_file(example), "auto", False, 0, True),
                        torch.no_grad()(lambda: p2p(torch.randn(1, 1, 32, 32))), "generator forward, 1 image"))
    if "ldm-fashion-captions" in store.names():  # the Text to image tab: the pipeline call with the same settings
        from trainers.latent_diffusion.sampling import make_pipeline

        ldm = store.get("ldm-fashion-captions")
        pipe = make_pipeline(ldm.cfg, ldm.modules, "ddim")
        pipe.set_progress_bar_config(disable=True)
        actions.append(("text_to_image", ("ldm-fashion-captions", "", "a small red sneaker", "", 3.0, 30, "ddim", 0, 4),
                        lambda: pipe("a small red sneaker", num_inference_steps=30, guidance_scale=3.0,
                                     num_images_per_prompt=4, generator=torch.Generator().manual_seed(0)),
                        "StableDiffusionPipeline call, 4 images, 30 steps"))
    if ddpm is not None:
        actions.append(("ddpm_denoise", ("ddpm-fashion", 0, 1, "ddim", 50, 0.0, "Sneaker", 3.0),
                        lambda: bare_ddpm(50), "50 U-Net calls, guided as the tab guides, 1 image"))
    import httpx

    proc, url = _serve()
    rows = []
    try:
        client = Client(url, verbose=False)
        http = httpx.Client(timeout=300)
        for api, args, bare, what in actions:
            client.predict(*args, api_name=f"/{api}")  # warm-up (model load, caches)
            data = _uploaded(http, url, list(args))
            _http_call(http, url, api, data)
            times, direct, ref, shown = [], [], [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                client.predict(*args, api_name=f"/{api}")
                times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                shown.append(_http_call(http, url, api, data, shown=SHOWN.get(api)))
                direct.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                bare()
                ref.append(time.perf_counter() - t0)
            r50 = statistics.median(ref)
            for kind, measured in (("ui", times), ("http", direct), ("shown", shown if api in SHOWN else None)):
                if measured is None:
                    continue
                p50, p95 = _percentiles(measured)
                rows.append({"name": f"{kind} /{api}", "unit": "ms", "ours": p50 * 1e3, "reference": r50 * 1e3,
                             "ratio": p50 / r50, "p95_ms": p95 * 1e3, "calls": len(measured),
                             "reference_is": f"bare {what}; p95 {p95 * 1e3:.0f} ms"})
        http.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows


def bench_threads(repeats: int) -> list[dict]:
    """The app as `python app.py` starts it (one OpenMP thread per handler thread, `OMP_NUM_THREADS` 1 unless
    set) against the same app with OMP_NUM_THREADS=2, both served at once and called in turn over HTTP as a page
    calls them. Gradio runs handlers in worker threads, where torch's OpenMP regions cost 40-90 us each on this
    machine (app.py's comment). The DDIM run is timed twice: to its result on the page (the update saying
    "making the GIF"), and to the end with its GIF and MP4."""
    import httpx
    from gradio_client import handle_file

    from playground.classifier import EXAMPLES
    from playground.gan import NO_CLASS

    example = str(sorted(EXAMPLES.glob("*.png"))[7])
    actions = [("ddpm_denoise", ("ddpm-fashion", 0, 1, "ddim", 50, 0.0, "Sneaker", 3.0), "making the GIF"),
               ("text_to_image", ("ldm-fashion-captions", "", "a small red sneaker", "", 3.0, 30, "ddim", 0, 4), None),
               ("gan_samples", ("dcgan-ns-fashion", 0, 16, 1.0, NO_CLASS), None),
               ("classify", ("fashion-classifier", handle_file(example), "auto"), None)]
    apps = {}
    try:
        for label, env in (("ours", {}), ("reference", {"OMP_NUM_THREADS": "2"})):
            apps[label] = _serve(env)
        http = httpx.Client(timeout=300)
        rows = []
        for api, args, shown in actions:
            data = {label: _uploaded(http, url, list(args)) for label, (_, url) in apps.items()}
            for label, (_, url) in apps.items():  # warm-up
                _http_call(http, url, api, data[label])
            done: dict = {label: [] for label in apps}
            seen: dict = {label: [] for label in apps}
            for _ in range(repeats):
                for label, (_, url) in apps.items():
                    t0 = time.perf_counter()
                    seen[label].append(_http_call(http, url, api, data[label], shown=shown))
                    done[label].append(time.perf_counter() - t0)
            series = [(f"/{api}", done)]
            if shown is not None:
                series.insert(0, (f"/{api} to its result", seen))
            for name, times in series:
                ours, ref = (statistics.median(times[k]) * 1e3 for k in ("ours", "reference"))
                rows.append({"name": f"threads {name}", "unit": "ms", "ours": ours, "reference": ref,
                             "ratio": ours / ref, "p95_ms": _percentiles(times["ours"])[1] * 1e3,
                             "calls": repeats, "reference_is": "the same app with OMP_NUM_THREADS=2, over HTTP"})
        http.close()
    finally:
        for proc, _ in apps.values():
            proc.terminate()
            proc.wait(timeout=30)
    return rows
