"""Tab "Diffusion: denoising": the forward process on any image, the reverse process streamed live
(x_t beside the predicted x0_hat) with GIF/MP4 export, and the same seed at 10 / 50 / 200 / 1000 steps.
Handlers are pure functions (store, names, numbers, images) -> arrays/paths; the streaming ones are
generators that Gradio runs as they yield."""

from __future__ import annotations

import functools
import time

import numpy as np
import torch

from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.errors import UserError
from trainers.core.images import from_uint8, gif_bytes, grid, mp4_bytes, strip, to_uint8, upscale
from trainers.ddpm import train as ddpm_train
from trainers.ddpm.diffusion import SCHEDULES, Schedule, q_sample
from trainers.ddpm.samplers import SAMPLERS, timesteps

from .errors import number, user_errors
from .exports import export_file
from .page import LATEX
from .uploads import example_paths, image_to_grey, shipped_image
from .views import LIVE_UPDATE_S, LiveUpdates, alpha_bar_text, count, frames_view, guided_on, titled_strip
from .wiring import TabParts, stop_requested, wire
from .models import ModelStore

MAX_IMAGES, MAX_GIF_FRAMES = 16, 40
DENOISE_API = "ddpm_denoise"  # the endpoint, and the run its Stop button marks (`denoise` asks for it by name)
UPDATES, MIN_UPDATE_S = 60, LIVE_UPDATE_S  # the live view refreshes at most UPDATES times a run (and 5 a second)
STEP_COUNTS = (10, 50, 200, 1000)
FORWARD_TS = (0, 50, 100, 250, 500, 750, 999)
ANY_CLASS = "(any: unconditional)"


def _schedule(kind: str) -> Schedule:
    """The trainer's cached schedule (T = 1000), with a clear error for an unknown kind."""
    if kind not in SCHEDULES:
        raise UserError(f"schedule must be one of {', '.join(SCHEDULES)}")
    return ddpm_train.schedule(kind, 1000)


BETA_SHOWN = 0.05  # the beta plot's top: above it only cosine's last steps


@functools.lru_cache(maxsize=1)
def schedule_curves():
    """beta_t and alpha_bar_t of both schedules as long-form tables for gr.LinePlot."""
    import pandas as pd

    rows_beta, rows_abar = [], []
    for kind in SCHEDULES:
        s = _schedule(kind)
        for t in range(0, 1000, 5):
            # cosine's beta rises to 0.999 in its last steps; on that scale linear's 1e-4..0.02 is a flat line
            rows_beta.append((t, float(s.betas[t]) if s.betas[t] <= BETA_SHOWN else float("nan"), kind))
            rows_abar.append((t, float(s.alpha_bar[t]), kind))
    return (pd.DataFrame(rows_beta, columns=["t", "beta_t", "schedule"]),
            pd.DataFrame(rows_abar, columns=["t", "alpha_bar_t", "schedule"]))


MARKER = "the slider's t"


def curves_at(t, schedule: str = "linear"):
    """The alpha_bar_t curves with a vertical marker at the forward-process slider's t (on the chosen schedule's
    curve's range [0, 1]), so the plot shows where x_t sits."""
    import pandas as pd

    _, abars = schedule_curves()
    try:
        t = int(min(max(float(t), 0), 999))
    except (TypeError, ValueError):
        t = 0
    a = float(_schedule(schedule if schedule in SCHEDULES else "linear").alpha_bar[t])
    # one series name for every t: a plot fixes its series from the first table, so "t = 250" stayed in the
    # legend and a later "t = 605" was never drawn
    marker = pd.DataFrame([(t, 0.0, MARKER), (t, a, MARKER), (t, 1.0, MARKER)],
                          columns=["t", "alpha_bar_t", "schedule"])
    return pd.concat([abars, marker], ignore_index=True).astype({"t": "int64", "alpha_bar_t": "float64"})


def _forward_terms(image, schedule: str, seed) -> tuple[Schedule, np.ndarray, torch.Tensor]:
    """What x_t is made of at every t: the schedule, x0's uint8 levels (32, 32) and the noise eps of `seed`."""
    seed = number("seed", seed, 0, 2**63 - 1, integer=True)
    sched = _schedule(schedule)
    return sched, image_to_grey(image, 32), torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(seed))


@user_errors
def forward_process(image, t, schedule: str, seed=0) -> tuple[np.ndarray, np.ndarray, str]:
    """x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps for an image -> (x_t, strip over t, numbers)."""
    t = number("t", t, 0, 999, integer=True)
    sched, grey, eps = _forward_terms(image, schedule, seed)
    x0 = from_uint8(torch.from_numpy(grey).view(1, 1, 32, 32))
    ts = torch.tensor([t, *FORWARD_TS])
    xt = q_sample(sched, x0.expand(len(ts), -1, -1, -1), ts, eps.expand(len(ts), -1, -1, -1))
    a = float(sched.alpha_bar[t])
    snr = a / (1 - a)
    text = (f"**t = {t}** ({schedule}): $\\beta_t$ = {float(sched.betas[t]):.5f}, $\\bar\\alpha_t$ = {alpha_bar_text(a)}, "
            f"signal $\\sqrt{{\\bar\\alpha_t}}$ = {a ** 0.5:.3f}, noise $\\sqrt{{1-\\bar\\alpha_t}}$ = {(1 - a) ** 0.5:.3f}, "
            f"SNR $\\bar\\alpha_t/(1-\\bar\\alpha_t)$ = {snr:.3g} ({10 * np.log10(snr):+.1f} dB)")
    images = to_uint8(xt.clamp(-1, 1))
    return (upscale(strip(images[:1], padding=0), 8), frames_view(images[1:], titles=[f"t = {t}" for t in FORWARD_TS]),
            text)


def forward_terms(image, schedule: str, seed=0) -> dict:
    """x0, eps and the schedule's sqrt(alpha_bar_t), sqrt(1 - alpha_bar_t) for every t, as base64 float32 (x0 as
    its uint8 levels): what FORWARD_JS needs to draw x_t in the page while t moves, with no round trip."""
    import base64

    sched, grey, eps = _forward_terms(image, schedule, seed)
    b64 = lambda a: base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()  # noqa: E731
    return {"schedule": schedule, "x0": b64(grey.astype(np.uint8)),
            "eps": b64(eps.numpy().astype(np.float32)), "a": b64(sched.sqrt_alpha_bar.numpy().astype(np.float32)),
            "b": b64(sched.sqrt_one_minus_alpha_bar.numpy().astype(np.float32))}


# x_t drawn in the page from forward_terms while t moves, as forward_process draws it: float32 arithmetic
# (Math.fround at each operation, as torch's), to_uint8's round-half-to-even and the 8x nearest enlargement, so
# the pixels are the server's. Called by the slider's `input` (a key step: the server's answer follows, with the
# numbers and the marker) and after each answer (it brings the terms of a new image, seed or schedule).
# A drag is the page's alone: the pointer's moves over the slider are kept from Gradio (each cost ~60 ms of the
# page's event bookkeeping and a round trip) and drawn here, with the number box; the release hands the final t to
# Gradio, which then asks the server once. An answer for an earlier t that lands while t moves is drawn over again.
FORWARD_JS = """(t, schedule, terms) => {
  const F = Math.fround, state = window.playgroundForward = window.playgroundForward || {};
  const floats = (s) => new Float32Array(Uint8Array.from(atob(s), c => c.charCodeAt(0)).buffer);
  const range = () => document.querySelector('#ddpm-t input[type=range]');
  // the schedule the radio shows now: terms of another (an answer still coming) draw nothing
  const current = () => (document.querySelector('#ddpm-schedule input:checked') || {}).value;
  if (terms && terms.x0 && (terms.x0 !== (state.terms || {}).x0 || terms.eps !== state.terms.eps
                            || terms.schedule !== state.terms.schedule)) {
    state.terms = terms;
    state.x0 = Uint8Array.from(atob(terms.x0), c => c.charCodeAt(0));
    state.eps = floats(terms.eps); state.a = floats(terms.a); state.b = floats(terms.b);
  }
  if (!state.draw) {
    state.canvas = document.createElement('canvas');
    state.canvas.width = state.canvas.height = 256;
    state.ready = () => state.terms && state.terms.schedule === current();
    state.draw = (t) => {
      const box = document.getElementById('ddpm-forward'), img = box && box.querySelector('img');
      if (!img || !state.ready()) return false;
      t = Math.min(Math.max(Math.round(Number(t)), 0), 999);
      if (state.shown === state.terms && state.shownT === t && img.src.startsWith('data:')) return true;
      const a = state.a[t], b = state.b[t], ctx = state.canvas.getContext('2d'), out = ctx.createImageData(256, 256);
      for (let i = 0; i < 1024; i++) {
        const x0 = F(F(state.x0[i] / 127.5) - 1);
        const xt = F(F(a * x0) + F(b * state.eps[i])), clamped = xt < -1 ? -1 : xt > 1 ? 1 : xt;
        const w = F(F(clamped + 1) * 127.5), r = Math.round(w), level = (w % 1 === 0.5 && r % 2) ? r - 1 : r;
        const y = (i >> 5) * 8, x = (i & 31) * 8;
        for (let dy = 0; dy < 8; dy++) for (let dx = 0; dx < 8; dx++) {
          const k = ((y + dy) * 256 + x + dx) * 4;
          out.data[k] = out.data[k + 1] = out.data[k + 2] = level; out.data[k + 3] = 255;
        }
      }
      ctx.putImageData(out, 0, 0);
      img.src = state.canvas.toDataURL('image/png');
      state.shown = state.terms; state.shownT = t; state.moved = performance.now();
      return true;
    };
    state.dragging = false;
    document.addEventListener('pointerdown', (e) => { state.dragging = e.target === range(); }, true);
    // every move of t is drawn here first; Gradio's own handling of it (~50 ms of the page's work, which held
    // back the frame with the new x_t) comes after that frame for a key step, and not at all during a drag
    document.addEventListener('input', (e) => {
      if (e.target !== range() || e.late || !state.draw(e.target.value)) return;
      e.stopImmediatePropagation();
      if (state.dragging) {  // Gradio hears the release's value only
        const box = document.querySelector('#ddpm-t input[type=number]');
        if (box) box.value = e.target.value;
        return;
      }
      requestAnimationFrame(() => setTimeout(() => {
        const late = new Event('input', {bubbles: true});
        late.late = true;
        range().dispatchEvent(late);
      }, 0));
    }, true);
    const release = (e) => {
      if (!state.dragging) return;
      state.dragging = false;
      const r = range();
      if (r) r.dispatchEvent(new Event('input', {bubbles: true}));
    };
    document.addEventListener('pointerup', release, true);
    document.addEventListener('pointercancel', release, true);
    const box = document.getElementById('ddpm-forward');
    if (box) new MutationObserver(() => {
      const img = box.querySelector('img'), r = range();
      if (img && r && !img.src.startsWith('data:') && performance.now() - state.moved < 1000) state.draw(r.value);
    }).observe(box, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  }
  state.draw(t);
  return [];
}"""


def _class(model, name: str | None) -> int | None:
    if name in (None, "", ANY_CLASS):
        return None
    if not model.cfg.n_classes:
        raise UserError("this model is unconditional: choose the class '(any: unconditional)'")
    if name not in FASHION_MNIST_CLASSES[: model.cfg.n_classes]:
        raise UserError(f"unknown class {str(name)[:40]!r}")
    return FASHION_MNIST_CLASSES.index(name)


def _run_settings(store, name, seed, n, sampler, steps, eta, class_name, guidance):
    model = store.get(name, family="ddpm")
    if sampler not in SAMPLERS:
        raise UserError(f"sampler must be one of {', '.join(SAMPLERS)}")
    steps = number("steps", steps, 1, model.cfg.T, integer=True)
    seed = number("seed", seed, 0, 2**63 - 1, integer=True)
    n = number("images", n, 1, MAX_IMAGES, integer=True)
    eta = number("eta", eta, 0, 1)
    guidance = number("guidance scale", guidance, 0, 20)
    label = _class(model, class_name)
    device = next(model.modules["unet_ema"].parameters()).device
    y = None if label is None else torch.full((n,), label, dtype=torch.long, device=device)
    return model, seed, n, steps, eta, guidance, y, device


def _grids(xt: torch.Tensor, x0: torch.Tensor, nrow: int) -> tuple[np.ndarray, np.ndarray, int]:
    """x_t and x0_hat as uint8 grids at the model's size, and how many images they hold."""
    return grid(to_uint8(xt.clamp(-1, 1)), nrow), grid(to_uint8(x0.clamp(-1, 1)), nrow), len(xt)


def _pair(grids: tuple, shown: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`_grids` upscaled: on the page one image at 192 px, a grid's tiles at 96 (one was 128 px in a 600-px box);
    in the GIF/MP4 (`shown` False) one image at 256 px, up to 4 at 128, more at 64: the frames are drawn at their
    own size, their titles crisp (made at half that, one image's GIF was enlarged 2.5x and its titles read as
    blocks), and their encoding's cost grows with their pixels (0.2 s more for one image's 50 steps)."""
    a, b, n = grids
    scale = (6 if n == 1 else 3) if shown else (8 if n == 1 else 4 if n <= 4 else 2)
    return upscale(a, scale), upscale(b, scale)


@user_errors
def denoise(store: ModelStore, name: str, seed, n, sampler: str, steps, eta, class_name, guidance):
    """Stream the reverse chain: yields (x_t grid, x0_hat grid, progress, GIF path, MP4 path) as it runs;
    the last yield carries the exports of the whole run (x_t | x0_hat side by side per frame)."""
    model, seed, n, steps, eta, guidance, y, device = _run_settings(store, name, seed, n, sampler, steps, eta,
                                                                    class_name, guidance)
    import gradio as gr

    # at once: the status said the last run's "done" (and its GIF/MP4 stayed) until the first step came back.
    # More than 4 images put x_t above x0_hat, each the column's width: side by side, 16 images' tiles were ~85 px
    # (the GIF and MP4 too, their frames made so: the boxes emptied with their new layout)
    wide = ["wide"] if n > 4 else []
    layout = gr.Image(elem_classes=wide)
    yield (layout, layout, f"starting: {count(steps, 'step')}, {sampler} ...", gr.Image(elem_classes=["frames", *wide]),
           gr.Video(elem_classes=["anim", *wide]))
    gen = torch.Generator().manual_seed(seed)
    x = ddpm_train.initial_noise(model.cfg, n, gen, device)
    nrow = min(4, n)
    live = LiveUpdates(steps, UPDATES, MIN_UPDATE_S, step_costs(model.cfg, n, y is not None, guidance, steps))
    keep = set(np.linspace(0, steps - 1, min(MAX_GIF_FRAMES - 1, steps)).round().astype(int).tolist())  # + the result
    frames, ts, stopped = [], [], False
    # each step shows the x_t it was given beside the x0 it predicted from that x_t, both at one t: the step's
    # output, x at the next timestep, beside the guess at this one read "x_t, t = 979 | predicted x0 at t = 999"
    for i, t, xt, x0 in ddpm_train.reverse(model.cfg, model.modules, x, gen, y, sampler, steps, eta, guidance):
        ts.append(int(t))
        due = live.due(i)
        grids = _grids(x, x0, nrow) if i in keep or due else None  # once for the GIF's frame and the page's
        if i in keep:
            frames.append((i, *_pair(grids, shown=False)))
        if due:
            a, b = _pair(grids)
            yield a, b, f"step {i + 1}/{steps} (t = {t}): x_t and the x0 it predicts{live.left(i)}", None, None
            live.shown()
        x = xt
        if stop_requested(DENOISE_API) and i + 1 < steps:  # the page's Stop: what was made so far, exported
            stopped = True
            break
    grids = _grids(x, x0, nrow)
    a, b = _pair(grids)
    if stopped:
        done = (f"stopped after step {len(ts)}/{steps} (t = {ts[-1]}): x_t and x̂0 above are that step's; the GIF "
                f"and MP4 hold the steps so far, {live.elapsed():.1f} s")
    else:
        done = (f"done: {count(steps, 'step')}, {sampler}" + (f", eta = {eta}" if sampler == "ddim" else "")
                + guidance_said(model.cfg, y is not None, guidance, ts) + f", {live.elapsed():.1f} s")
    # the result first, then its GIF and MP4: their encoding (~0.35 s for 50 steps on 2 cores) stood between
    # the last step and the garment it made
    yield a, b, f"{done}; making the GIF and MP4 ...", gr.skip(), gr.skip()
    frames.append((len(ts), *_pair(grids, shown=False)))
    # each pane named in the frame: the GIF/MP4 leave the page without the boxes' labels. (The image font has
    # no combining hat: "predicted x0".) Side by side at any count: 16 images' frames stacked x_t above x0_hat
    # made the GIF and the MP4 ~900 px tall each; side by side across the column their tiles are as large
    frames = [run_frame(fa, fb, frame_titles(ts, i, steps)) for i, fa, fb in frames]
    # the result held for RESULT_HOLD_S before the loop starts again from noise (at 60 ms, like every frame, the
    # finished garment flashed by and was hard to see)
    gif = export_file(gif_bytes(frames, [60] * (len(frames) - 1) + [int(RESULT_HOLD_S * 1000)]), "ddpm-run", ".gif")
    mp4 = export_file(mp4_bytes(frames + [frames[-1]] * int(RESULT_HOLD_S * 20 - 1), 20), "ddpm-run", ".mp4")
    yield a, b, done, gif, mp4


RESULT_HOLD_S = 1.2  # how long a run's GIF and MP4 show the result before they loop


def run_frame(fa: np.ndarray, fb: np.ndarray, titles: list[str]) -> np.ndarray:
    """One frame of a run's GIF/MP4: x_t and x0_hat side by side, each with its title."""
    return titled_strip([fa, fb], titles)


def step_costs(cfg, n: int, has_class: bool, guidance: float, steps: int) -> list[float]:
    """Each step's relative cost for n images: a guided step (t under the guidance interval's limit, as
    `ddpm_train.reverse` runs it) predicts the conditional and the unconditional noise in one batch of 2n. The
    U-Net costs about (1.2 + rows) units a call on 2 CPU cores (ddpm-fashion: 9.3 ms for 1 row, 13.8 for 2, 72
    for 16, 130 for 32), so a guided step costs 1.45x an unguided one for 1 image and 1.9x for 16."""
    t_max = ddpm_train.guidance_t_max(cfg)
    guided = has_class and guidance != 1.0
    ratio = (1.2 + 2 * n) / (1.2 + n)
    return [ratio if guided and (t_max is None or t < t_max) else 1.0 for t in timesteps(cfg.T, steps)]


def frame_titles(ts: list[int], i: int, steps: int | None = None) -> list[str]:
    """The titles of frame i of a run over timesteps `ts`: the x_t step i was given and the x0 it predicted
    from it, at the one t; frame len(ts), after the last step, is the result beside the last prediction, or,
    in a run of `steps` stopped before its end, the x_t its last step made."""
    if i == len(ts) and steps is not None and len(ts) < steps:
        return [f"stopped after step {len(ts)}/{steps}", f"predicted x0 at t = {ts[-1]}"]
    if i == len(ts):  # "predicted x0 at t = 199" beside "the result" read as a mismatch: it is the last step's
        return ["x_0, the result", f"the last step's x0 (t = {ts[-1]})"]
    return [f"x_t, t = {ts[i]}", f"predicted x0 at t = {ts[i]}"]


def guidance_said(cfg, has_class: bool, guidance: float, ts: list[int]) -> str:
    """How the run was guided, for its done line: w at every step, or at how many (a model guided only in its
    interval, t < interval * T, ran 1 step at t = 999 with w = 10 exactly as with w = 3, and nothing said so)."""
    if not has_class:
        return ", no class: unguided"
    return f", w = {guidance:g}" + guided_on(ts, ddpm_train.guidance_t_max(cfg))


@user_errors
def steps_comparison(store: ModelStore, name: str, seed, sampler: str, class_name, guidance):
    """The same x_T (same seed) at 10 / 50 / 200 / 1000 steps (at most T), left to right. Yields (strip so far,
    caption, progress) every MIN_UPDATE_S or more while the chains run, with the time left estimated from the
    steps done so far; the last yield has all of them."""
    model, seed, _, _, _, guidance, y, device = _run_settings(store, name, seed, 1, sampler, 1, 0.0, class_name,
                                                              guidance)
    x_T = ddpm_train.initial_noise(model.cfg, 1, torch.Generator().manual_seed(seed), device)
    counts = sorted({min(s, model.cfg.T) for s in STEP_COUNTS})
    total, done_steps, done = sum(counts), 0, []
    costs = np.cumsum([c for s in counts for c in step_costs(model.cfg, 1, y is not None, guidance, s)])
    start = last = time.monotonic()
    # the time left from the sampler's own time per network call: the time spent outside it, while the page
    # drew each update, varied 10x on a busy machine and made the estimate jump (31 s, 233 s, 425 s, 39 s...)
    waited = 0.0

    def view():
        images = [to_uint8(x.clamp(-1, 1)) for x in done]
        tiles = [upscale(strip(u8, padding=0), 4) for u8 in images]
        shown = titled_strip(tiles, [f"{s} steps" for s in counts]) if done else None
        if len(done) < max(2, len(counts)):
            return shown, ""
        # the lesson in numbers (the caption restated the titles drawn in the image: "10 steps | 50 steps | ...")
        gaps = [float((a.float() - images[-1].float()).abs().mean()) for a in images[:-1]]
        return shown, (f"mean pixel difference from the {counts[-1]}-step image (0 to 255): "
                       + ", ".join(f"{s} steps {g:.1f}" for s, g in zip(counts, gaps)))

    for steps in counts:
        gen = torch.Generator().manual_seed(seed + 1)  # the DDPM sampler's per-step noise
        for i, _, x, _ in ddpm_train.reverse(model.cfg, model.modules, x_T, gen, y, sampler, steps, 0.0, guidance):
            done_steps += 1
            now = time.monotonic()
            if now - last >= max(MIN_UPDATE_S, 0.5):
                per_cost = (now - start - waited) / costs[done_steps - 1]
                left = (f" · about {per_cost * (costs[-1] - costs[done_steps - 1]):.0f} s left"
                        if done_steps >= 20 else "")
                yield *view(), f"running {steps} steps: {i + 1}/{steps}{left}"
                last = time.monotonic()
                waited += last - now
        done.append(x)
        yield *view(), f"{done_steps}/{total} steps in {time.monotonic() - start:.1f} s"
    yield *view(), (f"done: {total} steps in {time.monotonic() - start:.1f} s. "
                    + ("DDIM with more steps follows the same ODE more closely: the images converge."
                       if sampler == "ddim" else "DDPM is stochastic: each step count draws its own noise path."))


EXPLANATION = r"""
**Forward process** (course notes, *Generative networks* and *GANs and diffusion models*): noise is added in $T = 1000$ small steps, $x_t = \sqrt{1-\beta_t}\,x_{t-1} + \sqrt{\beta_t}\,\varepsilon$, so that in closed form
$$x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon,\qquad \alpha_t = 1-\beta_t,\ \ \bar\alpha_t = \textstyle\prod_{s\le t}\alpha_s .$$
(The notes also write $\alpha_t$ for $\bar\alpha_t$, and once $\alpha_t$ for $\beta_t$; here we use DDPM's symbols.)

**Training**: draw $x_0$, $t$, $\varepsilon$ and minimise $\|\varepsilon_\theta(x_t, t) - \varepsilon\|^2$: the U-Net (residual blocks, self-attention at 8×8) learns to name the noise.

**Reverse step** (DDPM): $x_{t-1} = \mu + \sqrt{\beta_t}\,z$ with
$$\mu = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\,\varepsilon_\theta(x_t, t)\Big).$$
Small $\beta_t$ keep each reverse step close to a Gaussian, which is why there are so many of them. The right-hand view shows the network's current guess $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\varepsilon_\theta)/\sqrt{\bar\alpha_t}$.

**DDIM** (Song et al. 2021) reuses the same network with $S \ll T$ steps: $x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t'}-\sigma^2}\,\varepsilon_\theta + \sigma z$; $\eta = 0$ is deterministic.

**Guidance** (classifier-free): $\varepsilon = \varepsilon_\theta(x_t) + w\,(\varepsilon_\theta(x_t, y) - \varepsilon_\theta(x_t))$; $w = 1$ is the plain conditional model, larger $w$ follows the class harder. It is applied only on the steps with $t <$ `guidance_interval` $\cdot\,T$ (0.3 for ddpm-fashion; Kynkäänniemi et al. 2024): at high noise the difference of the two predictions is small next to their errors, and $\hat x_0$ multiplies what $w$ adds by $1/\sqrt{\bar\alpha_t}$. Guiding every step wrecks this small U-Net's samples (at $w = 3$ the classifier recognises 28% of them, against 94% with the interval).
"""


def restored_x0(image, shown):
    """After a refused forward process: the x0 its views are of, back in the box, when the box holds another image
    (a refused 1x1 upload stayed there, as if the views were of it); unchanged when it holds that x0 already (the
    refusal was of another setting), so that putting it back cannot trigger the refusal again."""
    import gradio as gr

    if shown is None or (image is not None and np.array_equal(np.asarray(image), np.asarray(shown))):
        return gr.skip()
    return shown


STEPS_INFO = {"ddpm": "DDPM: 1000 = Ho et al.'s full chain", "ddim": "DDIM: any number, 1 to 1000 (Song et al.)"}


def build(store: ModelStore) -> TabParts:
    import gradio as gr

    names = store.names("ddpm")
    first = names[0] if names else None
    examples = example_paths()
    betas, _ = schedule_curves()
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("### Diffusion: denoising\n**Try first:** press *Denoise* and watch x̂0 sharpen; then "
                        "*Why so many steps* with DDIM and with DDPM, and drag *t* in *Forward process*.")
            with gr.Tab("Reverse process (live)"):
                with gr.Row():
                    ckpt = gr.Dropdown(names, value=first, label="checkpoint")
                    sampler = gr.Radio(list(SAMPLERS), value="ddim", label="sampler")
                    steps = gr.Slider(1, 1000, 50, step=1, label="steps", info=STEPS_INFO["ddim"],
                                      scale=2, min_width=240)  # its note on one or two lines, not a word a line
                    eta = gr.Slider(0, 1, 0, step=0.05, label="η (DDIM)")
                with gr.Row():
                    seed = gr.Number(0, label="seed", precision=0, minimum=0)
                    n = gr.Slider(1, MAX_IMAGES, 1, step=1, label="images")
                    cls = gr.Dropdown([ANY_CLASS, *FASHION_MNIST_CLASSES], value="Sneaker", label="class")
                    guidance = gr.Slider(0, 10, 3, step=0.5, label="guidance scale w")
                with gr.Row():  # a 1000-step DDPM run of 16 images takes minutes: it can be stopped
                    go = gr.Button("Denoise", variant="primary", scale=3)
                    stop = gr.Button("Stop", scale=1)
                progress = gr.Markdown()
                with gr.Row(elem_classes="ddpm-stills"):
                    xt = gr.Image(label="x_t", interactive=False, format="png", elem_id="ddpm-xt")
                    x0 = gr.Image(label="predicted x̂0", interactive=False, format="png", elem_id="ddpm-x0")
                # one above the other, each the column's width: side by side, 16 images' x_t | x̂0 grids drew
                # their tiles at ~40 px
                gif = gr.Image(label="the run, animated (GIF)", type="filepath", interactive=False,
                               elem_id="ddpm-gif", elem_classes="frames")
                mp4 = gr.Video(label="MP4 of the run", autoplay=True, loop=True, elem_classes="anim",
                               elem_id="ddpm-mp4")
            with gr.Tab("Why so many steps") as why_tab:
                gr.Markdown("One starting noise x_T, denoised with 10, 50, 200 and 1000 steps (about 20 s on 2 "
                            "idle CPU cores, more on a busy one: 1,260 steps, and a guided step, t < 300 for "
                            "ddpm-fashion, runs the network on a batch of two; the line under the button counts "
                            "down the time left). Try DDIM first, then DDPM.")
                with gr.Row():
                    cmp_seed = gr.Number(0, label="seed", precision=0, minimum=0)
                    cmp_sampler = gr.Radio(list(SAMPLERS), value="ddim", label="sampler (DDIM: η = 0)")
                    cmp_cls = gr.Dropdown([ANY_CLASS, *FASHION_MNIST_CLASSES], value="Sneaker", label="class")
                    cmp_guidance = gr.Slider(0, 10, 3, step=0.5, label="guidance scale w")
                with gr.Row():
                    cmp_go = gr.Button("Sample at 10 / 50 / 200 / 1000 steps", variant="primary", scale=3)
                    cmp_stop = gr.Button("Stop", scale=1)
                cmp_progress = gr.Markdown()
                cmp_out = gr.Image(label="10 | 50 | 200 | 1000 steps", interactive=False, format="png",
                                   elem_id="ddpm-steps", show_label=False)
                cmp_done = gr.Markdown()
            with gr.Tab("Forward process"):
                # x0 and x_t side by side, the t slider right under them: dragged, t changes what is in view
                with gr.Row():
                    image = gr.Image(examples[7] if examples else None, type="pil", label="x0 (upload or pick)",
                                     sources=["upload", "clipboard"], image_mode=None)
                    noisy = gr.Image(label="x_t", interactive=False, format="png", elem_id="ddpm-forward")
                t = gr.Slider(0, 999, 250, step=1, label="t", elem_id="ddpm-t",
                              info="0 to T − 1 = 999 (0-based, as the code indexes it); drag it")
                with gr.Row():
                    schedule = gr.Radio(list(SCHEDULES), value="linear", label="schedule", elem_id="ddpm-schedule")
                    fwd_seed = gr.Number(0, label="noise seed", precision=0, minimum=0)
                numbers = gr.Markdown(latex_delimiters=LATEX)
                gr.Examples(examples, inputs=image, label="Fashion-MNIST test images")
                # the column to itself: seven frames beside x_t were ~48 px each
                over_t = gr.Image(label="the same image and noise at other t", interactive=False,
                                  format="png", elem_classes="frames")
                with gr.Row():
                    # the cut said in the title: a caption under the plot was hidden behind it
                    gr.LinePlot(betas, x="t", y="beta_t", color="schedule", height=220, y_title="β_t",
                                y_lim=[0, BETA_SHOWN * 1.1],
                                title=f"β_t, shown up to {BETA_SHOWN} (cosine ends at 0.999)")
                    abar_plot = gr.LinePlot(curves_at(250), x="t", y="alpha_bar_t", color="schedule", y_title="ᾱ_t",
                                            title="ᾱ_t (the vertical line: the slider's t)", height=220)
        with gr.Column(scale=2):
            gr.Markdown(EXPLANATION, latex_delimiters=LATEX)

    # η is DDIM's: DDPM's noise is fixed by its schedule
    # and the steps' hint is the chosen sampler's (DDPM's "1000 = the full chain" stayed under DDIM)
    sampler.change(lambda v: (gr.Slider(interactive=v == "ddim"), gr.Slider(info=STEPS_INFO[v])), sampler,
                   [eta, steps], api_name=False, show_progress="hidden")
    parts = TabParts(refresh=[(ckpt, lambda: store.names("ddpm"))])
    parts.pictures["Diffusion: predicted x̂0 (the sample, once done)"] = x0
    wire(go.click, DENOISE_API, {"checkpoint": ckpt, "seed": seed, "images": n, "sampler": sampler,
                                    "steps": steps, "eta": eta, "class": cls, "guidance": guidance},
         lambda *a: (yield from denoise(store, *a)), [xt, x0, progress, gif, mp4], parts, opening=bool(first),
         stop=(stop, progress, None))  # `denoise` ends itself, with the GIF and MP4 of the steps it made
    wire(cmp_go.click, "ddpm_steps", {"checkpoint": ckpt, "seed": cmp_seed, "sampler": cmp_sampler,
                                      "class": cmp_cls, "guidance": cmp_guidance},
         lambda *a: (yield from steps_comparison(store, *a)), [cmp_out, cmp_done, cmp_progress], parts,
         opening=bool(first), opened_by=why_tab,  # seconds of compute: by the start-up work, shown on opening
         stop=(cmp_stop, cmp_progress, "stopped: the strip shows the step counts that finished"))
    shown_x0 = gr.State(shipped_image(examples[7]) if examples else None)  # the x0 the forward process drew from
    forward = wire(functools.partial(gr.on, [t.change, schedule.change, image.change, fwd_seed.submit]), "ddpm_forward",
         {"image": image, "t": t, "schedule": schedule, "noise seed": fwd_seed}, forward_process,
         [noisy, over_t, numbers], parts, trigger_mode="always_last", show_progress="hidden",
         opening=bool(examples) and {"image": shipped_image(examples[7])}  # by the warm-up, not at start-up
         # the marker follows once t is taken: a t past the slider's range is refused once, not once per listener
         )
    # x0, eps and the schedule, for FORWARD_JS: the opening's from the start, then each answer's
    terms = gr.JSON(forward_terms(shipped_image(examples[7]), "linear", 0) if examples else None, visible=False)
    forward.success(lambda im, t_, sch, seed_: (im, curves_at(t_, sch), forward_terms(im, sch, seed_)),
                    [image, t, schedule, fwd_seed], [shown_x0, abar_plot, terms], api_name=False, show_progress="hidden"
                    ).then(None, [t, schedule, terms], None, js=FORWARD_JS, api_name=False, show_progress="hidden")
    # while t moves, x_t is drawn in the page at once (the server's answer follows with the numbers and marker)
    t.input(None, [t, schedule, terms], None, js=FORWARD_JS, api_name=False, show_progress="hidden")
    # a refused upload (1x1 px, a text file) goes from the box: the image its x_t and strip are of comes back
    forward.failure(restored_x0, [image, shown_x0], image, api_name=False, show_progress="hidden")
    return parts


if __name__ == "__main__":
    import gradio as gr

    with gr.Blocks(title="Diffusion: denoising") as demo:
        build(ModelStore())
    demo.launch()
