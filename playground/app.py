"""Compose the tabs into one `gr.Blocks`, with safe launch settings."""

from __future__ import annotations

import functools
import json
import os
import re
import threading
import time
from pathlib import Path

from . import about, classifier, compare, diffusion, gan, inpaint, lab, lessons, text2image, translation, vae
from trainers.core.errors import UserError
from trainers.latent_diffusion.sampling import resolve_lazy_imports

from .errors import log, user_errors
from .exports import SETTINGS_FILES, read_settings
from .page import CSS, JS, OPENED_JS, RERUN_JS, serve_edited_gradio_page
from .uploads import MAX_FILE_SIZE, harden_gradio_cache, harden_pillow, quiet_validation
from .models import ModelStore

TITLE = "Generative models playground"
QUEUE_MAX_SIZE = 32  # requests waiting beyond this get a "queue full" answer instead of a hang
CONCURRENCY = 2  # per event: this many run at once on 2 cores
CACHE_CLEANUP = (600, 1800)  # Gradio's own file cache: every 10 min, files older than 30 min are deleted

# (tab title, module) in display order; each family issue adds its tab here.
TABS = [
    ("Lessons", lessons),
    ("GAN", gan),
    ("VAE", vae),
    ("Translation", translation),
    ("Diffusion", diffusion),
    ("Inpaint & upscale", inpaint),
    ("Text to image", text2image),
    ("Compare", compare),
    ("Train live", lab),
    ("Classifier", classifier),
    ("About", about),
]


# versions that close the advisories this app relies on being closed: Gradio's file-route traversal and
# SSRF fixes (5.x), Pillow's decompression and buffer-overflow fixes (10.3), torch.load's weights_only
# bypass (CVE-2025-32434, fixed in torch 2.6)
DEPENDENCY_FLOORS = {"gradio": "5.31", "pillow": "10.3", "torch": "2.6"}


def slug(title: str) -> str:
    """A tab's id and its README picture's name: "Inpaint & upscale" -> "inpaint-upscale"."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def check_dependency_floors(versions: dict[str, str] | None = None) -> None:
    """Refuse to start on a dependency older than its floor, naming it and the version to install."""
    from importlib.metadata import version

    from packaging.version import Version

    for name, floor in DEPENDENCY_FLOORS.items():
        found = (versions or {}).get(name) or version(name)
        if Version(found.split("+")[0]) < Version(floor):
            raise RuntimeError(f"{name} {found} is older than {floor}, which closes known security advisories: "
                               f"pip install -r requirements.txt")


def create_app(checkpoints: str | Path | None = None, device: str = "cpu", public: bool = False):
    """The app's Blocks. `public` (a Space, --share, --public): nothing writes into the checkpoints folder."""
    import gradio as gr

    check_dependency_floors()
    harden_pillow()
    harden_gradio_cache()
    serve_edited_gradio_page()

    store = ModelStore(checkpoints or Path(__file__).resolve().parents[1] / "checkpoints", device, read_only=public)
    restorable: dict[str, tuple[str, dict]] = {}  # api name -> (tab id, {input name: component})
    openings: list = []  # (Opening, outputs): each tab's first result, shown when the page loads
    loads: list = []  # the tabs' own page-load events (a lesson's link)
    pictures: dict = {}  # label -> gr.Image: what a tab shows that another can take in (`TabParts.pictures`)
    takes: list = []  # where a tab takes one (`TabParts.takes`)
    warmers: list = []  # the tabs' own background work at start-up (every lesson step's view)
    reruns: dict[str, list[str]] = {}  # api name -> the tabs around the button that runs it
    actions: dict[str, str] = {}  # api name -> "GAN → Samples → Sample": how a note names it
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(f"# {TITLE}\nModels trained from scratch by this project, running on "
                    f"`{device}`. Every number on the cards was measured by `python -m trainers evaluate`.")
        with gr.Accordion("Restore the settings of an exported image or animation, or link to them", open=False):
            with gr.Row():
                dropped = gr.File(label="drop a PNG, GIF or MP4 exported by this app",
                                  file_types=list(SETTINGS_FILES), height=120, elem_id="restore-drop")
                restored = gr.Markdown(elem_id="restored-note")
            with gr.Row():
                link_btn = gr.Button("Link to the settings of the tab on screen", size="sm", scale=0,
                                     elem_id="settings-link-btn")
                link_md = gr.Markdown(elem_id="settings-link")
            selected = gr.Textbox(visible=False)  # the tabs and sub-tabs on screen, as the page reports them
        with gr.Tabs() as tabs:
            for title, module in TABS:
                tab_id = slug(title)
                with gr.Tab(title, id=tab_id) as tab:
                    parts = module.build(store)
                restorable.update({api: (tab_id, inputs) for api, inputs in parts.restore.items()})
                openings += parts.openings
                reruns.update(parts.reruns)
                actions.update(parts.actions)
                loads += parts.loads
                warmers += parts.warm
                pictures.update(parts.pictures)
                takes += parts.takes
                if parts.refresh:  # a run saved in the live lab appears in every tab's checkpoint lists
                    tab.select(functools.partial(_refreshed, [lister for _, lister in parts.refresh]), None,
                               [d for d, _ in parts.refresh], api_name=False, show_progress="hidden")
        for offer in takes:  # every tab's pictures, the later tabs' too
            offer(pictures)
        targets = list({id(c): c for _, inputs in restorable.values() for c in inputs.values()}.values())
        # the checkpoints are put back last: a checkpoint's change event reads the tab's other controls (GAN's
        # space and classes) as they are when it fires, and put back first it read them from before the restore
        # and set them back (a walk in w ran again in z)
        checkpoints = {id(inputs["checkpoint"]) for _, inputs in restorable.values() if "checkpoint" in inputs}
        targets.sort(key=lambda c: id(c) in checkpoints)
        # the previous restore's note goes first, so a failed restore leaves no stale success text
        again = gr.Textbox(visible=False)  # the api whose button a successful restore presses again
        # no progress spinner over every control of every tab while the settings go back
        dropped.upload(lambda: "", None, restored, api_name=False, show_progress="hidden").then(
            lambda path: restore(restorable, targets, path, actions), dropped, [tabs, restored, *targets],
            api_name="restore_settings", show_progress="hidden").success(
            lambda path: rerun_spec(reruns, path), dropped, again, api_name=False,
            show_progress="hidden").success(None, again, None, js=RERUN_JS, api_name=False)
        # one load event fills every tab's opening, on one worker: eleven events, each waiting for a result still
        # being computed at a cold start, held the server's threads and stalled the first visitor's clicks
        shown = [c for _, outputs in openings for c in (outputs if isinstance(outputs, list) else [outputs])]
        demo.load(functools.partial(_open_all, openings), None, shown, api_name=False, concurrency_limit=1,
                  concurrency_id="openings").then(None, js=OPENED_JS, api_name=False)
        link_btn.click(lambda sel, *values: link_here(restorable, reruns, targets, sel, values), [selected, *targets],
                       link_md, js=SELECTED_TABS_JS, api_name=False, show_progress="hidden")
        # a link ?api=<action>&<setting>=<value>...: its tab, its settings, and its button pressed. The page reads
        # its own address and calls the server only when it holds such a link: Gradio's page keeps a loading
        # status for every output of every event that has run and updates them all on each event's every
        # status change, and a load event with every restorable control as an output (104) made every later
        # click of the page pay for them
        query = gr.Textbox(visible=False)
        demo.load(None, None, query, js=LINK_QUERY_JS, api_name=False)
        query.change(lambda q: linked(restorable, targets, link_query(q), actions), query, [tabs, restored, *targets],
                     api_name=False, show_progress="hidden").success(
            lambda q: rerun_api(reruns, link_query(q).get("api")), query, again, api_name=False,
            show_progress="hidden").success(None, again, None, js=RERUN_JS, api_name=False)
        # a note and a link are of the tab they were made on: another tab chosen, they go (in the page only)
        tabs.select(None, None, [restored, link_md], js="() => ['', '']", api_name=False)
        for load in loads:
            demo.load(load["fn"], load["inputs"], load["outputs"], api_name=False, show_progress="hidden")
    quiet_validation(demo)
    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=CONCURRENCY)
    demo.store = store
    demo.restorable, demo.restore_targets, demo.reruns, demo.actions = restorable, targets, reruns, actions
    demo.openings = [o for o, _ in openings]
    demo.warmers = warmers
    return demo


WARM_DONE = "start-up work done: every tab's first result is ready"


def warm(demo) -> threading.Thread:
    """Compute every tab's opening result in the background (one after another, on one thread), so the
    first visitor's page does not wait for them; `python app.py` starts this beside the server."""
    def run():
        t0 = time.monotonic()
        for opening in demo.openings:  # in the tabs' order: the first tabs' results come first
            opening()
        resolve_lazy_imports()  # (text to image's opening has done it already, once the page answers)
        for fn in getattr(demo, "warmers", []):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - background work must never stop the app
                log.warning("start-up work %s failed (%s: %s)", getattr(fn, "__name__", fn), type(e).__name__, e)
        # for whoever watches the log (an operator, the load test): from here the app holds what it will hold
        print(f"{WARM_DONE} in {time.monotonic() - t0:.0f} s", flush=True)

    t = threading.Thread(target=run, name="openings", daemon=True)
    t.start()
    return t


def _open_all(openings: list) -> list:
    """Every opening's values, in the order of their outputs."""
    values = []
    for opening, outputs in openings:
        value = opening()
        values += list(value) if isinstance(outputs, list) and len(outputs) > 1 else [value]
    return values


def _refreshed(listers: list):
    """Fresh choices for a tab's checkpoint lists (one output takes a bare update, several a tuple)."""
    import gradio as gr

    updates = tuple(gr.Dropdown(choices=f()) for f in listers)
    return updates[0] if len(updates) == 1 else updates


@user_errors
def restore(restorable: dict, targets: list, path, actions: dict | None = None) -> list:
    """An exported PNG -> the tab it came from, selected, with its settings put back in their controls."""
    return restored_settings(restorable, targets, read_settings(getattr(path, "name", path)), actions=actions)


def restored_settings(restorable: dict, targets: list, meta: dict, how: str = "restored",
                      actions: dict | None = None) -> list:
    """Settings {"api", "inputs"} (an export's, a link's) -> [the tab selected, a note with their link, *controls].
    `actions` names each action as a user finds it ("Compare → Make the grid", not `xy_grid`)."""
    import gradio as gr

    if meta["api"] not in restorable:
        raise UserError(f"settings of {meta['api'][:40]!r} cannot be restored in this app")
    tab_id, inputs = restorable[meta["api"]]
    values = {id(inputs[k]): v for k, v in meta["inputs"].items() if k in inputs}
    used = {k: v for k, v in meta["inputs"].items() if k in inputs}
    action = (actions or {}).get(meta["api"])
    note = (f"{how} {len(values)} settings of " + (f"*{action}*" if action else f"`{meta['api']}`") + " (" +
            ", ".join(f"{k} = {v}" for k, v in used.items()) + "), and pressed it again.")
    query = settings_link(meta["api"], used)
    note += f" [Link to these settings]({query})"
    return [gr.Tabs(selected=tab_id), note, *[put_back(c, values[id(c)]) if id(c) in values else gr.skip()
                                              for c in targets]]


def put_back(control, value):
    """A restored value for `control`. A choice it does not offer yet comes with its choices widened: GAN's space
    offers w once the restored checkpoint has a mapping network, and a bare "w" was dropped (the walk ran in z)."""
    import gradio as gr

    if isinstance(control, (gr.Radio, gr.Dropdown)) and not getattr(control, "multiselect", False) \
            and isinstance(value, str) and value not in [v for _, v in control.choices]:
        return type(control)(value=value, choices=[*control.choices, (value, value)])
    return value


def settings_link(api: str, inputs: dict) -> str:
    """The query string that opens the tab of `api` with these settings and runs it (images are left out)."""
    from urllib.parse import urlencode

    def plain(v):  # a multiple choice (Compare's models) as its names joined by commas (it was left out)
        if isinstance(v, (list, tuple)) and v and all(isinstance(x, str) and "," not in x for x in v):
            return ",".join(v)
        return v if isinstance(v, (str, int, float, bool)) else None

    kept = {k: plain(v) for k, v in inputs.items()}
    return "?" + urlencode({"api": api, **{k: v for k, v in kept.items() if v is not None and len(str(v)) <= 200}})


def query_settings(restorable: dict, query: dict) -> dict:
    """A link's ?api=<name>&<input>=<value>... -> settings {"api", "inputs"}, each value typed as its control
    takes it (a number for a slider, true/false for a checkbox); a wrong one is refused, naming it."""
    import gradio as gr

    api = query.get("api", "")
    if api not in restorable:
        raise UserError(f"this link names no action of this app ({str(api)[:40]!r})")
    inputs = restorable[api][1]
    typed = {}
    for k, v in query.items():
        if k == "api" or k not in inputs:
            continue
        c = inputs[k]
        if isinstance(c, (gr.Slider, gr.Number)):
            try:
                f = float(v)
            except ValueError:
                raise UserError(f"the link's {k} must be a number, got {str(v)[:40]!r}") from None
            typed[k] = int(f) if f.is_integer() and "." not in str(v) else f
        elif isinstance(c, gr.Checkbox):
            typed[k] = str(v).lower() in ("true", "1", "yes")
        elif isinstance(c, gr.CheckboxGroup) or getattr(c, "multiselect", False):
            typed[k] = [x.strip() for x in str(v).split(",") if x.strip()]
        else:
            typed[k] = str(v)
    return {"api": api, "inputs": typed}


# the labels of the tabs and sub-tabs on screen, handed to the link's handler in place of its first input
SELECTED_TABS_JS = """(first, ...rest) => [JSON.stringify([...document.querySelectorAll(
  'button[role=tab][aria-selected=true]')].filter(b => b.offsetParent).map(b => b.innerText.trim())), ...rest]"""


@user_errors
def link_here(restorable: dict, reruns: dict, targets: list, selected: str, values) -> str:
    """The link to the settings on screen: the action of the innermost tab shown (its button's tab path is the
    longest one that is all on screen), with the values its controls hold now."""
    on_screen = set(json.loads(selected or "[]"))
    fits = [api for api, path in reruns.items() if path and set(path) <= on_screen and api in restorable]
    if not fits:
        raise UserError("this tab's settings have no link (it has no action to run again)")
    api = max(fits, key=lambda a: len(reruns[a]))
    now = {id(c): v for c, v in zip(targets, values)}
    query = settings_link(api, {k: now.get(id(c)) for k, c in restorable[api][1].items()})
    return f"[Link to these settings ({' → '.join(reruns[api])})]({query}) · `{query}`"


# the page's query string when it is a settings link (?api=...); otherwise no value at all, so that the query box's
# change event, which calls the server, does not fire
LINK_QUERY_JS = "() => new URLSearchParams(window.location.search).has('api') ? window.location.search : undefined"


def link_query(query: str | None) -> dict:
    """The page's query string -> its parameters (the last of a repeated one, as Starlette's query_params)."""
    from urllib.parse import parse_qsl

    return dict(parse_qsl((query or "").removeprefix("?"), keep_blank_values=True))


@user_errors
def linked(restorable: dict, targets: list, query: dict, actions: dict | None = None) -> list:
    """A page opened with ?api=...: that tab, those settings (none without ?api: nothing changes)."""
    import gradio as gr

    if "api" not in query:
        return [gr.skip()] * (2 + len(targets))
    return restored_settings(restorable, targets, query_settings(restorable, query), "opened from a link:", actions)


def rerun_spec(reruns: dict, path) -> str:
    """What RERUN_JS needs to press again the button that made a restored export ("" when no button did)."""
    return rerun_api(reruns, read_settings(getattr(path, "name", path))["api"])


def rerun_api(reruns: dict, api: str | None) -> str:
    return json.dumps({"api": api, "tabs": reruns[api]}) if api in reruns else ""


def launch_kwargs(host: str, port: int, share: bool, checkpoints: str | Path, public: bool = False) -> dict:
    """Launch settings: upload limit, no extra allowed paths, checkpoints and dotfiles blocked; in a public
    deployment, each visitor's uploads capped an hour (`uploads.UploadCap`)."""
    from starlette.middleware import Middleware

    from .uploads import UploadCap

    root = Path(checkpoints).resolve()
    return dict(
        app_kwargs={"middleware": [Middleware(UploadCap, max_bytes=MAX_FILE_SIZE)]} if public else None,
        server_name=host,
        server_port=port,
        share=share,
        max_file_size=MAX_FILE_SIZE,
        show_error=False,  # gr.Error messages are shown; other exceptions' internals are not
        allowed_paths=[],
        blocked_paths=[str(root), str(Path(".env").resolve()), str(Path(".git").resolve())],
        ssr_mode=False,
        footer_links=["api"],
        # no run history (Gradio 6 keeps the last 100 runs, outputs included, in the browser's localStorage): the
        # page parsed and rewrote that whole list on each message of each event (~5 ms a click, more as it grew;
        # Chromium's profiler), kept a public Space's visitors' inputs in their browser, and exports already
        # carry their settings (the Restore box)
        run_history=False,
        max_threads=8,
        quiet=bool(os.environ.get("PLAYGROUND_QUIET")),
        css=CSS,
        js=JS,
        theme=theme(),
    )


def theme():
    """Gradio's default theme with its own offline font, Source Sans Pro, at 400 and 700 only: the SemiBold (600)
    file Gradio ships is a 5-KB subset without "A" or "B", so every heading read "GAN" with a small, thin A taken
    from the regular face. Text asked at 600 is drawn with the whole Bold face."""
    import gradio as gr

    return gr.themes.Default(font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)),
                                   "ui-sans-serif", "system-ui", "sans-serif"])
