"""Tab "Train live", 2-D lab: a GAN learning a distribution of points, trained while you watch.

Views (after GAN Lab, Kahng et al. 2018): real and generated points over the discriminator's output as a
heat map, the generator's gradient arrows on its samples, the generator's warp of a grid of noise, and
the loss curves. Each browser session trains its own `toy2d.Lab` (held in gr.State); a play run is
bounded in time and steps and can be paused (cancelled) at any moment. Handlers are pure functions.
The tab's second page, the image lab, is `image_lab.py`.
"""

from __future__ import annotations

import dataclasses
import time
import weakref

import numpy as np
import torch

from trainers.core.errors import UserError
from trainers.gan import toy2d

from .errors import number, user_errors
from .page import LATEX
from .uploads import as_image
from .views import LABEL_PX, font_at, series_table, with_scale
from .wiring import Opening, TabParts
from .equations import loss_equations

SIZE, LIM = 360, 3.0  # canvas pixels; the plane shown is [-LIM, LIM]^2
# training time between two frames: ~4 frames a second. Faster streams outran the browser (each frame is two
# 360-px PNGs and a plot): frames queued up, frame latency grew from 10 ms to 360 ms within 15 s of play,
# and Pause took 6-7 s to show. The loss plot, the costliest to draw, is sent every PLOT_EVERY frames.
FRAME_TRAIN_S, PLOT_EVERY, PLOT_POINTS = 0.25, 4, 200
MAX_PLAY_S, MAX_STEPS = 120.0, 50_000
ZOOM_BELOW, INSET, INSET_MIN = 0.1, 130, 70  # the warp view zooms in (an inset) when G's grid spans under this share of the plane
BCE_LOSSES = ("minimax", "non-saturating", "dragan")
# reset-only settings change the networks or the data; the rest apply to a running lab
RESET_FIELDS = ("target", "optimizer", "z_dim", "hidden", "layers", "seed")
FIELD_NAMES = {"optimizer": "the optimiser", "z_dim": "the noise dimensions", "hidden": "the width",
               "layers": "the depth"}
_STARTED_OVER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # a lab restarted by a change -> why


def _px(points: np.ndarray) -> np.ndarray:
    """Plane coordinates (n, 2) -> canvas pixels (n, 2), y up."""
    return np.stack([(points[:, 0] + LIM) / (2 * LIM) * SIZE, (LIM - points[:, 1]) / (2 * LIM) * SIZE], 1)


def mode_circles(plane: np.ndarray, counts=None) -> np.ndarray:
    """The lab's plane with a circle round each of the ring's modes, of the radius within which a generated
    point counts for that mode (`toy2d.ring_counts`: 4 standard deviations): the question's "covered" made
    visible (a learner saw purple points touch all eight clusters, answered 8, and was told 5). With `counts`,
    each circle's number of G's samples is written outside it: overlapping dots, and the data's drawn under
    them, could not be counted (a walk read 7-8 circles covered where the measure counted 5)."""
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(np.ascontiguousarray(plane[..., :3]))
    draw = ImageDraw.Draw(canvas)
    angle = 2 * np.pi * np.arange(toy2d.RING_MODES) / toy2d.RING_MODES
    unit = np.stack([np.cos(angle), np.sin(angle)], 1)
    centres = _px(toy2d.RING_RADIUS * unit)
    r = 4 * toy2d.RING_STD / (2 * LIM) * SIZE
    for cx, cy in centres:
        draw.ellipse([cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1], outline=(255, 255, 255), width=3)
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(20, 20, 20), width=1)
    if counts is not None:  # outside the ring, clear of G's samples along it
        font = font_at(LABEL_PX)
        for (x, y), n in zip(_px((toy2d.RING_RADIUS + 0.55) * unit), counts):
            draw.text((x, y), str(int(n)), font=font, fill=(0, 0, 0), anchor="mm", stroke_width=3,
                      stroke_fill=(255, 255, 255))
    return np.asarray(canvas)


REAL_COLOUR, FAKE_COLOUR = (0, 150, 60), (142, 68, 173)  # the data's points, G's


def _heat(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> RGB, blue (fake) through white to orange (real), as GAN Lab colours D."""
    blue, white, orange = np.array([66, 133, 244.0]), np.array([250, 250, 250.0]), np.array([244, 160, 66.0])
    v = values[..., None]
    low = white + (blue - white) * (1 - 2 * v).clip(0, 1)
    high = white + (orange - white) * (2 * v - 1).clip(0, 1)
    return np.where(v < 0.5, low, high).astype(np.uint8)


def render_plane(lab: toy2d.Lab, arrows: bool = True, shown: int | None = 300) -> np.ndarray:
    """Real points (green, as GAN Lab draws them), generated points (purple; the first `shown`, all with None), D's output as the
    background, G's gradient arrows."""
    from PIL import Image, ImageDraw

    d = lab.d_map(-LIM, LIM, 72).numpy()
    if lab.cfg.loss in BCE_LOSSES:
        v = 1 / (1 + np.exp(-d))  # D(x) = sigmoid(d)
    else:  # critic values have no fixed scale: show them relative to this frame's range
        v = (d - d.min()) / max(d.max() - d.min(), 1e-9)
    img = Image.fromarray(_heat(v)).resize((SIZE, SIZE), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)
    for p in _px(lab.x_fixed.numpy()[:300]):
        # green, not dark grey: on D's blue field a learner could not tell the data's dots from G's purple ones
        draw.ellipse([p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2], fill=REAL_COLOUR)
    for p in _px(lab.generated().numpy()[:shown]):
        draw.ellipse([p[0] - 2.5, p[1] - 2.5, p[0] + 2.5, p[1] + 2.5], fill=FAKE_COLOUR)
    if arrows:
        pts, grad = lab.generator_gradients(48)
        g = grad.numpy()
        scale = 30 / max(np.linalg.norm(g, axis=1).max(), 1e-12)  # the longest arrow is 30 px
        start = _px(pts.numpy())
        end = start + np.stack([g[:, 0], -g[:, 1]], 1) * scale
        for a, b in zip(start, end):
            draw.line([tuple(a), tuple(b)], fill=(120, 30, 140), width=1)
            draw.ellipse([b[0] - 1.5, b[1] - 1.5, b[0] + 1.5, b[1] + 1.5], fill=(120, 30, 140))
    if lab.cfg.loss in BCE_LOSSES:
        return with_scale(np.asarray(img), "D(x) = 0: fake", "1: real", _heat)
    return with_scale(np.asarray(img), f"critic {d.min():.2g}: fake", f"{d.max():.2g}: real", _heat)


def _inset_corner(data_px: np.ndarray, spot: np.ndarray, box: int, margin: int = 6) -> tuple[int, int, int]:
    """Where the inset covers no data point and not the ringed spot -> (x, y, size): at the largest size from
    `box` down that leaves a place free (a corner, an edge's middle or the centre); where none does, the place
    and size that cover the fewest. (At 130 px every place of the ring's plane hid one of the eight modes; in
    a corner, 80 px hides none.)"""
    def places(size):
        far, mid = SIZE - size - margin, (SIZE - size) // 2
        return [(far, far), (margin, far), (far, margin), (margin, margin), (mid, far), (mid, margin), (margin, mid),
                (far, mid), (mid, mid)]

    def covered(x0, y0, size):
        inside = ((data_px[:, 0] >= x0 - 4) & (data_px[:, 0] <= x0 + size + 4) & (data_px[:, 1] >= y0 - 4)
                  & (data_px[:, 1] <= y0 + size + 4)).sum()
        hides_spot = x0 - 14 <= spot[0] <= x0 + size + 14 and y0 - 14 <= spot[1] <= y0 + size + 14
        return int(inside) + (10 ** 6 if hides_spot else 0)

    sizes = range(box, INSET_MIN - 1, -10)
    for size in sizes:
        free = [(x, y) for x, y in places(size) if covered(x, y, size) == 0]
        if free:
            return (*free[0], size)
    # the fewest points covered, at any size (at `box` it hid a whole mode of the ring, where a smaller one hides
    # a few strays), the larger size on a tie
    return min(((x, y, size) for size in sizes for x, y in places(size)), key=lambda p: (covered(*p), -p[2]))


def render_warp(lab: toy2d.Lab) -> np.ndarray:
    """The generator's image of a regular grid of noise: how G folds the noise space onto the data."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for p in _px(lab.x_fixed.numpy()[:300]):
        draw.ellipse([p[0] - 1.5, p[1] - 1.5, p[0] + 1.5, p[1] + 1.5], fill=(200, 200, 200))
    rows, cols = lab.warped_grid()
    grid = [(lines.numpy(), colour) for lines, colour in ((rows, FAKE_COLOUR), (cols, (66, 133, 244)))]
    for lines, colour in grid:
        for line in lines:
            draw.line([tuple(p) for p in _px(line)], fill=colour, width=1)
    points = np.concatenate([lines.reshape(-1, 2) for lines, _ in grid])
    lo, hi = points.min(0), points.max(0)
    if (hi - lo).max() < ZOOM_BELOW * 2 * LIM:
        # a collapsed G maps the whole grid onto a spot a few pixels wide: ring it, and show it enlarged in an
        # inset, so that the fold the lesson points at is seen (the view looked empty)
        centre = _px(((lo + hi) / 2)[None])[0]
        draw.ellipse([*(centre - 12), *(centre + 12)], outline=(220, 40, 40), width=2)
        x0, y0, box = _inset_corner(_px(lab.x_fixed.numpy()), centre, INSET)
        draw.rectangle([x0, y0, x0 + box, y0 + box], fill=(255, 255, 255), outline=(220, 40, 40), width=2)
        span = max((hi - lo).max(), 1e-6) * 1.1
        for lines, colour in grid:
            for line in lines:
                u = (line - (lo + hi) / 2) / span + 0.5  # [0, 1] in the inset, y up
                draw.line([(x0 + a * box, y0 + (1 - b) * box) for a, b in u], fill=colour, width=1)
        # Pillow's default bitmap font was ~8 px tall: the label read as a smudge; on white, over the lines it
        # sat among
        font, label = font_at(LABEL_PX), f"ringed spot, x{2 * LIM / span:.0f}"
        if draw.textlength(label, font=font) > box - 12:  # a smaller inset (no mode hidden) says it shorter
            label = f"x{2 * LIM / span:.0f}"
        # clear of the 2-px frame (at 4, 3 px in, "x125" touched it)
        draw.rectangle(draw.textbbox((x0 + 6, y0 + 5), label, font=font), fill=(255, 255, 255))
        draw.text((x0 + 6, y0 + 5), label, fill=(220, 40, 40), font=font)
    return np.asarray(img)


def curves(lab: toy2d.Lab | None):
    """The losses' table (at most PLOT_POINTS steps of the last 2000, the last always); empty axes for no lab."""
    rows = lab.history[-2000:] if lab is not None else []
    every = max(1, len(rows) // PLOT_POINTS)
    kept = rows[::every]
    if rows and kept[-1] is not rows[-1]:  # the last step always: the stride dropped it (the axis ended short)
        kept.append(rows[-1])
    return series_table(kept, keep=("loss_d", "loss_g"), y="loss")


COVERAGE_STEPS = 100  # the steps whose mode counts the status line spans


def _status(lab: toy2d.Lab) -> str:
    fake = lab.generated()
    m = lab.metrics(fake)
    text = f"step {lab.step_count} · energy distance to the target {m['energy_distance']:.3f}"
    if "modes_covered" in m:
        # with its range: paused at one frame, the count read 2/8 where the frame before read 7/8
        lo, hi = lab.coverage_range(COVERAGE_STEPS)
        spread = f" ({lo} to {hi} over the last {COVERAGE_STEPS} steps)" if lo != hi else ""
        text += f" · modes covered {m['modes_covered']}/8{spread} · {m['share_near_modes']:.0%} of samples on a mode"
    # at learning rates of 1 every sample left the plane, which then showed the data alone with no word why
    off = float((fake.abs() > LIM).any(1).float().mean())
    if lab in _STARTED_OVER:
        text = f"{_STARTED_OVER[lab]} · {text}"
    if off > 0:
        # "0%" said none was out while some were: under 1% it is said as a count of the 512
        share = f"{off:.0%}" if off >= 0.01 else f"{round(off * len(fake))} of {len(fake)}"
        text += f" · **{share} of G's samples lie outside the plane shown** ([−{LIM:g}, {LIM:g}]², not drawn)"
    return text


def views(lab: toy2d.Lab) -> tuple:
    return lab, render_plane(lab), render_warp(lab), curves(lab), _status(lab)


def drawn_points(drawing) -> torch.Tensor | None:
    """A sketchpad drawing -> the plane coordinates of its inked pixels (at most 2000)."""
    if drawing is None:
        return None
    image = drawing.get("composite") if isinstance(drawing, dict) else drawing
    if image is None:
        return None
    image = as_image(image)  # refuses a non-image, another format than the uploads' and a huge canvas
    rgba = np.asarray(image.convert("RGBA").resize((SIZE, SIZE)), dtype=np.float64)
    ink = (rgba[..., 3] > 0) & (rgba[..., :3].mean(-1) < 128)
    ys, xs = np.nonzero(ink)
    if len(xs) < 2:
        return None
    pick = np.random.default_rng(0).choice(len(xs), size=min(2000, len(xs)), replace=False)
    x = xs[pick] / SIZE * 2 * LIM - LIM
    y = LIM - ys[pick] / SIZE * 2 * LIM
    return torch.tensor(np.stack([x, y], 1), dtype=torch.float32)


def settings(target, loss, optimizer, lr_g, lr_d, n_critic, z_dim, seed) -> toy2d.LabConfig:
    cfg = toy2d.LabConfig(target=target, loss=loss, optimizer=optimizer,
                          lr_g=number("learning rate of G", lr_g, 1e-6, 1),
                          lr_d=number("learning rate of D", lr_d, 1e-6, 1),
                          n_critic=number("D steps per G step", n_critic, 1, 10, integer=True),
                          z_dim=number("noise dimensions", z_dim, 2, 64, integer=True),
                          seed=number("seed", seed, 0, 2**31 - 1, integer=True))
    cfg.validate()
    return cfg


def _current(lab, cfg: toy2d.LabConfig, drawing) -> toy2d.Lab:
    """The session's lab with the new settings applied: live ones in place, others by starting over."""
    points = drawn_points(drawing) if cfg.target == "drawn" else None
    if cfg.target == "drawn" and points is None:
        raise UserError("draw the target distribution on the canvas first")
    changed = [] if lab is None else [FIELD_NAMES.get(f, f) for f in RESET_FIELDS
                                      if getattr(lab.cfg, f) != getattr(cfg, f)]
    if cfg.target == "drawn" and lab is not None and (lab.points is None or not torch.equal(lab.points, points)):
        changed.append("the drawn target")
    if lab is None or changed:
        fresh = toy2d.Lab(cfg, points)
        if lab is not None and lab.step_count:  # the step count and curves went back to 0 with no word why
            _STARTED_OVER[fresh] = (f"**started over at step 0**: {' and '.join(changed)} changed, which build G, D "
                                    "or their optimisers anew (the loss and learning rates change in place)")
        return fresh
    lab.cfg = dataclasses.replace(lab.cfg, loss=cfg.loss, lr_g=cfg.lr_g, lr_d=cfg.lr_d, n_critic=cfg.n_critic)
    for opt, lr in ((lab.opt_g, cfg.lr_g), (lab.opt_d, cfg.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr
    return lab


@user_errors
def reset(lab, drawing, *options) -> tuple:
    cfg = settings(*options)
    return views(toy2d.Lab(cfg, drawn_points(drawing) if cfg.target == "drawn" else None))


DRAW_FIRST = "draw the target on the canvas under *draw your own target* (points or strokes), then press Play"


@user_errors
def retarget(lab, drawing, *options) -> tuple:
    """A new target shown at once, from step 0 (the old one stayed on screen until Play): the lab's outputs and
    the drawing's accordion, opened when 'drawn' has nothing drawn yet (with a line saying what to do)."""
    import gradio as gr

    if options[0] == "drawn" and drawn_points(drawing) is None:
        # the old target's views go with it (the ring's points, D's field and curves stayed under "draw first")
        return None, None, None, curves(None), DRAW_FIRST, gr.Accordion(open=True)
    return (*reset(lab, drawing, *options), gr.skip())


@user_errors
def step(lab, drawing, steps, *options) -> tuple:
    lab = _current(lab, settings(*options), drawing)
    lab.run(number("steps", steps, 1, 1000, integer=True))
    return views(lab)


# labs whose Play was paused. Pause marks the session's lab here (outside the queue, at once) and Play stops
# at its next step; cancelling the stream alone waited for the queue, and on a busy machine frames kept
# coming for seconds after the click
_PAUSED: weakref.WeakSet = weakref.WeakSet()


def pause(lab) -> None:
    if lab is not None:
        _PAUSED.add(lab)


@user_errors
def play(lab, drawing, *options):
    """Train for FRAME_TRAIN_S, yield the views, repeat, until paused or MAX_PLAY_S / MAX_STEPS."""
    lab = _current(lab, settings(*options), drawing)
    if lab.step_count >= MAX_STEPS:
        raise UserError(f"this run reached {MAX_STEPS} steps: press Reset to start another")
    import gradio as gr

    t_end = time.monotonic() + MAX_PLAY_S
    frame = 0
    _PAUSED.discard(lab)
    while time.monotonic() < t_end and lab.step_count < MAX_STEPS and lab not in _PAUSED:
        t_frame = time.monotonic() + FRAME_TRAIN_S
        lab.run(1)  # at least one step per frame
        while time.monotonic() < t_frame and lab.step_count < MAX_STEPS and lab not in _PAUSED:
            lab.run(1)
        shown = views(lab)
        # the last frame carries the plot, a paused one too: it shows the steps trained up to the Pause
        last = time.monotonic() >= t_end or lab.step_count >= MAX_STEPS or lab in _PAUSED
        yield shown if frame % PLOT_EVERY == 0 or last else (*shown[:3], gr.skip(), shown[4])
        frame += 1


# (target, loss, optimiser, lr G, lr D, D steps, noise dims, seed), measured on the ring over 1200 steps:
PRESETS = {
    # measured over seeds 1-3 (1200 steps): D 3x faster than G with 64-d noise piles G's points onto one or two
    # modes (0.7-0.9 of them on the modes by step 1200); seed 1 is there by step ~800 (~30 s of Play)
    "mode collapse (fast D)": ("ring", "non-saturating", "adam", 2e-3, 6e-3, 1, 64, 1),
    # G's rate as D's: at 5e-3 G's points swung around the ring and the count with them (seeds 0, 1, steps 300-1500:
    # 5.3-7.0 modes on average, 1.3-1.9 modes' change every 4 steps), at 1e-3 7.2-7.7 and 0.6-0.9
    "the cure (WGAN-GP)": ("ring", "wgan-gp", "adam", 1e-3, 1e-3, 5, 2, 0),
    "default (non-saturating)": ("ring", "non-saturating", "adam", 1e-3, 1e-3, 1, 2, 0),
}
CUSTOM = "your own settings"  # what the preset box says once a setting no longer matches the preset it named


def preset_of(*options) -> str:
    """The preset whose settings these are, or CUSTOM: the box went on naming "mode collapse" after its loss was
    changed to WGAN-GP."""
    for name, values in PRESETS.items():
        if all(a == b if isinstance(b, str) else a is not None and not isinstance(a, str) and abs(float(a) - b)
               <= 1e-9 * max(1.0, abs(b)) for a, b in zip(options, values)):
            return name
    return CUSTOM


def apply_preset(name, lab, drawing, *options) -> tuple:
    """A preset's settings, and the lab reset on them from step 0 (it carried on from whatever state the lab was
    in); CUSTOM keeps both."""
    import gradio as gr

    if name not in PRESETS:
        return (gr.skip(),) * (len(options) + 5)
    values = PRESETS[name]
    return (*values, *reset(lab, drawing, *values))


INTRO = r"""
The generator $G$ maps noise $z$ to points (purple; the data's points are green); the discriminator $D$ scores
points (background: orange where it says *real*, blue where it says *fake*). Arrows show $-\nabla_{G(z)} L_G$:
where each generated point is being pushed. The right view is $G$ applied to a regular grid of noise. Try the
preset **mode collapse**: within about 30 s G's points crowd into one stretch of the ring, onto one or two of the
eight modes, while D's field bends around them; its warp of the noise grid folds onto that spot. Play on: near step
5,500 (about a minute) G breaks out onto three or four modes, and by step 8,000 it has crowded onto one or two
again (the preset's seed, 1). That is *mode hopping*: G chases where D is weak, D follows, and the ring is never
covered at once. Then the preset **the cure** (WGAN-GP, 5 D steps): within 30 s its points spread around the whole
ring, filling the gaps between the modes too, so "modes covered" first counts only the modes already dense, and
swings while the points move (the line gives its range); they sharpen as it plays on (seed 0: 6 or 7 of 8 at step
500, as CPUs round differently, 4 to 8 over the 100 steps before; all 8 at step 1000, 6 to 8 before; all 8 with 76%
of the points on them at step 3000)."""


def build(store) -> TabParts:
    import gradio as gr

    from . import image_lab

    parts = TabParts()
    with gr.Tab("2-D points"):
        parts.openings += build_2d()
    with gr.Tab("Images"):
        image_lab.build(store)
    return parts


def build_2d() -> list:
    """The 2-D lab's controls and views; returns its opening (the untrained game on the defaults), so the
    tab opens on the data, G's first samples and D's field rather than on empty boxes."""
    import gradio as gr

    lab = gr.State(None)
    # what to try and the preset that sets it up, above both columns: below 900 px the columns stack with the
    # views first (Play above the pictures it drives), and the settings follow them
    with gr.Row(equal_height=True):
        with gr.Column(scale=3):
            gr.Markdown("### Train live: a GAN on 2-D points\n**Try first:** pick the preset *mode collapse* "
                        "and press Play; after ~30 s, the preset *the cure*.")
        preset = gr.Dropdown([*PRESETS, CUSTOM], value="default (non-saturating)",  # the settings below at start
                             label="preset (pick one: it sets the settings)",
                             info="mode collapse: D learns 3x faster than G, 64-d noise · the cure: WGAN-GP, 5 D "
                                  "steps a G step · default: non-saturating",
                             scale=1, min_width=280)
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            target = gr.Dropdown([*toy2d.TARGETS, "drawn"], value="ring", label="target distribution")
            loss = gr.Dropdown(list(toy2d.LAB_LOSSES), value="non-saturating", label="loss")
            optimizer = gr.Radio(list(toy2d.OPTIMIZERS), value="adam", label="optimiser")
            with gr.Row():
                # the arrow keys step by 1e-4 from 0 (at step 1 from 1e-6, ArrowUp on 0.001 gave 0.000001); the
                # handler refuses a rate under 1e-6 with its range
                lr_g = gr.Number(1e-3, label="learning rate G", minimum=0, maximum=1, step=1e-4)
                lr_d = gr.Number(1e-3, label="learning rate D", minimum=0, maximum=1, step=1e-4)
            n_critic = gr.Slider(1, 10, 1, step=1, label="D steps per G step")
            z_dim = gr.Slider(2, 64, 2, step=1, label="noise dimensions")
            seed = gr.Number(0, label="seed", precision=0, minimum=0)
            with gr.Accordion("draw your own target (choose 'drawn')", open=False) as draw_box:
                drawing = gr.Sketchpad(type="pil", canvas_size=(SIZE, SIZE), label="draw points or strokes", layers=False,
                                       elem_classes="narrow-editor")  # its tools under its name, not over it
        with gr.Column(scale=3, elem_classes="views-first"):
            # the transport sits on top of the views it drives: at 800 px, under the stacked settings, it was
            # ~200 px above the plots, and Play started a run the user could not see
            with gr.Row(elem_classes="transport"):
                play_btn = gr.Button("▶ Play", variant="primary", scale=2)
                pause_btn = gr.Button("Pause", scale=2)
                step_btn = gr.Button("Step ×", scale=1, min_width=80)
                # its name unshown ("Step ×" before it says it) but given: a screen reader read "Number"
                n_steps = gr.Number(1, label="steps a Step press takes", show_label=False, container=False,
                                    precision=0, minimum=1, maximum=1000,
                                    scale=1, min_width=70, elem_id="lab-n-steps")
                reset_btn = gr.Button("Reset", scale=1, min_width=80)
            status = gr.Markdown()
            with gr.Row():
                plane = gr.Image(label="data, samples, D and G's gradients", interactive=False, format="png",
                                 elem_id="lab-plane")
                warp = gr.Image(label="G's warp of the noise grid", interactive=False, format="png")
            # steps as 2k, 4k: the full numbers' ticks ran into each other at 800 px; and its title says what
            # it will draw, as it is empty until the first step (it opened as bare axes; a caption under it was
            # hidden behind the plot; a plot's title shows only with data, so the box's label says it)
            # the colours fixed and named in the label: the legend under the axis was cut off by the box
            # ".3~g": at learning rate 1 the losses reached millions, and their full digits were cut (",000,000")
            plot = gr.LinePlot(x="step", y="loss", color="series", height=270, x_axis_format="~s", show_label=True,
                               y_axis_format=".3~g",
                               color_map={"loss_d": "#4c78a8", "loss_g": "#f58518"},
                               colors_in_legend=[],  # no legend: its title showed alone, its entries cut off
                               label="losses of D (blue) and G (orange), drawn as the game runs (press Play or Step)")
    # the explanation under both columns: at 800 px it sat between the plots and the settings, far from Play
    eq = gr.Markdown(loss_equations("non-saturating"), latex_delimiters=LATEX)
    gr.Markdown(INTRO, latex_delimiters=LATEX)

    options = [target, loss, optimizer, lr_g, lr_d, n_critic, z_dim, seed]
    outputs = [lab, plane, warp, plot, status]
    playing = play_btn.click(play, [lab, drawing, *options], outputs, api_name="lab_play", concurrency_limit=2,
                             show_progress="hidden")
    # not cancelling Play: its stream ends at its next step with a frame of the lab as it stopped. Cancelled, that
    # frame was lost: the page said step 895 after Pause while the lab was at 921, and Step × 1 then showed 922
    pause_btn.click(pause, lab, None, queue=False, api_name=False, show_progress="hidden")
    # one writer per lab: Step and Reset first stop a running Play (they share the session's networks)
    # a small spinner, not the overlay over the five outputs: drawing and removing it cost the page more than a
    # step of milliseconds (the spinner still says that a Step × 1000 of seconds is running)
    step_btn.click(step, [lab, drawing, n_steps, *options], outputs, api_name="lab_step", cancels=[playing],
                   show_progress="minimal")
    reset_btn.click(reset, [lab, drawing, *options], outputs, api_name="lab_reset", cancels=[playing])
    loss.change(loss_equations, loss, eq, api_name=False)
    # a new target (or a new drawing of the drawn one) is shown at once: the ring stayed on screen until Play
    target.change(retarget, [lab, drawing, *options], [*outputs, draw_box], api_name=False, cancels=[playing],
                  show_progress="hidden")
    # (no cancels: the pad reports its last stroke late, and a change arriving after Play stopped the first run)
    drawing.change(lambda lab_, d, *o: retarget(lab_, d, *o) if o[0] == "drawn" else (gr.skip(),) * 6,
                   [lab, drawing, *options], [*outputs, draw_box], api_name=False,
                   show_progress="hidden", trigger_mode="always_last")
    # a preset starts its lesson from step 0; picked by the user only (`input`): set to CUSTOM below, it must not reset
    preset.input(apply_preset, [preset, lab, drawing, *options], [*options, *outputs], api_name=False,
                 cancels=[playing])
    # a setting the user changes that leaves the preset's values renames the box (it named "mode collapse" still)
    gr.on([o.input for o in options], preset_of, options, preset, api_name=False, queue=False,
          show_progress="hidden")
    # outputs without the session's State (the opening is shared by every visitor, their networks are not) and
    # without the plot: its step-0 table (one value a series) draws nothing, and a plot fixes its series from
    # the first table it gets
    def opening():
        _, plane_view, warp_view, _, status_line = reset(None, None, *[c.value for c in options])
        return plane_view, warp_view, status_line

    first = Opening("lab_reset", [], opening, [], 3)
    return [(first, [plane, warp, status])]
