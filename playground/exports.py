"""Downloads and their provenance: every exported PNG, GIF and MP4 carries the settings of the call that made it,
is named by them, and `read_settings` gives them back."""

from __future__ import annotations

import collections
import contextvars
import inspect
import json
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from trainers.core.errors import UserError

from .uploads import open_upload


def own_folder(parent: Path) -> Path:
    """parent/<this process's id>, after removing the folders of processes that have ended. Each running app
    keeps its exports (and its Gradio cache, `app.py`) apart: two apps on one machine (or the tests beside a
    running app) shared one folder, where one app's pruning and shutdown deleted the other's files, and its
    page showed broken images (403) until reloaded."""
    if parent.is_dir():
        for old in parent.iterdir():
            if old.name.isdigit() and int(old.name) != os.getpid() and not _alive(int(old.name)):
                shutil.rmtree(old, ignore_errors=True)
    return parent / str(os.getpid())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


EXPORT_DIR = own_folder(Path(tempfile.gettempdir()) / "playground-exports")


EXPORT_TTL_S = 15 * 60  # downloads older than this are deleted ...


EXPORT_MAX_FILES = 200  # ... and only this many are kept, so the folder stays bounded under any load


# ... of which one client holds at most this many: its oldest go first, so that one visitor of a public app
# cannot push everyone else's downloads out (Gradio serves a download from its own copy: deleting ours breaks
# nothing already on a page)
EXPORT_MAX_PER_CLIENT, CLIENTS_KEPT = 40, 1000  # (the clients seen last: the count itself stays bounded)
_BY_CLIENT: collections.OrderedDict[str, collections.OrderedDict] = collections.OrderedDict()
_BY_CLIENT_LOCK = threading.Lock()


# the settings of the call being served (set by `tagged` around the handler): GIF/MP4 exports carry them
_EXPORT_SETTINGS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("export_settings", default=None)


def record_setting(name: str, value) -> None:
    """Inside a `tagged` call: record what a setting resolved to, so that its exports restore the same result
    (keyframe seeds "random" are recorded as the seeds drawn; restored as "random", a walk came out new)."""
    meta = _EXPORT_SETTINGS.get()
    if meta is not None:
        meta["inputs"][name] = value


def skip_setting(name: str) -> None:
    """Inside a `tagged` call: leave a setting the call ignored out of its downloads' names (an X/Y grid over
    checkpoints named its file after the base checkpoint box, a model not in the grid)."""
    meta = _EXPORT_SETTINGS.get()
    if meta is not None:
        meta["skip"] = [*meta.get("skip", []), name]


def export_file(data: bytes, stem: str, suffix: str) -> str:
    """Write a download (GIF, MP4, PNG) into the app's export folder and return its path. Its folder is the
    content's hash, so the same result is the same file (repeated requests add nothing), the write is atomic,
    and the folder is pruned to EXPORT_TTL_S and EXPORT_MAX_FILES. Inside a call wired by `tagged`, a GIF or
    MP4 first gets the call's settings (a GIF comment extension; the MP4's `comment` tag; no pixel changes),
    which `read_settings` gives back."""
    import hashlib

    from trainers.core.checkpoint import atomic_write_bytes
    from trainers.core.images import gif_with_comment, mp4_with_comment

    meta = _EXPORT_SETTINGS.get()
    settings = None if meta is None else f"{META_KEY}:{json.dumps(meta)}"
    if settings is not None and suffix in (".gif", ".mp4"):
        data = gif_with_comment(data, settings) if suffix == ".gif" else mp4_with_comment(data, settings)
    EXPORT_DIR.mkdir(parents=True, exist_ok=True)

    # in a folder named by the content's hash, the file named by its settings alone: the same name as the image
    # box it came with (a download named `xy-grid_..._seed-0-7f3a9c01d2e4b5f6.png` beside the box's `..._seed-0.png`)
    path = EXPORT_DIR / hashlib.sha256(data).hexdigest()[:16] / f"{_named(stem, meta)}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data, fsync=False)
    _cap_client(path.parent)
    _prune_exports(keep=path.parent)
    return str(path)


def _cap_client(folder: Path) -> None:
    """Count `folder` as the current client's export; delete that client's oldest beyond EXPORT_MAX_PER_CLIENT
    (outside a Gradio event, as tests and scripts call the handlers, nothing is counted)."""
    from .wiring import client

    who = client()
    if who is None:
        return
    with _BY_CLIENT_LOCK:
        mine = _BY_CLIENT.setdefault(who, collections.OrderedDict())
        _BY_CLIENT.move_to_end(who)
        while len(_BY_CLIENT) > CLIENTS_KEPT:
            _BY_CLIENT.popitem(last=False)
        for gone in [f for f in mine if not f.exists()]:  # pruned by age or by the total
            del mine[gone]
        mine.pop(folder, None)
        mine[folder] = True  # the newest last
        old = [mine.popitem(last=False)[0] for _ in range(len(mine) - EXPORT_MAX_PER_CLIENT)]
        shared = {f for other, folders in _BY_CLIENT.items() if other != who for f in folders} if old else set()
    for f in old:
        if f not in shared:  # the same result exported by another client is theirs too
            shutil.rmtree(f, ignore_errors=True)


def _named(stem: str, meta: dict | None, limit: int = 120) -> str:
    """A download's name that says what it is: the stem, then the call's short settings in order, e.g.
    `ddpm-run_ddpm-fashion_ddim_steps-50_seed-0` (a folder of downloads named `ddpm-run-<hash>` told nothing).
    Up to `limit` characters (at 90, the x̂0 of a guided diffusion run lost its last setting, "guidance-7", which
    its x_t's name kept)."""
    if not meta:
        return stem
    skip = set(meta.get("skip", ()))  # settings this output's model ignores (`tagged`'s `unused`)
    inputs = {k: v for k, v in meta.get("inputs", {}).items() if k not in skip}
    parts = [stem]
    # a grid's axes first ("X", "X values", "Y", "Y values"): its base checkpoint came first, unused by a grid over
    # checkpoints, and the axes' values were cut from the name
    axes = [k for k in ("X", "X values", "Y", "Y values") if k in inputs]
    for key, value in [(k, inputs[k]) for k in axes] + [(k, v) for k, v in inputs.items() if k not in axes]:
        if isinstance(value, bool) or value is None or not isinstance(value, (str, int, float)):
            continue
        text = _short_value(value) if isinstance(value, str) else f"{key}-{value:g}"
        if text and len("_".join([*parts, text])) <= limit:
            parts.append(text)
    return "_".join(parts)


def _short_value(value: str, width: int = 40, list_width: int = 64) -> str:
    """One setting in a file name: a comma list (an X/Y grid's values) whole, joined by "+", up to `list_width`,
    else its first item and how many more ("dcgan-ns-20min-fashion+2"); a long value is cut at a word boundary."""
    items = [re.sub(r"[^A-Za-z0-9.+-]+", "-", v).strip("-.") for v in value.split(",")]
    items = [v for v in items if v]
    if not items:
        return ""
    whole = "+".join(items)
    if len(items) > 1 and len(whole) <= list_width:
        return whole
    text = whole if len(whole) <= width else items[0] + (f"+{len(items) - 1}" if len(items) > 1 else "")
    if len(text) > width:
        cut = text[:width]
        text = cut if text[width] == "-" or "-" not in cut[8:] else cut[:cut.rfind("-")]
    return text.strip("-.")


def _prune_exports(keep: Path) -> None:
    """Delete the export folders older than EXPORT_TTL_S (their newest file's time) and all but the newest
    EXPORT_MAX_FILES, never `keep` (the one just written)."""
    import shutil

    now, folders = time.time(), []
    for d in EXPORT_DIR.iterdir():
        try:
            mtime = max((f.stat().st_mtime for f in d.iterdir()), default=d.stat().st_mtime) if d.is_dir() \
                else d.stat().st_mtime
        except OSError:  # another request removed it first
            continue
        folders.append((mtime, d))
    folders.sort(reverse=True)
    for i, (mtime, d) in enumerate(folders):
        if d != keep and (i >= EXPORT_MAX_FILES or now - mtime > EXPORT_TTL_S):
            shutil.rmtree(d, ignore_errors=True) if d.is_dir() else d.unlink(missing_ok=True)


META_KEY = "playground"  # the PNG text chunk that carries an exported image's settings


def _settings(names: list[str], args: tuple) -> dict:
    """The scalar inputs of a call by name (uploaded images and drawings are not settings)."""
    scalar = (str, int, float, bool, type(None))
    return {k: v for k, v in zip(names, args)
            if isinstance(v, scalar) or (isinstance(v, (list, tuple)) and all(isinstance(x, scalar) for x in v))}


def download_name(image, default: str = "image") -> str:
    """The file name an output image is served (and downloaded) under: from the settings it carries, e.g.
    `gan-samples_dcgan-ns-fashion_seed-0_samples-16_truncation-1` (every PNG downloaded as image.png)."""
    try:
        meta = json.loads(image.info[META_KEY])
    except (AttributeError, KeyError, TypeError, ValueError):
        return default
    if not isinstance(meta, dict):
        return default
    stem = str(meta.get("api", default)).replace("_", "-")
    if meta.get("output"):  # one of a call's several images: which one (a VAE call's three shared one name)
        stem += "-" + _short_value(str(meta["output"]).replace(",", " "))  # whole names ("...-20min-fashi" was cut)
    return _named(stem, meta)


def _tag_value(value, meta: dict, unused=None):
    """`value` with every image in it a PIL image carrying `meta`. The images of a call that compares models (a
    gallery with one image per model, an image slider's two sides) are each named by their model, without the
    settings that model ignores (`unused(model)`, e.g. a GAN's diffusion steps)."""
    from PIL import Image

    if isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim in (2, 3):
        image = Image.fromarray(value)
        image.info[META_KEY] = json.dumps(meta)  # Gradio writes text info into the PNG it serves
        return image
    models = meta.get("inputs", {}).get("models")
    models = [str(m) for m in models] if isinstance(models, list) else []

    def per_model(model: str) -> dict:
        return {**meta, "output": model, **({"skip": list(unused(model))} if unused else {})}

    if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        # a gallery's (image, caption) pairs: one per model compared, or several of one call
        if len(models) == len(value):
            return [(_tag_value(a, per_model(m)), b) for (a, b), m in zip(value, models)]
        return [(_tag_value(a, meta), b) for a, b in value]
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, np.ndarray) for v in value):
        # an image slider's two sides (both downloaded as image.webp): its models, else the left and the right
        if len(models) >= 2:
            return tuple(_tag_value(v, per_model(m)) for v, m in zip(value, models))
        return tuple(_tag_value(v, {**meta, "output": k}) for v, k in zip(value, ("left", "right")))
    return value


def tagged(api: str, names: list[str], fn, labels: list[str] | None = None, unused=None):
    """Wire a handler into a click so that every image it returns is a PNG carrying the call's settings
    ({"api": api, "inputs": {name: value}}), and every GIF/MP4 it exports (`export_file`) carries them too;
    `read_settings` gives them back when the file is dropped into the app. Works for plain and streaming
    (generator) handlers; the handler itself stays pure. `labels` (the outputs' labels) name each image of a call
    with several in its download name; `unused(model)` names the settings a compared model ignores."""
    def within(meta: dict, step, *a):
        """step(*a) with the settings in reach of `export_file` (set and reset in this thread, around the call)."""
        token = _EXPORT_SETTINGS.set(meta)
        try:
            return step(*a)
        finally:
            _EXPORT_SETTINGS.reset(token)

    def tag(out, meta: dict):
        if not isinstance(out, tuple):
            return _tag_value(out, meta, unused)
        named = labels if labels and len(labels) == len(out) and sum(
            isinstance(v, np.ndarray) for v in out) > 1 else [None] * len(out)
        return tuple(_tag_value(v, {**meta, "output": k} if k else meta, unused) for v, k in zip(out, named))

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
    if os.path.getsize(path) == 0:  # it was told "its content is not an image or a video", as a text file is
        raise UserError("this file is empty (0 bytes), not an image or a video: drop a PNG, GIF or MP4 exported by "
                        "this app")
    if str(path).lower().endswith(".mp4"):
        raw = _mp4_comment(path)
    else:
        try:
            image = open_upload(path, formats=("PNG", "GIF"))  # decoded: text chunks may follow the pixels
        except UserError as e:  # the drop zone takes MP4 too: say so, not only "(PNG, GIF)"
            if str(e).startswith("that file is not an image"):
                raise UserError("this file is not a PNG, GIF or MP4 exported by this app: its content is not an image "
                                "or a video") from None
            raise UserError(f"this file is not a PNG, GIF or MP4 exported by this app: {e}") from None
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
