"""How outputs are laid out for people: frame rows and sheets at a visible size, captions under images, colour
scales, plot tables, and a card's hardware and cost in words."""

from __future__ import annotations

import functools
import re
import time

import numpy as np


# every generated frame shows at >= MIN_FRAME_PX CSS px: frame rows are sized to fit OUTPUT_WIDTH px unscaled
# (an output column at 1400 px wide; below 900 px the columns stack and are wider)
MIN_FRAME_PX, OUTPUT_WIDTH = 96, 540
GRID_WIDTH = 700  # a grid of samples: 6 frames of 32 px at 3x (96 px) a row fit a tab's ~690-px output column
# a streamed run's live view refreshes at most 5 times a second. Each refresh costs Gradio ~20 ms of server work
# (its images saved, their paths checked) and slows the steps that run while it is sent. `python -m bench --only
# ui`, 10 refreshes a second -> 5: a 50-step DDIM run to its result 1.55x its bare compute -> 1.35x, text to image
# (4 images, 30 steps) 1.35x -> 1.05x
LIVE_UPDATE_S = 0.2


class LiveUpdates:
    """When a streamed run shows a step: at its first step, then at most `at_most` times a run and once per
    `interval_s`, and never at its last step (the result follows at once). The interval counts from when the page's
    side is done with the last update (`shown()`, called after the yield returns): counted from before the yield,
    the time Gradio spends on an update (encoding it, on a busy server) made the next come sooner, so a run's
    updates, and the files they leave, depended on the load. A 2-step run's updates are the same under any load."""

    def __init__(self, steps: int, at_most: int | None = None, interval_s: float = LIVE_UPDATE_S, costs=None):
        """`costs`: each step's relative cost, where they differ (a guided diffusion step runs the network on a
        batch of two: at even cost, a 16-image run's time left read 53 s with 119 s to go)."""
        self.steps, self.every, self.interval_s, self.last = steps, -(-steps // (at_most or steps)), interval_s, 0.0
        self.done = np.cumsum(np.ones(steps) if costs is None else np.asarray(costs, dtype=np.float64))
        self.start = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the run began."""
        return time.monotonic() - self.start

    def left(self, i: int) -> str:
        """" · about N s left" after step i (from 0), at the pace so far; "" under 2 s. (DDPM's 1000 steps of 16
        images ran 2.5 minutes with no end said.)"""
        seconds = self.elapsed() / self.done[i] * (self.done[-1] - self.done[i])
        return f" · about {seconds:.0f} s left" if seconds >= 2 else ""

    def due(self, i: int) -> bool:
        """Whether step i (from 0) is shown."""
        return i == 0 or (i % self.every == 0 and i < self.steps - 1
                          and time.monotonic() - self.last >= self.interval_s)

    def shown(self) -> None:
        self.last = time.monotonic()


def count(n: int, word: str) -> str:
    """'1 step', '20 steps'."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def guided_on(ts: list[int], t_max: float | None) -> str:
    """What follows "w = ..." in a run's done line: "" when every step of `ts` was guided, else on how many (a model
    guided only in its interval, t < t_max, ran 1 step at t = 999 with w = 10 exactly as with w = 3, unsaid)."""
    guided = sum(t_max is None or t < t_max for t in ts)
    if guided == len(ts):
        return ""
    return (f" on {guided} of {count(len(ts), 'step')} (this model is guided only at t < {t_max:g}, its guidance "
            "interval)")


def frame_scale(px: int) -> int:
    """The whole-number upscale that draws a px-sized frame at >= MIN_FRAME_PX CSS px."""
    return max(1, -(-MIN_FRAME_PX // px))


def frames_view(images, per_row: int | None = None, width: int = OUTPUT_WIDTH,
                titles: list[str] | None = None) -> np.ndarray:
    """uint8 (N, C, H, W) frames -> rows of frames (H', W', 3), each frame upscaled (nearest) to at least
    MIN_FRAME_PX and as many per row as fit `width` px (at most `per_row`), so none is shrunk on the page. The
    rows are balanced: 16 frames where 5 fit make 4 rows of 4, not 3 of 5 and a lone frame. With `titles`, each
    frame has its own above it (one label over a 4 + 3 grid left the reader working out which frame was which)."""
    from trainers.core.images import grid, upscale

    px = int(images.shape[-1])
    scale = frame_scale(px)
    fit = max(1, (width // scale - 2) // (px + 2))
    per_row = min(fit, per_row or fit, len(images))
    rows = -(-len(images) // per_row)
    n = -(-len(images) // rows)
    if titles is None:
        return upscale(grid(images, nrow=n), scale)
    tiles = [upscale(grid(images[i:i + 1], nrow=1), scale) for i in range(len(images))]
    strips = [titled_strip(tiles[i:i + n], titles[i:i + n]) for i in range(0, len(tiles), n)]
    wide = max(s.shape[1] for s in strips)
    return np.concatenate([np.pad(s, ((0, 0), (0, wide - s.shape[1]), (0, 0)), constant_values=255) for s in strips])


def sheet_view(sheet: np.ndarray, px: int) -> np.ndarray:
    """A sheet of px-sized samples (a card's samples.png, a live run's grid) upscaled (nearest) so that every
    tile shows at >= MIN_FRAME_PX CSS px; its layout (a class per row, input | output pairs) stays as made.
    Shown with elem_classes="sheet": never shrunk, it scrolls sideways in a narrower column."""
    from trainers.core.images import upscale

    return upscale(sheet, frame_scale(px))


def alpha_bar_text(a: float) -> str:
    """ᾱ_t for a caption: four decimals, or two significant digits below 1e-3 (at t = 999 "0.0000" read as a
    contradiction of √ᾱ_t's 0.006, and as a division by zero in x̂0 = (x_t − √(1−ᾱ_t) ε) / √ᾱ_t)."""
    return f"{a:.4f}" if a >= 1e-3 else f"{a:.2e}"


LABEL_PX = 14  # text drawn into images: a colour scale's labels, a strip's titles
SCALE_BAND = 36  # the colour bar and its labels under a heat map


def with_scale(heat: np.ndarray, low: str, high: str, colours) -> np.ndarray:
    """A heat map (H, W, 3) with its colour scale below it: `colours` ([0, 1] -> RGB, the map's own) from 0 to 1,
    labelled `low` and `high` at the ends."""
    from PIL import Image, ImageDraw

    h, w = heat.shape[:2]
    bar = colours(np.tile(np.linspace(0, 1, w), (10, 1)))
    canvas = Image.new("RGB", (w, h + SCALE_BAND), (255, 255, 255))
    canvas.paste(Image.fromarray(heat), (0, 0))
    canvas.paste(Image.fromarray(bar), (0, h + 4))
    # 14-px labels: Pillow's 8-px bitmap font read as a smudge once the browser scaled the map down
    draw, font = ImageDraw.Draw(canvas), font_at(LABEL_PX)
    draw.text((2, h + 17), low, fill=(0, 0, 0), font=font)
    draw.text((w - draw.textlength(high, font=font) - 2, h + 17), high, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)


# ten colours that stay apart (Tableau 10), one per class on the maps of codes and embeddings
PALETTE = np.array([[78, 121, 167], [242, 142, 43], [225, 87, 89], [118, 183, 178], [89, 161, 79],
                    [237, 201, 72], [176, 122, 161], [255, 157, 167], [156, 117, 95], [186, 176, 172]], np.uint8)


def class_legend(draw, names, top: int, width: int, row_px: int = 20, per_row: int = 5) -> None:
    """The classes' colours (PALETTE) and names drawn with `draw` in rows of `per_row` across `width` pixels,
    the first row `top` pixels down (a map's legend, under its square)."""
    font = font_at(12)  # Pillow's default bitmap font was ~10 px
    for k, name in enumerate(names):
        x0, y0 = 4 + (k % per_row) * (width // per_row), top + (k // per_row) * row_px
        draw.rectangle([x0, y0 + 3, x0 + 10, y0 + 13], fill=tuple(int(c) for c in PALETTE[k]))
        draw.text((x0 + 14, y0 + 1), name, fill="black", font=font)


@functools.lru_cache(maxsize=64)
def font_at(px: int):
    """Pillow's default (FreeType) font at px pixels, loaded once per size."""
    from PIL import ImageFont

    return ImageFont.load_default(size=px)


def titled_strip(tiles: list[np.ndarray], titles: list[str], gap: int = 8) -> np.ndarray:
    """Images (H, W, 3) uint8 side by side, each with its own title in a white band above it: a strip whose
    captions sit on the images they name (a single line under the strip left the user counting)."""
    from PIL import Image, ImageDraw

    h = max(t.shape[0] for t in tiles)
    # titles grow with the images: a 4 x 4 grid's GIF, shown at half its size in a narrow column, had 7-px titles
    largest = max(LABEL_PX + 4, h // 10)  # 18 px at least: shown at 3/4 size, 16-px titles lost thin strokes ("Ihe VAF")
    band = max(30, round(largest * 1.8))
    w = sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1)
    canvas = Image.new("RGB", (w, h + band), (255, 255, 255))
    draw, x = ImageDraw.Draw(canvas), 0
    # one size for the strip's titles: the largest where each fits over its image, smaller where one does not
    # (a long title ran into the next one's)
    rooms = [t.shape[1] + (gap if k < len(tiles) - 1 else 0) - 6 for k, t in enumerate(tiles)]

    def fits(px: int) -> bool:
        return all(draw.textlength(title, font=font_at(px)) <= room for title, room in zip(titles, rooms))

    # a title's length grows about in proportion to the font size: start from that estimate and step down from
    # it (trying every size down from the largest measured each title up to 13 times: 8 ms a strip, a third of a
    # DDPM run's export of 40 frames)
    lengths = [draw.textlength(title, font=font_at(largest)) for title in titles]
    size = max(10, min([largest] + [int(largest * room / length) for length, room in zip(lengths, rooms) if length]))
    if fits(size):  # the largest size that fits, as a search down from `largest` finds it
        while size < largest and fits(size + 1):
            size += 1
    else:
        size = next((px for px in range(size - 1, 9, -1) if fits(px)), 10)
    font = font_at(size)
    for tile, title in zip(tiles, titles):
        canvas.paste(Image.fromarray(tile), (x, band))
        draw.text((x + 4, (band - size) // 2), title, fill=(0, 0, 0), font=font)
        x += tile.shape[1] + gap
    return np.asarray(canvas)


def _runs(keep: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in a 1-D mask."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def tiles(picture: np.ndarray, most: int = 64) -> list[np.ndarray]:
    """The images of a picture this app drew (a grid of samples, a titled strip, one image), cut apart where it
    put white between them (`grid`'s padding, `titled_strip`'s gaps): bands between all-white rows, then the
    pieces between all-white columns of each band. A title band (not as tall as half the tallest band) and
    slivers (not as wide as half their band is tall) are not images. Left to right, then down; at most `most`."""
    arr = np.asarray(picture)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, -1)
    arr = arr[..., :3]
    if arr.ndim != 3 or not arr.size:
        return []
    white = (arr >= 250).all(-1)
    bands = [(a, b) for a, b in _runs(~white.all(1))]
    tallest = max((b - a for a, b in bands), default=0)
    out = []
    for a, b in bands:
        if b - a < tallest / 2:
            continue
        for c, d in _runs(~white[a:b].all(0)):
            if d - c >= (b - a) / 2:
                out.append(arr[a:b, c:d])
    return out[:most]


def short_hardware(text: str) -> str:
    """A card's hardware for a table cell: "CPU x86_64, 2 cores (torch threads 1)" -> "CPU, 1 of 2 cores" (the long
    form repeated in every row pushed the metrics out of view)."""
    cpu = re.fullmatch(r"CPU [^,]*, (\d+) cores(?: \(torch threads (\d+)\))?", text)
    if cpu:
        cores, threads = int(cpu.group(1)), int(cpu.group(2) or cpu.group(1))
        # the cores and the threads torch used: "CPU, 1 thread" read as a one-core machine beside the card's 2 cores
        return f"CPU, {threads} of {cores} cores" if threads < cores else f"CPU, {cores} cores"
    return text.replace("NVIDIA ", "")


def training_cost(card: dict) -> tuple[float | None, str]:
    """(wall seconds, machines) of a model's whole training: a run continued from another (--init_from, or
    --resume on other machines) counts its lineage, as the card's totals do, not only its last run."""
    seconds = card.get("wall_time_total_s", card.get("wall_time_s"))
    machines = [m for m in dict.fromkeys(short_hardware(h.get("hardware", "")) for h in
                                         [*card.get("history", []), card]) if m]
    if len(machines) > 1:  # "CPU + 1x H100": the thread counts of each CPU run are on the card
        machines = dict.fromkeys("CPU" if m.startswith("CPU") else m for m in machines)
    return seconds, " + ".join(machines)


# the fewest steps a step axis spans. Vega asks for a tick every ~40 px and d3 rounds the spacing to 1, 2 or 5 x
# 10^k: over 10 steps an 800-px plot read 1, 1.5, 2, ...; over 30, whole steps up to ~1,700 px wide
MIN_STEP_SPAN = 30


def series_table(rows: list[dict], skip=("step", "epoch", "time_s"), keep=None, y: str = "value", up_to=None):
    """Logged rows ({"step": s, name: value, ...}) -> the long table a gr.LinePlot draws, one series per name:
    columns step (int), `y` (float), series (string). Typed even when empty: a plot takes its axes' types from
    the first table it gets, and an untyped empty one made the values categorical (labels piled up, no line).
    Every name in `keep` is in the table, as a NaN row (drawn as nothing) until it has values: a plot also fixes
    its series from its first table, and a step-0 table without them left a whole run with no lines."""
    import pandas as pd

    data = [(int(float(r["step"])), float(v), k) for r in rows if up_to is None or int(float(r["step"])) <= up_to
            for k, v in r.items() if k not in skip and (keep is None or k in keep) and v not in ("", None)]
    present = {k for _, _, k in data}
    names = list(dict.fromkeys([k for _, _, k in data] + list(keep or ())))
    first = min((s for s, _, _ in data), default=0)
    last = max((s for s, _, _ in data), default=first)
    data += [(first, float("nan"), k) for k in names if k not in present]
    # and a NaN row a name at first + MIN_STEP_SPAN while the run is shorter: the axis spans that many steps, so its
    # ticks are whole steps (over 1 to 2 steps Vega's read 1, 1.05, 1.1, ...; an empty table's axis had no range
    # and read "NaN"). (The plot's x_lim did it too, but an update that set it left a reset plot's old lines drawn.)
    if last < first + MIN_STEP_SPAN:
        data += [(first + MIN_STEP_SPAN, float("nan"), k) for k in names]
    return pd.DataFrame(data, columns=["step", y, "series"]).astype({"step": "int64", y: "float64", "series": "string"})
