"""Helpers every tab uses: user errors as gr.Error, uploaded images to model inputs."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import inspect
import json
import logging
import re
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from trainers.core.errors import UserError

_log = logging.getLogger("playground")
MAX_UPLOAD_PIXELS = 4096 * 4096
# gr.Markdown renders only $$...$$ by default; the explanations use inline $...$ too
LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]


# every generated frame shows at >= MIN_FRAME_PX CSS px: frame rows are sized to fit OUTPUT_WIDTH px unscaled
# (an output column at 1400 px wide; below 900 px the columns stack and are wider)
MIN_FRAME_PX, OUTPUT_WIDTH = 96, 540

# the page's style: labels and toolbars sit above an image, never over it; pixel art stays sharp; below
# 900 px the tab's columns stack (controls above outputs) and the tab buttons narrow so that at 800 px none hides
# behind Gradio's "..." overflow menu
CSS = """
.block > label[data-testid="block-label"].float { position: static; margin-bottom: 4px; }
.image-container .icon-button-wrapper.top-panel { position: static; justify-content: flex-end; margin-bottom: 2px; }
.image-container img, .image-frame img { image-rendering: pixelated; }
/* an upload smaller than its box is shown enlarged, like the examples (a 64-px upload sat at 64 px) */
.block:has(input[type=file]) .image-frame img { min-width: 128px; min-height: 128px; object-fit: contain; }
/* a drawing canvas's zoom / undo / clear bar sits on the canvas's top right, not across the middle of it nor
   over its name (the name of each VAE editor, A, B or C, was hidden under the canvas); its tools sit at the
   block's left edge, beside the image rather than over the garment's left side */
.image-container:has(canvas) .icon-button-wrapper.top-panel { position: absolute !important; top: 2px !important;
  bottom: auto !important; left: auto !important; right: 2px !important; margin: 0; }
.block:has(.pixi-target) > label[data-testid="block-label"] { position: relative; z-index: 3; }
.narrow-editor .image-container:has(canvas) .icon-button-wrapper.top-panel { top: 30px !important; }  /* too narrow for both in a line */
.image-container:has(.pixi-target) .toolbar-wrap { left: 0 !important; }
/* a user error is said once, in its toast; the outputs keep what they showed instead of an "Error" badge each */
[data-testid="status-tracker"]:has(> span.error) { display: none; }
.frames img { object-fit: contain; max-width: 100%; }
/* a card's training command wraps at the column's edge instead of scrolling sideways as a code block does */
#about-card pre, #about-card pre code { white-space: pre-wrap; overflow-wrap: anywhere; }
.upload-refused { position: absolute; left: 0; right: 0; bottom: 0; z-index: 5; padding: 6px 8px;
  color: var(--error-text-color, #b91c1c); background: var(--background-fill-primary, #fff); font-size: var(--text-md); }
/* the walk's GIF as tall as its MP4 beside it (it was drawn at its 128 px), crisp when enlarged */
.transport { align-items: center; }  /* Train live's Play | Pause | Step x [n] | Reset, one line */
#gan-walk-gif img { height: 224px; width: auto; image-rendering: pixelated; }
/* a results gallery shows all its items: Gradio fixed its height (~500 px) even at height="auto", and
   scrolled away a compared model's rows and captions */
.full-gallery .grid-wrap.fixed-height { height: auto !important; max-height: none !important; }
/* a picker gallery (small thumbnails to click) writes each caption under its thumbnail, not over the garment */
.picker .thumbnail-item:has(> .caption-label) { display: flex; flex-direction: column; height: auto !important;
  aspect-ratio: auto !important; overflow: visible; }
.picker .thumbnail-item:has(> .caption-label) > img { height: 100px; min-height: 100px; flex: none; }
.picker .thumbnail-item > .caption-label { position: static !important; max-width: 100%; margin: 2px auto 0; }
/* a results gallery's caption (model name, ms/image) goes under its grid, not over its last row's samples */
.full-gallery .thumbnail-item:has(> .caption-label) { display: flex; flex-direction: column; height: auto !important;
  aspect-ratio: auto !important; overflow: visible; }
.full-gallery .thumbnail-item:has(> .caption-label) > img { flex: none; height: auto; }
.full-gallery .thumbnail-item > .caption-label { position: static !important; max-width: 100%; margin: 2px auto 0; }
/* a video shows its whole frame (the player cropped the loop's shirt and the diffusion strip's edges) */
video { object-fit: contain !important; }
#vae-point img { width: 192px; height: 192px; object-fit: contain; }
/* a dropdown's value stops short of its arrow (long model names ran under it) */
.secondary-wrap input { padding-right: 22px !important; text-overflow: ellipsis; }
.sheet .image-frame { overflow-x: auto; justify-content: flex-start; }
.sheet img { max-width: none !important; max-height: none !important; width: auto; height: auto; }
#clf-seen .image-container, #clf-seen .image-frame { min-height: 200px; }
#clf-seen img { width: 192px !important; height: 192px !important; max-width: none !important;
                max-height: none !important; object-fit: contain !important; }
/* a table wider than the page scrolls sideways: say so where its columns are cut */
@media (max-width: 1500px) {  /* Compare's four models cut the last column at 1400 px too */
  .wide-table::before { content: "scroll the table sideways for every column →"; display: block; font-size: 13px;
                        color: var(--body-text-color-subdued); padding: 2px 4px; }
}
@media (max-width: 900px) {
  .row:has(> .column) { flex-direction: column; }
  .row:has(> .column) > .column, .row:has(> .column) > .tabs { width: 100%; min-width: 0 !important; }
  .tab-wrapper .tab-container > button { padding: 4px 7px; font-size: 14px; }
  .row > .column.views-first { order: -1; }  /* Train live: Play and the views, then the settings */
}
"""


# after a restore put an export's settings back, press the button that made it (wire gives each its class)
# ({"api", "tabs"}: the labels of the tabs around the button, outermost first; a tab mounts its content when shown)
RERUN_JS = """(spec) => {
  if (!spec) return;
  const {api, tabs} = JSON.parse(spec);
  const next = (i) => {
    if (i < tabs.length) {
      const t = [...document.querySelectorAll('button[role=tab]')].find(
        b => b.offsetParent && b.innerText.trim() === tabs[i]);
      if (t && t.getAttribute('aria-selected') !== 'true') t.click();
      setTimeout(() => next(i + 1), 300);
    } else {
      const b = document.querySelector('button.run-' + api);
      if (b) b.click();
    }
  };
  setTimeout(() => next(0), 300);
}"""


# a sketchpad is ready to draw when it appears: its brush is picked once, as a user's first click would; and
# again after "Clear canvas", which leaves Gradio's editor asking to "select the draw tool to start"
JS = """() => {
  const pick = () => document.querySelectorAll('button[aria-label="Brush"]').forEach(b => {
    if (b.offsetParent && !b.dataset.picked) { b.dataset.picked = "1"; b.click(); }
  });
  new MutationObserver(pick).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                     attributeFilter: ["class", "style", "hidden"]});
  document.addEventListener('click', (e) => {
    const clear = e.target.closest && e.target.closest('button[aria-label="Clear canvas"]');
    const editor = clear && clear.closest('.block');
    if (editor) setTimeout(() => {
      const b = editor.querySelector('button[aria-label="Brush"]');
      if (b) b.click();
      // the cleared canvas is white: a white brush (the VAE's editors, for light garments on black) drew
      // invisibly there, so switch to the editor's black, if it offers one (dark on white is read inverted).
      // The brush's Color button exists once the brush is picked, and its swatches once it is pressed.
      setTimeout(() => {
        const color = editor.querySelector('button[aria-label="Color"]');
        if (!color || getComputedStyle(color).color !== 'rgb(255, 255, 255)') return;
        color.click();
        setTimeout(() => {
          const black = [...editor.querySelectorAll('button.color')].find(
            s => s.style.backgroundColor === 'rgb(0, 0, 0)');
          if (black) black.click();
        }, 150);
      }, 150);
    }, 150);
  }, true);
  // an editor given a file the browser cannot decode (a .txt named .png) stays blank and Gradio says nothing;
  // say it in the editor's box (gr.Image inputs are checked on the server: check_uploads)
  const vet = (block, files) => {
    if (!block || !files || !files.length || !block.querySelector('button[aria-label="Clear canvas"]')) return;
    const file = files[0];
    let note = block.querySelector('.upload-refused');
    if (!note) {
      note = document.createElement('div');
      note.className = 'upload-refused';
      note.setAttribute('role', 'alert');
      block.appendChild(note);
    }
    createImageBitmap(file).then((bitmap) => { bitmap.close(); note.hidden = true; }, () => {
      note.textContent = '"' + file.name + '" is not an image this editor can open: choose a PNG, JPEG, GIF, ' +
                         'WEBP or BMP file.';
      note.hidden = false;
    });
  };
  document.addEventListener('change', (e) => {
    if (e.target.type === 'file') vet(e.target.closest('.block'), e.target.files);
  }, true);
  document.addEventListener('drop', (e) => {
    vet(e.target.closest && e.target.closest('.block'), e.dataTransfer && e.dataTransfer.files);
  }, true);
  pick();
}"""


def frame_scale(px: int) -> int:
    """The whole-number upscale that draws a px-sized frame at >= MIN_FRAME_PX CSS px."""
    return max(1, -(-MIN_FRAME_PX // px))


def frames_view(images, per_row: int | None = None, width: int = OUTPUT_WIDTH) -> np.ndarray:
    """uint8 (N, C, H, W) frames -> rows of frames (H', W', 3), each frame upscaled (nearest) to at least
    MIN_FRAME_PX and as many per row as fit `width` px (at most `per_row`), so none is shrunk on the page. The
    rows are balanced: 16 frames where 5 fit make 4 rows of 4, not 3 of 5 and a lone frame."""
    from trainers.core.images import grid, upscale

    px = int(images.shape[-1])
    scale = frame_scale(px)
    fit = max(1, (width // scale - 2) // (px + 2))
    per_row = min(fit, per_row or fit, len(images))
    rows = -(-len(images) // per_row)
    return upscale(grid(images, nrow=-(-len(images) // rows)), scale)


def sheet_view(sheet: np.ndarray, px: int) -> np.ndarray:
    """A sheet of px-sized samples (a card's samples.png, a live run's grid) upscaled (nearest) so that every
    tile shows at >= MIN_FRAME_PX CSS px; its layout (a class per row, input | output pairs) stays as made.
    Shown with elem_classes="sheet": never shrunk, it scrolls sideways in a narrower column."""
    from trainers.core.images import upscale

    return upscale(sheet, frame_scale(px))


def with_scale(heat: np.ndarray, low: str, high: str, colours) -> np.ndarray:
    """A heat map (H, W, 3) with its colour scale below it: `colours` ([0, 1] -> RGB, the map's own) from 0 to 1,
    labelled `low` and `high` at the ends."""
    from PIL import Image, ImageDraw

    h, w = heat.shape[:2]
    bar = colours(np.tile(np.linspace(0, 1, w), (10, 1)))
    canvas = Image.new("RGB", (w, h + 30), (255, 255, 255))
    canvas.paste(Image.fromarray(heat), (0, 0))
    canvas.paste(Image.fromarray(bar), (0, h + 4))
    draw = ImageDraw.Draw(canvas)
    draw.text((2, h + 16), low, fill=(0, 0, 0))
    draw.text((w - 6 * len(high) - 2, h + 16), high, fill=(0, 0, 0))
    return np.asarray(canvas)


def titled_strip(tiles: list[np.ndarray], titles: list[str], gap: int = 8) -> np.ndarray:
    """Images (H, W, 3) uint8 side by side, each with its own title in a white band above it: a strip whose
    captions sit on the images they name (a single line under the strip left the user counting)."""
    from PIL import Image, ImageDraw, ImageFont

    band, font = 24, ImageFont.load_default(size=14)
    h = max(t.shape[0] for t in tiles)
    w = sum(t.shape[1] for t in tiles) + gap * (len(tiles) - 1)
    canvas = Image.new("RGB", (w, h + band), (255, 255, 255))
    draw, x = ImageDraw.Draw(canvas), 0
    for tile, title in zip(tiles, titles):
        canvas.paste(Image.fromarray(tile), (x, band))
        draw.text((x + 2, 4), title, fill=(0, 0, 0), font=font)
        x += tile.shape[1] + gap
    return np.asarray(canvas)


def short_hardware(text: str) -> str:
    """A card's hardware for a table cell: "CPU x86_64, 2 cores (torch threads 1)" -> "CPU, 1 thread" (the long
    form repeated in every row pushed the metrics out of view)."""
    cpu = re.fullmatch(r"CPU [^,]*, (\d+) cores(?: \(torch threads (\d+)\))?", text)
    if cpu:
        threads = int(cpu.group(2) or cpu.group(1))
        return f"CPU, {threads} thread{'s' if threads > 1 else ''}"
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


CAPTION_PX = 30  # Gradio draws a gallery item's caption over the bottom of its image, about this tall


def captioned(items: list[tuple[np.ndarray, str]]) -> list[tuple[np.ndarray, str]]:
    """A gallery's (image, caption) pairs, each image with a white band under it where the caption sits, so
    that the caption covers no pixel of the image (it hid a compared model's last row of samples)."""
    def band(image: np.ndarray) -> np.ndarray:
        pad = [(0, CAPTION_PX), (0, 0)] + [(0, 0)] * (image.ndim - 2)
        return np.pad(image, pad, constant_values=255)

    return [(band(np.asarray(image)), caption) for image, caption in items]


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
    data += [(data[0][0] if data else 0, float("nan"), k) for k in keep or () if k not in present]
    return pd.DataFrame(data, columns=["step", y, "series"]).astype({"step": "int64", y: "float64", "series": "string"})


EXPORT_DIR = Path(tempfile.gettempdir()) / "playground-exports"
EXPORT_TTL_S = 15 * 60  # downloads older than this are deleted ...
EXPORT_MAX_FILES = 200  # ... and only this many are kept, so the folder stays bounded under any load


# the settings of the call being served (set by `tagged` around the handler): GIF/MP4 exports carry them
_EXPORT_SETTINGS: contextvars.ContextVar[str | None] = contextvars.ContextVar("export_settings", default=None)


def export_file(data: bytes, stem: str, suffix: str) -> str:
    """Write a download (GIF, MP4, PNG) into the app's export folder and return its path. The name is the
    content's hash, so the same result is the same file (repeated requests add nothing), the write is atomic,
    and the folder is pruned to EXPORT_TTL_S and EXPORT_MAX_FILES. Inside a call wired by `tagged`, a GIF or
    MP4 first gets the call's settings (a GIF comment extension; the MP4's `comment` tag; no pixel changes),
    which `read_settings` gives back."""
    import hashlib

    from trainers.core.checkpoint import atomic_write_bytes
    from trainers.core.images import gif_with_comment, mp4_with_comment

    settings = _EXPORT_SETTINGS.get()
    if settings is not None and suffix in (".gif", ".mp4"):
        data = gif_with_comment(data, settings) if suffix == ".gif" else mp4_with_comment(data, settings)
    EXPORT_DIR.mkdir(exist_ok=True)

    path = EXPORT_DIR / f"{_named(stem, settings)}-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
    atomic_write_bytes(path, data, fsync=False)
    _prune_exports(keep=path)
    return str(path)


def _named(stem: str, settings: str | None, limit: int = 90) -> str:
    """A download's name that says what it is: the stem, then the call's short settings in order, e.g.
    `ddpm-run_ddpm-fashion_ddim_steps-50_seed-0` (a folder of downloads named `ddpm-run-<hash>` told nothing)."""
    if not settings:
        return stem
    try:
        inputs = json.loads(settings.split(":", 1)[1]).get("inputs", {})
    except (ValueError, AttributeError):
        return stem
    parts = [stem]
    for key, value in inputs.items():
        if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
            continue
        text = value if isinstance(value, str) else f"{key}-{value:g}"
        text = re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-.")[:32]
        if text and len("_".join([*parts, text])) <= limit:
            parts.append(text)
    return "_".join(parts)


def _prune_exports(keep: Path) -> None:
    now, files = time.time(), []
    for f in EXPORT_DIR.iterdir():
        try:
            files.append((f.stat().st_mtime, f))
        except OSError:  # another request removed it first
            pass
    files.sort(reverse=True)
    for i, (mtime, f) in enumerate(files):
        if f != keep and (i >= EXPORT_MAX_FILES or now - mtime > EXPORT_TTL_S):
            f.unlink(missing_ok=True)


META_KEY = "playground"  # the PNG text chunk that carries an exported image's settings


def _settings(names: list[str], args: tuple) -> dict:
    """The scalar inputs of a call by name (uploaded images and drawings are not settings)."""
    scalar = (str, int, float, bool, type(None))
    return {k: v for k, v in zip(names, args)
            if isinstance(v, scalar) or (isinstance(v, (list, tuple)) and all(isinstance(x, scalar) for x in v))}


def _tag_value(value, meta: dict):
    from PIL import Image

    if isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim in (2, 3):
        image = Image.fromarray(value)
        image.info[META_KEY] = json.dumps(meta)  # Gradio writes text info into the PNG it serves
        return image
    if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return [(_tag_value(a, meta), b) for a, b in value]  # a gallery's (image, caption) pairs
    return value


# Stop buttons of streamed runs. A press marks (session, run) here at once, outside the queue, and the stream
# ends itself before its next frame with its own last word. Cancelling the stream instead (Gradio's `cancels`)
# raced it: a frame computed before the cancel landed after the "stopped" line, which then read "step 392/1000".
_STOPPED: set[tuple[str | None, str]] = set()


def _session() -> str | None:
    """The session of the Gradio event this thread runs (None outside one: tests, scripts)."""
    from gradio.context import LocalContext

    return getattr(LocalContext.request.get(None), "session_hash", None)


def stop_requested(run: str) -> bool:
    """Whether this session pressed the Stop of `run` since the run started (see `stop_button`)."""
    return (_session(), run) in _STOPPED


def stop_clear(run: str) -> None:
    """Forget this session's Stop of `run`: a press before a run started was for an earlier one."""
    _STOPPED.discard((_session(), run))


def request_stop(run: str, session: str | None = None) -> None:
    """What the Stop of `run` does for `session` (None: outside Gradio, as tests call the handlers)."""
    _STOPPED.add((session, run))


def stop_button(button, run: str) -> None:
    """Wire `button` to stop this session's streamed `run`: a handler wrapped by `stoppable` (or one that asks
    `stop_requested` itself) ends at its next frame."""
    import gradio as gr

    def press(request) -> None:
        request_stop(run, request.session_hash)

    # the annotation as a class, not the string `from __future__ import annotations` makes of it: Gradio
    # passes the request to a parameter whose type it can resolve, and `gr` is not a global here
    press.__annotations__["request"] = gr.Request
    button.click(press, None, None, queue=False, api_name=False, show_progress="hidden")


def stoppable(fn, run: str, status: int, n_outputs: int, message: str):
    """The streaming handler `fn`, ended by `stop_button(..., run)`: at its next frame the handler is closed
    (its `finally` runs) and the last update writes `message` into output `status`, the rest left as shown."""
    @functools.wraps(fn)
    def stream(*args):
        import gradio as gr

        me = (_session(), run)
        stop_clear(run)
        it = fn(*args)
        try:
            for out in it:
                if me in _STOPPED:
                    break
                yield out
            else:
                return
        finally:
            it.close()
            _STOPPED.discard(me)
        yield tuple(message if i == status else gr.skip() for i in range(n_outputs))

    return stream


def tagged(api: str, names: list[str], fn):
    """Wire a handler into a click so that every image it returns is a PNG carrying the call's settings
    ({"api": api, "inputs": {name: value}}), and every GIF/MP4 it exports (`export_file`) carries them too;
    `read_settings` gives them back when the file is dropped into the app. Works for plain and streaming
    (generator) handlers; the handler itself stays pure."""
    def within(meta: dict, step, *a):
        """step(*a) with the settings in reach of `export_file` (set and reset in this thread, around the call)."""
        token = _EXPORT_SETTINGS.set(f"{META_KEY}:{json.dumps(meta)}")
        try:
            return step(*a)
        finally:
            _EXPORT_SETTINGS.reset(token)

    def tag(out, meta: dict):
        return tuple(_tag_value(v, meta) for v in out) if isinstance(out, tuple) else _tag_value(out, meta)

    if inspect.isgeneratorfunction(fn):
        def run_stream(*args):
            meta, it = {"api": api, "inputs": _settings(names, args)}, fn(*args)
            while True:  # each resume of the handler runs with the settings set (Gradio may switch threads)
                try:
                    out = within(meta, next, it)
                except StopIteration:
                    return
                yield tag(out, meta)

        return run_stream

    def run(*args):
        meta = {"api": api, "inputs": _settings(names, args)}
        return tag(within(meta, fn, *args), meta)

    return run


class Opening:
    """A tab's first result: its main action run on the tab's default settings, so that a newcomer opens
    the tab on something to look at. It runs once (on the first page load, or earlier by `warm` at launch)
    and is then served to every visitor from memory; it runs again only if an export it names (a GIF or
    MP4, pruned after EXPORT_TTL_S) is gone. A failure leaves the outputs empty and logs one line."""

    def __init__(self, api: str, names: list[str], fn, values: list, n_outputs: int):
        self.api, self._run, self._n = api, functools.partial(tagged(api, names, fn), *values), n_outputs
        self._lock, self._value = threading.Lock(), None

    def _stale(self) -> bool:
        out = self._value if isinstance(self._value, tuple) else (self._value,)
        return self._value is None or any(isinstance(v, str) and v.startswith(str(EXPORT_DIR)) and
                                          not Path(v).exists() for v in out)

    def __call__(self):
        with self._lock:
            if self._stale():
                try:
                    out = self._run()
                    if inspect.isgenerator(out):  # a streamed run: its last update is the finished result
                        for out in out:
                            pass
                    self._value = out
                except Exception as e:  # noqa: BLE001 - an opening must never stop the page from loading
                    _log.warning("%s: no opening result (%s: %s)", self.api, type(e).__name__, e)
                    return (None,) * self._n if self._n > 1 else None
            return self._value


@dataclasses.dataclass
class TabParts:
    """What a tab's build() hands back to the app: checkpoint lists to refresh when the tab opens
    ((dropdown, lister) pairs), per api name the named inputs an exported PNG can restore, and the
    openings (an `Opening` and its outputs) to show when the page loads."""
    refresh: list = dataclasses.field(default_factory=list)
    restore: dict = dataclasses.field(default_factory=dict)
    openings: list = dataclasses.field(default_factory=list)
    reruns: dict = dataclasses.field(default_factory=dict)  # api -> labels of the tabs around its button


def tab_path(block) -> list[str]:
    """The labels of the tabs a block sits in, outermost first (what a user clicks to reach it)."""
    import gradio as gr

    labels = []
    while block is not None:
        if isinstance(block, gr.Tab):
            labels.insert(0, str(block.label))
        block = getattr(block, "parent", None)
    return labels


def wire(event, api: str, inputs: dict, fn, outputs, parts: TabParts, opening: bool | dict = False,
         stop: tuple | None = None, **kwargs):
    """event(fn, inputs, outputs, api_name=api) with `fn`'s images tagged with the call's settings,
    and the named inputs registered so an exported image restores them. `opening` (True, or a dict of
    {input name: value} for inputs whose default is not a plain value) also shows the action's result on
    the inputs' defaults when the page loads (`Opening`). `stop` = (button, status output, message) gives a
    streaming `fn` a Stop button (`stoppable`)."""
    parts.restore[api] = inputs
    button = getattr(event, "__self__", None)
    if button is not None and event == getattr(button, "click", None):  # so a restore can press it (RERUN_JS)
        classes = button.elem_classes or []
        button.elem_classes = [*([classes] if isinstance(classes, str) else classes), f"run-{api}"]
        parts.reruns[api] = tab_path(button)
    if opening:
        given = opening if isinstance(opening, dict) else {}
        values = [given[k] if k in given else c.value for k, c in inputs.items()]
        outs = outputs if isinstance(outputs, list) else [outputs]
        parts.openings.append((Opening(api, list(inputs), fn, values, len(outs)), outputs))
    handler = tagged(api, list(inputs), fn)
    if stop is not None:
        button, status, message = stop
        outs = outputs if isinstance(outputs, list) else [outputs]
        handler = stoppable(handler, api, outs.index(status), len(outs), message)
        stop_button(button, api)
    dependency = event(handler, list(inputs.values()), outputs, api_name=api, **kwargs)
    # a refused action leaves no earlier result under its message (it would read as the answer to it)
    outs = outputs if isinstance(outputs, list) else [outputs]
    dependency.failure(functools.partial(_cleared, outs, list(inputs.values())), None, outputs, api_name=False,
                       show_progress="hidden", queue=False)
    return dependency


def _cleared(outputs: list, inputs: list):
    """Empty values for an action's result components; its inputs and controls keep their values."""
    import gradio as gr

    results = (gr.Image, gr.Gallery, gr.Video, gr.File, gr.Plot, gr.LinePlot, gr.Markdown, gr.Label, gr.HTML,
               gr.ImageSlider, gr.Model3D, gr.JSON, gr.Dataframe, gr.Textbox)
    values = [None if isinstance(c, results) and not getattr(c, "interactive", False)
              and not any(c is i for i in inputs) else gr.skip() for c in outputs]
    return values[0] if len(values) == 1 else tuple(values)


def _mp4_comment(path) -> str | None:
    import av

    try:
        with av.open(str(path)) as container:
            comment = container.metadata.get("comment", "")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError):
        raise UserError("that file is not an MP4 this app can read") from None
    return comment[len(META_KEY) + 1:] if comment.startswith(META_KEY + ":") else None


SETTINGS_FILES = (".png", ".gif", ".mp4")  # exports that carry their settings


def read_settings(path) -> dict:
    """The settings an exported PNG, GIF or MP4 carries, or a UserError saying why there are none."""
    if not path:
        raise UserError("drop a PNG, GIF or MP4 exported by this app")
    if str(path).lower().endswith(".mp4"):
        raw = _mp4_comment(path)
    else:
        try:
            image = open_upload(path, formats=("PNG", "GIF"))  # decoded: text chunks may follow the pixels
        except UserError as e:  # the drop zone takes MP4 too: say so, not only "(PNG, GIF)"
            raise UserError(f"this file is not a PNG, GIF or MP4 exported by this app ({e})") from None
        raw = image.info.get(META_KEY)
        comment = image.info.get("comment", b"")
        if raw is None and isinstance(comment, bytes) and comment.startswith(META_KEY.encode() + b":"):
            raw = comment[len(META_KEY) + 1:].decode("utf-8", "replace")
    if not raw:
        raise UserError("this file carries no playground settings (only images and videos exported by this "
                        "app do)")
    try:
        meta = json.loads(raw)
    except ValueError:
        raise UserError("the image's settings are unreadable") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("api"), str) or not isinstance(meta.get("inputs"), dict):
        raise UserError("the image's settings are unreadable")
    return meta


def number(label: str, v, lo: float, hi: float) -> float:
    """A finite number in [lo, hi], or a UserError naming the control (API callers can send anything)."""
    try:
        ok = v is not None and not isinstance(v, bool) and np.isfinite(float(v)) and lo <= float(v) <= hi
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
        ok = False
    if not ok:
        raise UserError(f"{label} must be a number in [{lo}, {hi}], got {str(v)[:40]!r}")
    return float(v)


def choice(label: str, v, options) -> str:
    """One of the strings `options`, or a UserError naming the control and listing them (API callers can
    send anything, lists and numbers included)."""
    if not isinstance(v, str) or v not in options:
        raise UserError(f"{label} must be one of {', '.join(options)}, got {str(v)[:40]!r}")
    return v


def user_errors(fn):
    """Show a `UserError` as a gr.Error message; other exceptions reach Gradio, which hides internals.
    Generator handlers (streamed outputs) are wrapped as generators, so errors raised mid-run count too."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            import gradio as gr

            try:
                yield from fn(*args, **kwargs)
            except UserError as e:
                raise _shown(gr, fn, e) from None

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import gradio as gr

        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise _shown(gr, fn, e) from None

    return wrapper


def _shown(gr, fn, e: UserError):
    """The gr.Error the user sees; the server logs one line for it, not a stack trace (it is no bug)."""
    _log.warning("user error in %s: %s", getattr(fn, "__name__", "handler"), e)
    return gr.Error(str(e), print_exception=False)


def quiet_validation(blocks) -> None:
    """Gradio checks each input against its component (a value not among a dropdown's choices, a number past
    a slider's maximum) before any handler runs, and raises a gr.Error that prints a stack trace. Those are
    user errors too: each component's check re-raises them as one logged line, with the same message. An
    image input's file that Pillow cannot open (Gradio decodes it before the handler) gets a clear message
    naming the formats and the pixel limit, where Gradio showed nothing."""
    import gradio as gr

    from PIL import Image

    def quiet(check, name, decodes: bool, blobs: dict | None):
        @functools.wraps(check)
        def run(*args, **kwargs):
            if decodes and args:
                # our header check before Gradio opens or decodes anything: format and pixels from the header
                try:
                    for source in _uploaded_files(args[0], blobs):
                        check_upload(source)
                except UserError as e:
                    _log.warning("user error in %s: %s", name, e)
                    raise gr.Error(f"{name}: {e}", print_exception=False) from None
            try:
                return check(*args, **kwargs)
            except gr.Error as e:
                if not e.print_exception:
                    raise
                _log.warning("user error in %s: %s", name, e.message)
                raise gr.Error(e.message, duration=e.duration, visible=e.visible, title=e.title,
                               print_exception=False) from None
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
                if not decodes:
                    raise
                # its header passed our check above: Gradio failed decoding the data (an editor decodes every
                # upload), which showed the user a bare "Error"
                _log.warning("user error in %s: undecodable image (%s)", name, type(e).__name__)
                raise gr.Error(f"{name}: the image's data is damaged or truncated (it must be a whole PNG, JPEG, "
                               f"GIF, WebP or BMP file of at most {pixel_cap():,} pixels)",
                               print_exception=False) from None
        return run

    images = (gr.Image, gr.ImageEditor)  # a Sketchpad is an ImageEditor
    bases = (gr.components.Component, gr.components.base.ComponentBase)
    for block in blocks.blocks.values():
        # its own preprocess or an inherited one (a Sketchpad's is the ImageEditor's: it was left unwrapped)
        owner = next((k for k in type(block).__mro__ if "preprocess" in k.__dict__), None)
        if isinstance(block, gr.components.Component) and owner not in (None, *bases):
            block.preprocess = quiet(block.preprocess, getattr(block, "label", None) or type(block).__name__,
                                     isinstance(block, images), getattr(block, "blob_storage", None))


# the raster formats an upload may be in. Everything else is refused before a plugin decodes it: EPS (a
# PostScript program, which Pillow renders by running Ghostscript), TIFF, PSD, ICO...
MIN_SIDE = 8  # a smaller image holds no garment: a 1x1 upload was stretched into a noise blob
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
# what Pillow's JPEG plugin calls a JPEG with extra pictures (many phone cameras write them); the first is read
MPO = "MPO"


def pixel_cap() -> int:
    """The most pixels an uploaded image may have: MAX_UPLOAD_PIXELS, or Pillow's limit if a deployment set it lower."""
    from PIL import Image

    return min(MAX_UPLOAD_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_UPLOAD_PIXELS)


def harden_pillow() -> None:
    """Process-wide Pillow settings for a server that opens strangers' files (`create_app` applies them).

    Gradio opens an upload with Pillow before any handler runs (and decodes a PNG there to read its EXIF;
    gr.ImageEditor converts every upload), so the handlers' own checks come too late for two things:
    the decompression-bomb limit is lowered to the app's cap (Pillow then refuses an image of more than
    twice the cap from its header, and the handlers refuse the rest before decoding), and Ghostscript,
    which Pillow's EPS plugin would run on an upload, is marked missing so that it never runs.
    """
    from PIL import EpsImagePlugin, Image

    Image.MAX_IMAGE_PIXELS = pixel_cap()
    EpsImagePlugin.gs_binary = False


def harden_gradio_cache() -> None:
    """Make Gradio's image cache writes atomic (`create_app` applies it). Gradio 6 names a cached output by its
    content's hash and rewrites it in place (`Path.write_bytes`) on every request that returns the same image,
    so under concurrent identical requests a client downloading the file can read it truncated or empty
    (found by tests/test_load.py: "peer closed connection ... received 0 bytes"). The replacement writes a
    temporary file and renames it into place: a reader sees the old whole file or the new whole file."""
    from gradio import processing_utils as pu

    from trainers.core.checkpoint import atomic_write_bytes

    if getattr(pu.save_pil_to_cache, "atomic", False):
        return

    def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        data = pu.encode_pil_to_bytes(img, format)
        target = (Path(cache_dir) / pu.hash_bytes(data) / f"{name}.{format}").resolve()
        atomic_write_bytes(target, data, fsync=False)  # creates the folder
        return str(target)

    save_pil_to_cache.atomic = True
    pu.save_pil_to_cache = save_pil_to_cache  # save_img_array_to_cache and every component look it up here


def _check_header(image) -> None:
    """Refuse a PIL image of a format outside UPLOAD_FORMATS or of more than `pixel_cap()` pixels, from what
    its header says (nothing is decoded). Images made in memory (drawings, arrays) have no format."""
    if image.format is not None and image.format not in (*UPLOAD_FORMATS, MPO):
        raise UserError(f"{image.format} images are not accepted: upload a PNG, JPEG, GIF, WebP or BMP image")
    if image.width * image.height > pixel_cap():
        raise UserError(f"image of {image.width}x{image.height} pixels is too large (max {pixel_cap():,} pixels)")


def _decoded(image):
    """A checked PIL image -> its first frame, decoded and turned upright (EXIF orientation), as a new image;
    damaged or truncated data is a UserError."""
    from PIL import ImageOps

    try:
        if image.tell():
            image.seek(0)
        return ImageOps.exif_transpose(image)  # decodes; a copy when there is nothing to turn
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise UserError(f"the image's data is damaged or truncated ({str(e)[:80]})") from None


def _uploaded_files(payload, blobs: dict | None = None):
    """The files an image input's payload carries, as paths or file objects: a gr.Image's one image, a
    gr.ImageEditor's background, layers and composite (sent as files, or as bytes kept in the editor's `blobs`
    under the payload's id), and images sent inline as data: URLs."""
    import base64
    import io

    if payload is None:
        return
    if getattr(payload, "id", None) is not None and hasattr(payload, "composite"):  # an editor's cached blobs
        cached = (blobs or {}).get(payload.id)
        parts = [] if cached is None else [cached.background, *(cached.layers or []), cached.composite]
    elif hasattr(payload, "composite"):
        parts = [payload.background, *(payload.layers or []), payload.composite]
    else:
        parts = [payload]
    for part in parts:
        if part is None:
            continue
        if isinstance(part, (bytes, bytearray, memoryview)):
            yield io.BytesIO(part)
        elif getattr(part, "url", None) and str(part.url).startswith("data:"):
            try:
                yield io.BytesIO(base64.b64decode(str(part.url).split(",", 1)[1]))
            except (ValueError, IndexError):
                raise UserError("the image sent inline is not valid base64") from None
        elif getattr(part, "path", None):
            yield part.path


EXAMPLES = Path(__file__).resolve().parent / "examples"  # ten Fashion-MNIST test images, one per class


def example_paths() -> list[str]:
    """The shipped example images, in class order (0-t-shirt-top.png ... 9-ankle-boot.png)."""
    return [str(p) for p in sorted(EXAMPLES.glob("*.png"))]


def shipped_image(path):
    """One of the app's own example images (not an upload), decoded, with its file closed."""
    from PIL import Image

    with Image.open(path) as im:
        return im.copy()


def check_upload(source, formats: tuple[str, ...] = UPLOAD_FORMATS) -> None:
    """Refuse an uploaded file (a path or a binary file object) that is not one of `formats` or has more than
    `pixel_cap()` pixels, from its header alone: nothing is decoded."""
    with _opened(source, formats):
        pass


@contextlib.contextmanager
def _opened(source, formats: tuple[str, ...]):
    """The file opened lazily by Pillow's plugins for `formats` only, its header checked (`_check_header`)."""
    from PIL import Image

    try:
        image = Image.open(source, formats=list(formats))
    except Image.DecompressionBombError as e:  # Pillow's guard, from the header: "Image size (N pixels) exceeds ..."
        size = re.search(r"\((\d+) pixels\)", str(e))
        raise UserError(f"the image is too large: {int(size.group(1)):,} pixels (max {pixel_cap():,} pixels)"
                        if size else f"the image is too large (max {pixel_cap():,} pixels)") from None
    except OSError:  # UnidentifiedImageError included: empty, random or of another format
        raise UserError(f"that file is not an image this app reads ({', '.join(formats)})") from None
    with image:
        _check_header(image)
        yield image


def open_upload(source, formats: tuple[str, ...] = UPLOAD_FORMATS):
    """An uploaded file (a path or a binary file object) -> its first frame as a decoded, upright PIL image,
    or a UserError saying why not. Only the plugins of `formats` may read it (an EPS or PDF renamed .png is
    not an image here), and its size is checked from the header before any pixel is decoded."""
    with _opened(source, formats) as image:
        return _decoded(image)


def _blank(image) -> bool:
    """A canvas with nothing drawn on it: fully transparent, or one colour everywhere."""
    extrema = image.convert("RGBA").getextrema()
    return extrema[3][1] == 0 or all(lo == hi for lo, hi in extrema)


def as_image(value):
    """A handler's image input (a PIL image as gr.Image(type="pil") gives it, a gr.Sketchpad / gr.ImageEditor
    dict, or an array) -> its first frame as a decoded, upright PIL image, or a UserError. A PIL image that
    Gradio opened lazily is checked from its header (format, pixels) before it is decoded."""
    from PIL import Image

    drawing = isinstance(value, dict)
    layers = []
    if drawing:  # a gr.Sketchpad / gr.ImageEditor value: use the flattened drawing
        layers = [layer for layer in value.get("layers") or [] if isinstance(layer, Image.Image)]
        value = value.get("composite")
    if value is None:  # a file the browser could not show as an image never reaches the server either
        raise UserError(f"no image given: upload one ({', '.join(UPLOAD_FORMATS)}) or draw one")
    if not isinstance(value, Image.Image):
        if not isinstance(value, (np.ndarray, list, tuple)):
            raise UserError(f"expected an image, got a {type(value).__name__}")
        try:
            value = Image.fromarray(np.asarray(value))
        except (TypeError, ValueError) as e:
            raise UserError(f"expected an image, got an array the app cannot read ({str(e)[:60]})") from None
    _check_header(value)
    image = _decoded(value)
    if drawing and _blank(image):
        # the strokes alone: light strokes on a cleared editor (its canvas is white) flatten to plain white
        strokes = _strokes(layers)
        if strokes is None:
            raise UserError("the image is empty (one flat colour, nothing drawn on it): upload a garment or draw one")
        image = strokes
    return _square(image) if drawing else image


def _strokes(layers: list):
    """An editor's drawn layers merged on a transparent canvas (None when nothing is drawn on them)."""
    from PIL import Image

    merged = None
    for layer in layers:
        _check_header(layer)
        layer = _decoded(layer).convert("RGBA")
        merged = layer if merged is None or merged.size != layer.size else Image.alpha_composite(merged, layer)
    return None if merged is None or _blank(merged) else merged


def _square(image):
    """A drawing on a transparent canvas, centred on a transparent square. Gradio's editor sends only the
    strokes' bounding box: a tall, narrow trouser was stretched into a square block, and with thick strokes
    its border was all ink, so the light-background test took it for a dark one."""
    from PIL import Image

    w, h = image.size
    if w == h or image.mode not in ("RGBA", "LA", "PA") or image.getchannel("A").getextrema()[0] == 255:
        return image
    side = max(w, h)
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    canvas.paste(image.convert("RGBA"), ((side - w) // 2, (side - h) // 2))
    return canvas


def usable_image(value):
    """`as_image`, and big enough to hold a garment (MIN_SIDE): what every image input of the app needs."""
    image = as_image(value)
    if min(image.size) < MIN_SIDE:
        raise UserError(f"the image is {image.width}x{image.height} px: too small to show a garment "
                        f"(at least {MIN_SIDE}x{MIN_SIDE})")
    return image


def check_uploads(*boxes) -> list:
    """Refuse an upload the app cannot use when it is dropped, not at the next button press: the message
    says why and the box is emptied (a refused 1x1 image stayed in it as a thin strip, and looked accepted).
    For gr.Image only: a gr.ImageEditor emptied this way reports an upload of its blank canvas, forever."""
    check = user_errors(lambda value: usable_image(value) and None)
    checked = []
    for box in boxes:
        dependency = box.upload(check, box, None, api_name=False, show_progress="hidden")
        dependency.failure(lambda: None, None, box, api_name=False, show_progress="hidden")
        checked.append(dependency)
    return checked  # a box's own upload handler goes after its check (`.success`): one message, not two


def image_to_grey(image, size: int = 32, invert: str = "auto") -> np.ndarray:
    """A PIL image -> uint8 (size, size): EXIF-rotated, transparency flattened, grey, light-on-black.

    Fashion-MNIST garments are light on a black background; `invert="auto"` inverts images whose
    border is mostly light (a photo or drawing of a dark garment on white). Transparent pixels are
    filled with white under dark strokes and with black under light ones. 16-bit images keep their
    levels (65535 -> 255).
    """
    from PIL import Image

    if not isinstance(invert, str) or invert not in ("auto", "yes", "no"):
        raise UserError(f"invert must be auto, yes or no, got {str(invert)[:40]!r}")
    image = usable_image(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # a drawing on a transparent canvas: put it on the background that contrasts with its strokes
        # (dark strokes on white, then inverted below; light strokes straight on black)
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255
        luma = np.asarray(rgba.convert("L"), dtype=np.float64)
        ink = (luma * alpha).sum() / max(alpha.sum(), 1e-9)
        bg = (255, 255, 255, 255) if alpha.sum() and ink < 128 else (0, 0, 0, 255)
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, bg), rgba)
    if image.mode.startswith("I;16") or image.mode == "I":
        # 16-bit levels (Pillow's "I" is how older versions opened 16-bit PNGs); convert("L") would clip
        # every level above 255 to white
        arr = np.clip(np.asarray(image, dtype=np.float64), 0, 65535)
        image = Image.fromarray((arr / 257).round().astype(np.uint8))
    try:
        grey = image.convert("L").resize((size, size), Image.Resampling.LANCZOS)
    except ValueError as e:  # a mode Pillow cannot turn into grey
        raise UserError(f"cannot read a {image.mode} image as grey ({str(e)[:60]})") from None
    arr = np.array(grey, dtype=np.uint8)  # a copy: writable, so torch.from_numpy takes it without a warning
    if invert == "yes" or (invert == "auto" and np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]]).mean() > 127):
        arr = 255 - arr
    return arr
