"""Gradio's own page cost, on a bare Blocks: one tiny event's input-to-paint time against how many of the page's
components an earlier event wrote.

Gradio 6.31's page keeps a loading status for every input and output of every event that has run, and on each
status change of any event (pending, started, complete) writes all of them again, each found by a walk of the
component tree (`update_loading_stati_state` → `update_state` → a depth-first search for the id, in the page's
`Blocks`/`core` scripts). The cost of a click therefore grows with what the page has already done, not with the
click: the playground's opening load event alone writes ~60 components, and a user who tries every tab has
written ~250. These rows measure that on an app with nothing else in it (500 text boxes, one 64-px image), so that
a Gradio upgrade that fixes it shows here. One more row serves the page with the playground's edits
(`playground.page.GRADIO_PAGE_EDITS`, which `python app.py` applies) on the most-written app."""

from __future__ import annotations

import statistics

from .browser import CHROMIUM, PROBE_JS, _measure

COMPONENTS = 500


def _app(written: int):
    import gradio as gr
    import numpy as np

    with gr.Blocks() as demo:
        go, seed = gr.Button("Go"), gr.Number(0, label="seed")
        out = gr.Image(elem_id="out", format="png")
        others = [gr.Textbox(f"t{i}", show_label=False) for i in range(COMPONENTS)]
        go.click(lambda s: np.full((64, 64), int(s) * 40 % 255, np.uint8), seed, out)
        if written:
            demo.load(lambda: [f"x{i}" for i in range(written)], None, others[:written])
    return demo


def _serve(body: bytes):
    """A Playwright route handler that answers with `body` as a script."""
    return lambda route: route.fulfill(body=body, content_type="text/javascript")


def bench_page(repeats: int, written: tuple[int, ...] = (60, 250)) -> list[dict]:
    import os

    if not os.path.exists(CHROMIUM):
        print(f"page rows skipped: no Chromium at {CHROMIUM}")
        return []
    from playwright.sync_api import sync_playwright

    from gradio import route_utils

    from playground.page import edited_gradio_scripts

    edited = edited_gradio_scripts(route_utils.BUILD_PATH_LIB)
    apps = {n: _app(n) for n in (0, *written)}
    urls = {n: demo.launch(prevent_thread_lock=True, quiet=True)[1] for n, demo in apps.items()}
    urls["edited"] = urls[written[-1]]  # the same server; this page's browser gets the edited scripts
    times = {n: [] for n in urls}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
            pages = {}
            for n, url in urls.items():
                page = pages[n] = browser.new_page(viewport={"width": 1400, "height": 900})
                if n == "edited":
                    for name, body in edited.items():
                        page.route(f"**/assets/{name}", _serve(body))
                page.goto(url, wait_until="load")
                page.get_by_role("button", name="Go", exact=True).wait_for(timeout=60_000)
                page.wait_for_timeout(1500)  # the load event has written its components
                page.evaluate(PROBE_JS)
            for k in range(repeats + 2):  # interleaved; the first two of each: a warm-up
                for n, page in pages.items():
                    page.get_by_label("seed").first.fill(str(k + 1))
                    ms = _measure(page, "#out", lambda: page.get_by_role("button", name="Go", exact=True).click())
                    if k >= 2:
                        times[n].append(ms)
            browser.close()
    finally:
        for demo in apps.values():
            demo.close()
    ref = statistics.median(times[0])
    names = {n: f"{n} of {COMPONENTS} written" for n in written}
    names["edited"] = f"{written[-1]} of {COMPONENTS} written, the playground's edits"
    return [{"name": f"page click->paint, {label}", "unit": "ms",
             "ours": statistics.median(times[n]), "reference": ref, "ratio": statistics.median(times[n]) / ref,
             "calls": len(times[n]), "reference_is": "the same page, no component written by an earlier event"}
            for n, label in names.items()]
