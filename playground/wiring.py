"""Events: how a tab wires a button to its handler (a named API, the settings it exports, the tab's opening
result), and the Stop buttons of streamed runs."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import threading
from pathlib import Path

from . import exports
from .errors import log, refusal
from .exports import tagged


# Stop buttons of streamed runs. A press marks (session, run) here at once, outside the queue, and the stream
# ends itself before its next frame with its own last word. Cancelling the stream instead (Gradio's `cancels`)
# raced it: a frame computed before the cancel landed after the "stopped" line, which then read "step 392/1000".
_STOPPED: set[tuple[str | None, str]] = set()


def _session() -> str | None:
    """The session of the Gradio event this thread runs (None outside one: tests, scripts)."""
    from gradio.context import LocalContext

    return getattr(LocalContext.request.get(None), "session_hash", None)


def client() -> str | None:
    """Who sent the Gradio event this thread runs, for per-client caps: the connection's address (behind a
    proxy that uvicorn trusts, FORWARDED_ALLOW_IPS, uvicorn has already put the visitor's address there from
    X-Forwarded-For), else the session; None outside an event (tests, scripts)."""
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)
    if request is None:
        return None
    return getattr(getattr(request, "client", None), "host", None) or getattr(request, "session_hash", None)


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


def stoppable(fn, run: str, status: int, n_outputs: int, message: str | None):
    """The streaming handler `fn`, ended by `stop_button(..., run)`: at its next frame the handler is closed
    (its `finally` runs) and the last update writes `message` into output `status`, the rest left as shown;
    "{at}" in `message` becomes where the run was, " at step 12/50 (t = 759)", from the last status shown (a
    stopped 1000-step run said "stopped" and not how far it got). `message` None: `fn` ends itself when
    `stop_requested(run)` (to say and export what it made so far); its frames all pass."""
    @functools.wraps(fn)
    def stream(*args):
        import gradio as gr

        me = (_session(), run)
        stop_clear(run)
        it = fn(*args)
        last = ""
        try:
            for out in it:
                if message is not None and me in _STOPPED:
                    break
                if isinstance(out[status], str):
                    last = out[status]
                yield out
            else:
                return
        finally:
            it.close()
            _STOPPED.discard(me)
        at = re.match(r"step \d+/\d+( \(t = \d+\))?", last)
        said = message.replace("{at}", f" at {at.group(0)}" if at else "")
        yield tuple(said if i == status else gr.skip() for i in range(n_outputs))

    return stream


_END = object()


def run_ahead(fn):
    """The streaming handler `fn` with its generator run in a worker thread, one frame ahead of the page: Gradio
    asks for a stream's next frame only once it has encoded and sent the last (two PNGs and a message, ~40 ms
    on 2 cores), so the run's compute stood still for that time at every frame. The worker computes the next
    frame meanwhile and waits for the page to take the one before: the page gets the same frames in the same
    order, and a closed stream (Stop, a new run, a closed page) closes the handler at its next frame. The worker
    runs in a copy of the caller's context (the Gradio request, the export's settings). Not a generator
    function: `fn` as it is."""
    if not inspect.isgeneratorfunction(fn):
        return fn

    @functools.wraps(fn)
    def stream(*args):
        import contextvars
        import queue

        frames: queue.Queue = queue.Queue(maxsize=1)
        closed = threading.Event()

        def work():
            it = fn(*args)
            try:
                for out in it:
                    frames.put((out, None))  # waits while the page has not taken the frame before
                    if closed.is_set():
                        return
                frames.put((_END, None))
            except BaseException as e:  # noqa: BLE001 - raised again in the page's thread, as it was
                if not closed.is_set():
                    frames.put((_END, e))
            finally:
                it.close()

        worker = threading.Thread(target=contextvars.copy_context().run, args=(work,), daemon=True,
                                  name=f"ahead-{getattr(fn, '__name__', 'stream')}")
        worker.start()
        try:
            while True:
                out, error = frames.get()
                if out is _END:
                    if error is not None:
                        raise error
                    return
                yield out
        finally:
            # not waited for: Gradio may close a stream on its event loop, which nothing may block; the worker
            # ends itself, closing the handler, once it has handed over (or dropped) the frame it is computing
            closed.set()
            try:  # a worker waiting to hand over a frame sees `closed` once it has
                frames.get_nowait()
            except queue.Empty:
                pass

    return stream


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
        return self._value is None or any(isinstance(v, str) and v.startswith(str(exports.EXPORT_DIR)) and
                                          not Path(v).exists() for v in out)

    def __call__(self):
        with self._lock:
            if self._stale():
                try:
                    out = self._run()
                    if inspect.isgenerator(out):  # a streamed run: its last update is the finished result
                        for out in out:
                            pass
                    self._value = said_as_opening(out)
                except Exception as e:  # noqa: BLE001 - an opening must never stop the page from loading
                    log.warning("%s: no opening result (%s: %s)", self.api, type(e).__name__, e)
                    return (None,) * self._n if self._n > 1 else None
            return self._value


def said_as_opening(out):
    """An opening's result with its "done: ..." line said to be the start-up's: the seconds it names were spent
    then (the "Why so many steps" tab opened on "done: 1260 steps in 20.0 s", read as a run just finished)."""
    def said(v):
        return "example run when the app started: " + v[len("done: "):] if isinstance(v, str) and \
            v.startswith("done: ") else v

    return tuple(map(said, out)) if isinstance(out, tuple) else said(out)


@dataclasses.dataclass
class TabParts:
    """What a tab's build() hands back to the app: checkpoint lists to refresh when the tab opens
    ((dropdown, lister) pairs), per api name the named inputs an exported PNG can restore, and the
    openings (an `Opening` and its outputs) to show when the page loads."""
    refresh: list = dataclasses.field(default_factory=list)
    restore: dict = dataclasses.field(default_factory=dict)
    openings: list = dataclasses.field(default_factory=list)
    reruns: dict = dataclasses.field(default_factory=dict)  # api -> labels of the tabs around its button
    actions: dict = dataclasses.field(default_factory=dict)  # api -> its tabs and button, as a user finds it
    # page-load events: dict(fn=, inputs=, outputs=) (a lesson opened from its link, its view already run)
    loads: list = dataclasses.field(default_factory=list)
    warm: list = dataclasses.field(default_factory=list)  # callables `warm` runs after the openings
    # pictures another tab can take in (what the tab shows, by a label naming the tab and the view): label -> gr.Image
    pictures: dict = dataclasses.field(default_factory=dict)
    # offer(pictures): called by the app once every tab is built, with every tab's `pictures`, for a tab that
    # takes them in (lists them, wires its button)
    takes: list = dataclasses.field(default_factory=list)


def tab_path(block) -> list[str]:
    """The labels of the tabs a block sits in, outermost first (what a user clicks to reach it)."""
    import gradio as gr

    labels = []
    while block is not None:
        if isinstance(block, gr.Tab):
            labels.insert(0, str(block.label))
        block = getattr(block, "parent", None)
    return labels


UNCHANGED = "Nothing on screen was changed."


def said_also(e, sentence: str):
    """The gr.Error `e` with a sentence after its message (what the refusal left on screen, or took off it)."""
    said = str(e.message).rstrip()
    return refusal(said, suffix=f"{'' if said.endswith(('.', '!', '?')) else '.'} {sentence}", title=e.title)


def said_unchanged(fn):
    """fn, whose refusals (a gr.Error before its first output) also say that the results on screen stayed as
    they were (`wire`): beside a new prompt's error, the last prompt's images read as the new one's."""
    import gradio as gr

    def unchanged(e):
        return said_also(e, UNCHANGED)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args):
            it, started = fn(*args), False
            try:
                for out in it:
                    started = True
                    yield out
            except gr.Error as e:
                if started:  # mid-run: its frames so far are on screen
                    raise
                raise unchanged(e) from None
            finally:
                it.close()  # a stream closed by the page (Stop, a new run) closes the handler's at once

        return stream

    @functools.wraps(fn)
    def call(*args):
        try:
            return fn(*args)
        except gr.Error as e:
            raise unchanged(e) from None

    return call


def wire(event, api: str, inputs: dict, fn, outputs, parts: TabParts, opening: bool | dict = False,
         stop: tuple | None = None, unused=None, opened_by=None, **kwargs):
    """event(fn, inputs, outputs, api_name=api) with `fn`'s images tagged with the call's settings,
    and the named inputs registered so an exported image restores them. `opening` (True, or a dict of
    {input name: value} for inputs whose default is not a plain value) also shows the action's result on
    the inputs' defaults when the page loads (`Opening`). `stop` = (button, status output, message) gives a
    streaming `fn` a Stop button (`stoppable`). `unused(model)`: the settings a compared model ignores, left out
    of its images' download names (`exports.tagged`). `opened_by` (a gr.Tab): an opening of seconds, computed by the
    start-up work after the page's openings and shown when that tab is opened (`shown_when_opened`), so that no
    page waits for it.
    A refused action leaves the results on screen as they were, under its message: two new users, each time,
    lost a result they were studying to a typo in the next one's settings (the results used to be cleared)."""
    parts.restore[api] = inputs
    button = getattr(event, "__self__", None)
    if button is not None and event == getattr(button, "click", None):  # so a restore can press it (RERUN_JS)
        classes = button.elem_classes or []
        button.elem_classes = [*([classes] if isinstance(classes, str) else classes), f"run-{api}"]
        parts.reruns[api] = tab_path(button)
        parts.actions[api] = " → ".join([*parts.reruns[api], str(button.value)])  # what a note calls it
    if opening:
        given = opening if isinstance(opening, dict) else {}
        values = [given[k] if k in given else c.value for k, c in inputs.items()]
        outs = outputs if isinstance(outputs, list) else [outputs]
        first = Opening(api, list(inputs), fn, values, len(outs))
        if opened_by is None:
            parts.openings.append((first, outputs))
        else:
            parts.warm.append(first)
            shown_when_opened(opened_by, first, list(inputs.values()), values, outs)
    outs = outputs if isinstance(outputs, list) else [outputs]
    handler = run_ahead(said_unchanged(tagged(api, list(inputs), fn, [str(getattr(c, "label", "") or "") for c in outs],
                                              unused)))
    if stop is not None:
        stopper, status, message = stop
        outs = outputs if isinstance(outputs, list) else [outputs]
        handler = stoppable(handler, api, outs.index(status), len(outs), message)
        stop_button(stopper, api)
    busy = stop is not None and button is not None and busy_while_running(button)
    dep = event(handler, list(inputs.values()), outputs, api_name=api, **kwargs)
    if busy:
        busy(dep)
    return dep


def busy_while_running(button):
    """`button` says "running" and takes no press until the streamed run it starts ends: a second press during
    a run was silently dropped (Gradio runs one of an event at a time per page), and a new user pressed it again
    and again. Called before the run's event is wired (the page sends a click's events in the order they were
    wired, each once the one before has ended: wired after, "running" came when the run had ended); returns
    what wires the button's return once the run, `dep`, ends, whatever its outcome: `.then` and `.failure`, as
    Gradio 6.31's page runs a `.then` only after a success (after a refusal the button stayed "running" for good:
    an empty brush hole in Inpaint, a walk)."""
    import gradio as gr

    label = str(button.value)
    button.click(lambda: gr.Button(f"{label}: running ... (Stop ends it)", interactive=False), None, button,
                 queue=False, api_name=False, show_progress="hidden")

    def back(dep):
        for after in (dep.then, dep.failure):
            after(lambda: gr.Button(label, interactive=True), None, button, queue=False, api_name=False,
                  show_progress="hidden")
    return back


def quietly(fn, n_outputs: int):
    """`fn` for a redraw the user did not ask for (another control changed, e.g. the checkpoint): a refusal leaves
    its outputs as they were, with no toast about a setting elsewhere (a bad seed typed in GAN's Walk was refused
    again on every checkpoint change, seen from the Samples tab)."""
    import gradio as gr

    from trainers.core.errors import UserError

    def skip():
        return tuple(gr.skip() for _ in range(n_outputs)) if n_outputs > 1 else gr.skip()

    @functools.wraps(fn)
    def run(*args):
        try:
            out = fn(*args)
            if inspect.isgenerator(out):
                yield from out
            else:
                yield out
        except (gr.Error, UserError):
            yield skip()

    return run


def shown_when_opened(tab, opening: Opening, inputs: list, values: list, outputs: list) -> None:
    """`opening`'s result, shown when `tab` is selected while its first output is still empty and `inputs` still
    hold the plain `values` it was computed on: a user's own result, or a result for other settings, is never
    replaced. If the start-up work has not computed it yet, the tab waits for it."""
    import gradio as gr

    def fill(shown, *now):
        if shown is not None or list(now) != values:
            return tuple(gr.skip() for _ in outputs) if len(outputs) > 1 else gr.skip()
        return opening()

    tab.select(fill, [outputs[0], *inputs], outputs if len(outputs) > 1 else outputs[0], api_name=False)


def said_stale(event, prompt, note, button: str, opened_with: str | None = None) -> None:
    """After `event` (a view made from the text box `prompt`) succeeds, `note` says so whenever the box holds
    another prompt than the one the view was made for, and a new run clears it; a view the page opens with
    (`opened_with`: its prompt) counts as made. The notes are written by the box's one change event, which
    `watch_prompt` wires once every view is registered."""
    import gradio as gr

    used = gr.State(opened_with)
    event.success(lambda p: (p, ""), prompt, [used, note], api_name=False, show_progress="hidden")
    prompt.stale_views = [*getattr(prompt, "stale_views", []), (used, note, button)]


def watch_prompt(prompt, triggers: list, fn, inputs: list, output) -> None:
    """The prompt box's one change event: `fn(*inputs)` into `output`, and each view's stale note (`said_stale`).

    One event per trigger (`one_event_per_change`): Gradio's page defers a change that comes while an event
    on it runs, then dispatches the change again to *every* event on it; with two or more, each re-ran the
    others, forever (typing a prompt kept four events calling the server ~10 times a second until the page closed)."""
    import gradio as gr

    views = getattr(prompt, "stale_views", [])

    def notes(*values):
        mine, now, used = values[:len(inputs)], values[len(inputs)], values[len(inputs) + 1:]
        return (fn(*mine), *[stale_note(button, u, now) for (_, _, button), u in zip(views, used)])

    gr.on(triggers, notes, [*inputs, prompt, *[u for u, _, _ in views]], [output, *[n for _, n, _ in views]],
          api_name=False, show_progress="hidden", trigger_mode="always_last")


def one_event_per_change(config: dict) -> list[str]:
    """The triggers of a Blocks' config (`demo.config`) that start more than one deferring event with a server
    function ("always_last", a change's default): "component <id> <event>: events <ids>". Gradio's page re-sends
    a deferred trigger to every event on it, so two such events re-run each other as long as the page is open."""
    on: dict[tuple, list] = {}
    for d in config["dependencies"]:
        if d.get("backend_fn") and d.get("trigger_mode") == "always_last":
            for target in d["targets"]:
                on.setdefault(tuple(target), []).append(d["id"])
    return [f"component {c} {event}: events {ids}" for (c, event), ids in on.items() if len(ids) > 1]


def stale_note(button: str, used: str | None, now: str) -> str:
    """What to say over a view made for the prompt `used` while the box holds `now` ("" if they agree)."""
    if used is None or used.strip() == (now or "").strip():
        return ""
    if not (now or "").strip():  # an emptied box: 'press Generate for ""' read as advice to generate nothing
        return f"**These are for “{used}”**: the prompt box is empty."
    return f"**These are for “{used}”**, not the prompt now in the box: press *{button}* for “{now}”."
