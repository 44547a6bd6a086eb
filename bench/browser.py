"""What a user waits for in a real browser: from the input event (the click, the key on a slider, the option
picked) to the new image painted, in headless Chromium (Playwright) on `python app.py`, per tab.

The page records the input event's own timestamp (a capture listener on the document), watches the output's
<img> for its new `src`, waits for it to decode and for the frame after it to be painted (two animation frames),
and reports the difference. Each row's reference is the same action made over plain HTTP as a page makes it
(`ui._http_call`: queue/join, then the event stream), interleaved: the ratio is how much the page's own work
(rendering the update, decoding the image, painting) adds to the server's round trip."""

from __future__ import annotations

import contextlib
import os
import statistics
import time

from .ui import _fn_indices, _http_call, _percentiles, _serve, _uploaded

CHROMIUM = os.environ.get("PLAYGROUND_CHROMIUM", "/usr/bin/chromium")

# the probe: `__arm(selector)` before the input; `__probe.done - __probe.t0` once the new image is on screen
PROBE_JS = """() => {
  if (window.__probe) return;
  const p = window.__probe = {t0: null, done: null, armed: false};
  for (const type of ['pointerdown', 'keydown'])
    document.addEventListener(type, e => { if (p.armed && p.t0 === null) p.t0 = e.timeStamp; }, true);
  window.__arm = sel => {
    const box = document.querySelector(sel);
    const before = (box.querySelector('img') || {}).src;
    Object.assign(p, {t0: null, done: null, armed: true, seen: false});
    const obs = new MutationObserver(() => {
      const img = box.querySelector('img');
      if (!img || img.src === before || p.seen) return;
      p.seen = true;
      obs.disconnect();
      const painted = () => requestAnimationFrame(() => requestAnimationFrame(() => {
        p.done = performance.now(); p.armed = false; }));
      img.decode().then(painted, painted);
    });
    obs.observe(box, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  };
}"""


def _visible(page, locator):
    return locator.locator("visible=true").first


def _open(page, tab: str, sub: str | None = None) -> None:
    page.get_by_role("tab", name=tab, exact=True).first.click()
    if sub:
        page.get_by_role("tab", name=sub, exact=True).first.click()
    page.wait_for_timeout(800)


def _measure(page, selector: str, act) -> float:
    """ms from the input event `act` makes to the new image under `selector` painted."""
    page.evaluate("s => window.__arm(s)", selector)
    act()
    page.wait_for_function("() => window.__probe.done !== null && window.__probe.t0 !== null", timeout=60_000)
    return page.evaluate("() => window.__probe.done - window.__probe.t0")


def _actions(page, store):
    """(row name, what the reference is, selector, prepare (once), act(k), http call (api, args(k))) per tab."""
    from playground.classifier import EXAMPLES
    from playground.gan import N_DIRECTIONS, NO_CLASS

    examples = sorted(str(p) for p in EXAMPLES.glob("*.png"))
    models = ["dcgan-ns-fashion", "vae-conv16-fashion"]

    def sample(k):
        seed = _visible(page, page.get_by_label("seed", exact=True))
        seed.fill(str(k + 1))
        page.get_by_role("button", name="Sample", exact=True).click()

    def slider(label, k):
        box = _visible(page, page.get_by_role("slider", name=label))
        box.focus()
        box.press("ArrowRight" if k % 2 == 0 else "ArrowLeft")

    def direction_args(k):
        amount = 0.25 if k % 2 == 0 else 0.0
        return ("dcgan-ns-fashion", 0, 1.0, "z", NO_CLASS, amount, *[0.0] * (N_DIRECTIONS - 1))

    def card(k):  # the dropdown opened before the probe is armed: the option's click is the input
        page.get_by_role("option", name=models[k % 2], exact=True).click()

    def open_cards(k):
        _visible(page, page.get_by_label("checkpoint", exact=True)).click()

    def classify(k):
        page.get_by_role("button", name="Classify image", exact=True).click()

    def pick_example(k):  # before the probe: the example fills the input; the button is the input measured
        page.locator(".gallery-item, button.gallery-item, [data-testid='example']").locator("visible=true").nth(
            k % 2 * 5).click()
        page.wait_for_timeout(600)

    return [
        ("GAN: Sample (16 garments)", ("GAN", "Samples"), "#gan-samples", None, sample,
         ("gan_samples", lambda k: ("dcgan-ns-fashion", k + 1, 16, 1.0, NO_CLASS))),
        ("GAN: a direction slider, one key step", ("GAN", "Directions"), "#gan-edit", None,
         lambda k: slider("principal direction 1 (σ)", k), ("gan_edit", direction_args)),
        ("Diffusion: the forward-process t slider, one key step", ("Diffusion", "Forward process"),
         "#ddpm-forward", None, lambda k: slider("t", k),
         ("ddpm_forward", lambda k: ({"path": examples[7], "meta": {"_type": "gradio.FileData"}}, 250 + k % 2,
                                     "linear", 0))),
        ("Train live: Step (2-D lab)", ("Train live", "2-D points"), "#lab-plane", None,
         lambda k: page.get_by_role("button", name="Step ×").click(),
         ("lab_step", lambda k: (None, 1, "ring", "non-saturating", "adam", 1e-3, 1e-3, 1, 2, 0))),
        ("Classifier: Classify image", ("Classifier", "Upload"), "#clf-seen", pick_example, classify,
         ("classify", lambda k: ("fashion-classifier", {"path": examples[k % 2 * 5], "meta": {"_type":
                                                                                              "gradio.FileData"}},
                                 "auto"))),
        ("About: another model's card", ("About", None), "#about-samples", open_cards, card,
         ("model_card", lambda k: (models[k % 2],))),
    ]


@contextlib.contextmanager
def _app_page():
    """`python app.py` served, an HTTP client that knows its events, and a Chromium page (1400 x 900) on it with
    the first tab shown -> (page, http, url); everything closed after."""
    import httpx
    from playwright.sync_api import sync_playwright

    proc, url = _serve()
    try:
        with httpx.Client(timeout=300) as http, sync_playwright() as p:
            _fn_indices(http, url)
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url, wait_until="load")
            page.get_by_text("The course, live").first.wait_for(timeout=120_000)
            yield page, http, url
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_browser(repeats: int) -> list[dict]:
    """One row per tab's main action: input-to-paint median (p95) in Chromium, against the same action's
    round trip over plain HTTP as the page makes it."""
    if not os.path.exists(CHROMIUM):
        print(f"browser rows skipped: no Chromium at {CHROMIUM} (PLAYGROUND_CHROMIUM names another)")
        return []
    rows = []
    with _app_page() as (page, http, url):
        page.evaluate(PROBE_JS)
        for name, (tab, sub), selector, prepare, act, (api, args) in _actions(page, None):
            _open(page, tab, sub)
            painted, direct = [], []
            for k in range(repeats + 1):  # the first of each: a warm-up (caches, the tab's first paint)
                if prepare:
                    prepare(k)
                ms = _measure(page, selector, lambda: act(k))
                t0 = time.perf_counter()
                _http_call(http, url, api, _uploaded(http, url, list(args(k))), session="bench-browser")
                rt = (time.perf_counter() - t0) * 1e3
                if k:
                    painted.append(ms)
                    direct.append(rt)
            p50, p95 = _percentiles(painted)
            r50 = statistics.median(direct)
            rows.append({"name": f"browser {name}", "unit": "ms", "ours": p50, "reference": r50,
                         "ratio": p50 / r50, "p95_ms": p95, "calls": len(painted),
                         "reference_is": f"/{api} over HTTP as the page calls it; p95 {p95:.0f} ms"})
    return rows


# the paints of one image while a slider is dragged: each new `src` decoded and drawn, with its time
PAINTS_JS = """(sel) => {
  const box = document.querySelector(sel), p = window.__paints = {times: [], srcs: []};
  let last = (box.querySelector('img') || {}).src;
  new MutationObserver(() => {
    const img = box.querySelector('img');
    if (!img || img.src === last) return;
    const src = last = img.src;
    const painted = () => requestAnimationFrame(() => { p.times.push(performance.now()); p.srcs.push(src); });
    img.decode().then(painted, painted);
  }).observe(box, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
}"""


def _dragged_sliders():
    """(what is dragged, (tab, sub-tab), the slider's label, the image's selector, the reference call (api, args(k)))."""
    from playground.classifier import EXAMPLES
    from playground.gan import N_DIRECTIONS, NO_CLASS

    examples = sorted(str(p) for p in EXAMPLES.glob("*.png"))
    return [("a GAN direction slider", ("GAN", "Directions"), "principal direction 1 (σ)", "#gan-edit",
             ("gan_edit", lambda k: ["dcgan-ns-fashion", 0, 1.0, "z", NO_CLASS, 3.0 * (k % 2 * 2 - 1),
                                     *[0.0] * (N_DIRECTIONS - 1)])),
            ("the forward-process t slider", ("Diffusion", "Forward process"), "t", "#ddpm-forward",
             ("ddpm_forward", lambda k: [{"path": examples[7], "meta": {"_type": "gradio.FileData"}},
                                         900 if k % 2 else 100, "linear", 0]))]


def bench_drag(repeats: int, seconds: float = 1.0, moves: int = 20) -> list[dict]:
    """Each slider of `_dragged_sliders` dragged with the mouse for `seconds` (`moves` pointer moves, as a hand
    makes them): the images painted per second while the pointer moves, against the pointer's input events per
    second; and the time from the pointer's release to the last image painted, against that image's round trip over
    HTTP (the GAN's images come from the server; the forward process's are drawn in the page, `FORWARD_JS`)."""
    if not os.path.exists(CHROMIUM):
        print(f"drag rows skipped: no Chromium at {CHROMIUM}")
        return []
    rows = []
    with _app_page() as (page, http, url):
        for what, (tab, sub), label, selector, (api, args) in _dragged_sliders():
            rows += _drag_rows(page, http, url, what, tab, sub, label, selector, api, args, repeats, seconds, moves)
    return rows


# a drag made in the page: pointerdown on the slider's range, then `moves` value changes (each an `input` event, as
# the browser sends while the thumb is dragged), one every `ms` (a timer, which a busy page delays as it delays a
# hand's moves), then pointerup. Playwright's own mouse moves cost ~25 ms each here, so they could not make 20/s.
DRAG_JS = """([label, from, to, moves, ms]) => new Promise(resolve => {
  const r = [...document.querySelectorAll('input[type=range]')].find(
    e => e.offsetParent && e.getAttribute('aria-label') === 'range slider for ' + label);
  const lo = Number(r.min), hi = Number(r.max), at = f => lo + (hi - lo) * f;
  r.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}));
  const t0 = performance.now();
  let i = 0, tLast = null;
  const tick = () => {
    i++;
    if (i === moves) tLast = performance.now();
    r.value = at(from + (to - from) * i / moves);
    r.dispatchEvent(new Event('input', {bubbles: true}));
    if (i < moves) return setTimeout(tick, ms);
    const t1 = performance.now();
    r.dispatchEvent(new PointerEvent('pointerup', {bubbles: true}));
    resolve({t0, tLast, t1});
  };
  setTimeout(tick, ms);
})"""


def _drag_rows(page, http, url, what, tab, sub, label, selector, api, args, repeats, seconds, moves) -> list[dict]:
    rates, lags, direct, pointer = [], [], [], []
    _open(page, tab, sub)
    _visible(page, page.get_by_role("slider", name=label)).scroll_into_view_if_needed()
    for k in range(repeats + 1):  # the first: a warm-up
        page.evaluate(PAINTS_JS, selector)
        span = page.evaluate(DRAG_JS, [label, *((0.05, 0.95) if k % 2 == 0 else (0.95, 0.05)), moves,
                                       1000 * seconds / moves])
        t0, t_last, t1 = span["t0"], span["tLast"], span["t1"]
        page.wait_for_timeout(3000)  # the last update lands
        paints = page.evaluate("() => window.__paints")
        during = [t for t in paints["times"] if t0 <= t <= t1]
        final = page.evaluate("s => (document.querySelector(s + ' img') || {}).src", selector)
        t = time.perf_counter()
        _http_call(http, url, api, _uploaded(http, url, list(args(k))), session="bench-drag")
        if k:
            rates.append(len(during) / ((t1 - t0) / 1000))
            pointer.append(moves / ((t1 - t0) / 1000))  # below moves / seconds where the page held the timer back
            # from the last move to the first paint of the image shown at the end (the slider's final value):
            # the server's last answer, or the page's own drawing at the move
            shown_final = [t for t, src in zip(paints["times"], paints["srcs"]) if t > t_last and src == final]
            lags.append(min(shown_final) - t_last if shown_final else float("nan"))
            direct.append((time.perf_counter() - t) * 1e3)
    shown = [v for v in lags if v == v]  # a drag whose final position was never painted has none
    lag50, lag95 = _percentiles(shown) if shown else (float("nan"), float("nan"))
    return [{"name": f"drag: images painted per second while {what} is dragged", "unit": "images/s",
             "ours": statistics.median(rates), "reference": moves / seconds,
             "ratio": statistics.median(rates) * seconds / moves, "calls": len(rates),
             "reference_is": f"the moves per second asked for ({moves} in {seconds:g} s; made: "
                             f"{statistics.median(pointer):.1f}/s, the rest held back by the page's work)"},
            {"name": f"drag: {what}, the pointer's last move to its final position's image painted", "unit": "ms", "ours": lag50,
             "reference": statistics.median(direct), "ratio": lag50 / statistics.median(direct), "p95_ms": lag95,
             "calls": len(lags), "reference_is": f"/{api} over HTTP as the page calls it; p95 {lag95:.0f} ms; "
                                                  f"{len(shown)} of {len(lags)} drags ended on their final value"}]
