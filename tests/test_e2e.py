"""End to end: `python app.py` on loopback, called through gradio_client, and every tab opened and
screenshotted in real headless Chromium (Debian's, driven by Playwright)."""

import os
import shutil
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import app_server

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TABS = {"GAN": "GAN latent walk", "VAE": "VAE interpolation", "Translation": "Image translation",
        "Diffusion": "Diffusion: denoising", "Text to image": "CLIP-conditioned latent diffusion",
        "Compare": "Compare models side by side", "Train live": "a GAN on 2-D points", "Classifier": "The judge",
        "About": "Models shipped"}


@pytest.fixture(scope="module")
def gradio_tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("gradio-tmp")


@pytest.fixture(scope="module")
def server(gradio_tmp):
    with app_server({"GRADIO_TEMP_DIR": str(gradio_tmp)}) as (url, _):
        yield url


def test_api_through_gradio_client(server, tmp_path):
    from gradio_client import Client, handle_file

    client = Client(server, verbose=False)
    from playground.gan import NO_CLASS

    grid_path = client.predict("dcgan-ns-fashion", 7, 16, 1.0, NO_CLASS, api_name="/gan_samples")
    grid = np.asarray(Image.open(grid_path))
    assert grid.shape[0] > 32 and grid.std() > 10
    import json

    served = json.loads(Image.open(grid_path).text["playground"])  # the PNG the app served carries its settings
    assert served == {"api": "gan_samples", "inputs": {"checkpoint": "dcgan-ns-fashion", "seed": 7, "samples": 16,
                                                       "truncation": 1.0, "class": NO_CLASS}}
    again = np.asarray(Image.open(client.predict("dcgan-ns-fashion", 7, 16, 1.0, NO_CLASS, api_name="/gan_samples")))
    assert np.array_equal(grid, again)
    strip, gif, mp4, used = client.predict("dcgan-ns-fashion", "1, 2, 3", 12, "slerp", 1.0, "z", NO_CLASS, NO_CLASS,
                                           api_name="/gan_walk")
    assert used == "1, 2, 3" and Image.open(gif).n_frames > 1
    img = tmp_path / "shirt.png"
    from trainers.core.data import load_dataset

    test = load_dataset("fashion-mnist", split="test", image_size=28)
    Image.fromarray(test.images[1, 0].numpy()).save(img)  # a pullover
    label, _ = client.predict("fashion-classifier", handle_file(str(img)), "auto", api_name="/classify")
    assert label["label"] == "Pullover"
    with pytest.raises(Exception, match="not in the list of choices|unknown checkpoint"):
        client.predict("../../etc/passwd", 0, 4, 1.0, api_name="/gan_samples")
    # a streamed endpoint: the client gets the last update, which carries the run's exports
    xt, x0, text, gif, mp4 = client.predict("ddpm-fashion", 3, 2, "ddim", 20, 0.0, "Sneaker", 3.0,
                                            api_name="/ddpm_denoise")
    assert text.startswith("done: 20 steps") and Image.open(gif).n_frames == 20 and os.path.getsize(mp4) > 1000
    # the 2-D lab's play is a stream that a client can cancel, as the page's Pause does
    job = client.submit(None, "ring", "wgan-gp", "adam", 1e-3, 1e-3, 1, 2, 0, api_name="/lab_play")
    t0 = time.monotonic()
    while len(job.outputs()) < 5 and time.monotonic() - t0 < 60:
        time.sleep(0.2)
    frames_per_s = len(job.outputs()) / (time.monotonic() - t0)
    job.cancel()
    assert len(job.outputs()) >= 5, "the lab streamed no frames"
    print(f"2-D lab: {frames_per_s:.1f} frames/s through gradio_client")


def test_file_routes_serve_nothing_outside_the_app(server, gradio_tmp):
    """Traversal, absolute paths, dotfiles, the checkpoints folder (any case) and URLs through Gradio's file
    routes: none answers with content; an output the app made is served (the routes are the real ones)."""
    import urllib.error
    import urllib.parse

    from gradio_client import Client

    Client(server, verbose=False).predict("dcgan-ns-fashion", 1, 4, 1.0, "(model's own / none)", api_name="/gan_samples")
    made = next(gradio_tmp.rglob("*.png"))
    with urllib.request.urlopen(server + "gradio_api/file=" + urllib.parse.quote(str(made)), timeout=10) as r:
        assert r.status == 200 and r.read(8) == b"\x89PNG\r\n\x1a\n"  # the control: an app output is served

    secret_paths = ["/etc/passwd", "/proc/self/environ", "../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd",
                    str(ROOT / "app.py"), str(ROOT / ".git" / "config"), str(ROOT / "checkpoints" / "fashion-classifier"
                                                                          / "model.safetensors"),
                    str(ROOT / "CHECKPOINTS" / "fashion-classifier" / "card.json"),
                    str(ROOT / "Checkpoints" / "fashion-classifier" / "card.json"),
                    "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd", "//example.com/x"]
    for route in ("gradio_api/file=", "file=", "gradio_api/file/"):
        for path in secret_paths:
            url = server + route + (path if "%" in path else urllib.parse.quote(path, safe="/:"))
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    body = r.read(2000)
                    status = r.status
            except urllib.error.HTTPError as e:
                status, body = e.code, b""
            assert status >= 400 or b"root:" not in body and b"safetensors" not in body and b"import" not in body \
                and b"[core]" not in body and b"command" not in body, (url, status, body[:80])
            assert status != 200 or len(body) == 0 or b"<html" in body.lower()[:200], (url, status, body[:80])


@pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (make test installs it as root)")
def test_every_tab_renders_in_headless_chromium(server, tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server, wait_until="load", timeout=60_000)
        page.get_by_text("GAN latent walk").first.wait_for(state="visible", timeout=60_000)
        for tab, text in TABS.items():
            page.get_by_role("tab", name=tab).click()
            page.get_by_text(text).first.wait_for(state="visible", timeout=20_000)
            if tab == "GAN":
                page.get_by_role("button", name="Walk", exact=True).click()
                page.locator("#gan-walk img").first.wait_for(state="visible", timeout=30_000)
            if tab == "VAE":  # pick A and B from the gallery as a user would, then interpolate
                thumbs = page.locator(".thumbnail-item")
                thumbs.nth(0).click()
                page.wait_for_timeout(2500)  # the gallery's select event fills editor A
                page.get_by_label("B", exact=True).check()
                thumbs.nth(7).click()
                page.wait_for_timeout(2500)
                page.get_by_role("button", name="Interpolate A → B").click()
                page.locator("#vae-strip img").first.wait_for(state="visible", timeout=30_000)
                page.locator("#vae-map img").first.wait_for(state="visible", timeout=10_000)
            if tab == "Diffusion":  # watch a short DDIM run stream in
                page.get_by_role("button", name="Denoise", exact=True).click()
                page.get_by_text("done: 50 steps").wait_for(state="visible", timeout=60_000)
                page.locator("#ddpm-x0 img").first.wait_for(state="visible", timeout=10_000)
            if tab == "Text to image":  # a prompt's images stream in, then come with their CLIP scores
                page.get_by_role("button", name="Generate", exact=True).click()
                page.get_by_text("CLIP score (this project").first.wait_for(state="visible", timeout=60_000)
                page.locator("#t2i-out img").first.wait_for(state="visible", timeout=10_000)
            if tab == "Compare":
                page.get_by_role("button", name="Compare", exact=True).click()
                page.get_by_text("ms/image").first.wait_for(state="visible", timeout=30_000)
            if tab == "Train live":  # play, let it train a moment, pause
                page.get_by_role("button", name="▶ Play").click()
                page.get_by_text("modes covered").first.wait_for(state="visible", timeout=30_000)
                for _ in range(60):  # let it train past 10 steps (a loaded machine streams fewer per second)
                    page.wait_for_timeout(500)
                    if int(page.get_by_text("modes covered").first.inner_text().split()[1]) > 10:
                        break
                page.get_by_role("button", name="Pause", exact=True).click()
                page.wait_for_timeout(1000)
                status = page.get_by_text("modes covered").first.inner_text()
                page.wait_for_timeout(1500)
                assert page.get_by_text("modes covered").first.inner_text() == status  # paused: no more frames
                assert int(status.split()[1]) > 10  # it trained
            path = shots / f"tab-{tab.lower().replace(' ', '-')}.png"
            page.screenshot(path=str(path), full_page=True)
            arr = np.asarray(Image.open(path).convert("L"))
            assert arr.std() > 5, f"screenshot of tab {tab} is blank"
        browser.close()
