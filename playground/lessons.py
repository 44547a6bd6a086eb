"""Lessons: the course, step by step, on the live models. A lesson is a YAML file in `lessons/` (one per chapter,
in file-name order) that this module reads; a teacher edits the files, not Python. Each step has a few sentences,
one equation, a live view (`lesson_views.VIEWS`) with its settings, a "try this", and a question whose answer is
checked against what the view measured on the learner's own run.

Every step has a link: `?lesson=<id>&step=<n>&<setting>=<value>...` opens it with those settings. Progress (the
steps answered right) is kept in the learner's browser.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path
from urllib.parse import unquote_plus, urlencode

import gradio as gr  # at module level: the handlers' gr.Request annotations must resolve
from trainers.core.errors import UserError

from .errors import log, user_errors
from .lesson_views import VIEWS, Param
from .models import ModelStore
from .page import LATEX
from .wiring import TabParts

LESSONS_DIR = Path(__file__).resolve().parents[1] / "lessons"
MAX_WORDS = 80
STEP_KEYS = {"title", "text", "equation", "view", "settings", "try", "question", "ready"}
POOL = {"slider": 3, "choice": 2, "text": 1}  # the controls a step can show, by kind
STORAGE_KEY = "playground-lessons-progress"


class LessonError(UserError):
    """A lesson file that cannot be read: the message names the file and the line."""


@dataclasses.dataclass(frozen=True)
class Step:
    title: str
    text: str
    equation: str
    view: str
    settings: dict
    try_this: str
    ask: str
    fact: str
    line: int
    # other settings to have ready (computed at start-up), each over `settings`: those the try names, whose view
    # takes seconds (lesson 3's 1500 steps: 6.7 s on 2 idle cores), so that the learner does not wait for them
    ready: tuple = ()

    @property
    def choices(self) -> tuple:
        return tuple(VIEWS[self.view].facts[self.fact])


@dataclasses.dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    file: str
    steps: tuple


# ---- reading lesson files ------------------------------------------------------------------------------------

class _Lined(dict):
    """A YAML mapping that remembers its line and each key's line (1-based)."""
    line: int = 0
    lines: dict


def _loader():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader, node):
        d = _Lined(loader.construct_mapping(node, deep=True))
        d.line = node.start_mark.line + 1
        d.lines = {k.value: k.start_mark.line + 1 for k, _ in node.value}
        return d

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return Loader


def read_lesson(path: str | Path) -> Lesson:
    """One lesson file -> a Lesson, or a LessonError naming the file, the line and what is wrong."""
    import yaml

    path = Path(path)
    where = lambda line: f"{path.name}, line {line}"  # noqa: E731
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise LessonError(f"{where(mark.line + 1 if mark else 1)}: not valid YAML ({getattr(e, 'problem', e)})")
    if not isinstance(data, _Lined):
        raise LessonError(f"{where(1)}: a lesson is a mapping with 'title' and 'steps'")
    for key in ("title", "steps"):
        if not data.get(key):
            raise LessonError(f"{where(data.line)}: the lesson has no {key!r}")
    if not isinstance(data["steps"], list):
        raise LessonError(f"{where(data.lines['steps'])}: 'steps' must be a list of steps")
    lesson_id = str(data.get("id") or re.sub(r"^\d+[-_]", "", path.stem))
    steps = tuple(_step(s, where, data.lines["steps"]) for s in data["steps"])
    return Lesson(lesson_id, str(data["title"]), path.name, steps)


def _step(s, where, list_line: int) -> Step:
    if not isinstance(s, _Lined):
        raise LessonError(f"{where(list_line)}: each step is a mapping (title, text, equation, view, ...)")
    line = lambda key: s.lines.get(key, s.line)  # noqa: E731
    unknown = sorted(set(s) - STEP_KEYS)
    if unknown:
        raise LessonError(f"{where(line(unknown[0]))}: unknown key {unknown[0]!r} (a step has: "
                          f"{', '.join(sorted(STEP_KEYS))})")
    for key in ("title", "text", "equation", "view", "try", "question"):
        if not s.get(key):
            raise LessonError(f"{where(s.line)}: the step {s.get('title', '')!r} has no {key!r}")
    words = len(str(s["text"]).split())
    if words > MAX_WORDS:
        raise LessonError(f"{where(line('text'))}: the text has {words} words; keep a step under {MAX_WORDS}")
    if s["view"] not in VIEWS:
        raise LessonError(f"{where(line('view'))}: unknown view {s['view']!r} (known: {', '.join(VIEWS)})")
    view = VIEWS[s["view"]]
    settings = s.get("settings") or {}
    if not isinstance(settings, dict):
        raise LessonError(f"{where(line('settings'))}: 'settings' must map setting names to values")
    try:
        view.settings(settings)
    except UserError as e:
        raise LessonError(f"{where(line('settings'))}: {e}") from None
    ready = s.get("ready") or []
    if not isinstance(ready, list) or not all(isinstance(r, dict) for r in ready):
        raise LessonError(f"{where(line('ready'))}: 'ready' is a list of settings, e.g. [{{steps: 1500}}]")
    for r in ready:
        try:
            view.settings({**settings, **r})
        except UserError as e:
            raise LessonError(f"{where(line('ready'))}: {e}") from None
    q = s["question"]
    if not isinstance(q, _Lined) or not q.get("ask") or not q.get("fact"):
        raise LessonError(f"{where(line('question'))}: a question has 'ask' (the question) and 'fact' (what the "
                          "view measures that answers it)")
    if q["fact"] not in view.facts:
        raise LessonError(f"{where(q.lines['fact'])}: view {view.name!r} measures no fact {q['fact']!r} "
                          f"(it measures: {', '.join(view.facts)})")
    return Step(str(s["title"]), " ".join(str(s["text"]).split()), str(s["equation"]).strip(), view.name,
                dict(settings), " ".join(str(s["try"]).split()), str(q["ask"]).strip(), str(q["fact"]), s.line,
                tuple({**settings, **r} for r in ready))


def load(folder: str | Path = LESSONS_DIR) -> tuple[list[Lesson], list[str]]:
    """Every lesson file in `folder` (in name order) -> (the lessons read, an error line per file that was not)."""
    lessons, errors = [], []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            lesson = read_lesson(path)
        except LessonError as e:
            errors.append(str(e))
            continue
        if any(lesson.id == other.id for other in lessons):
            errors.append(f"{path.name}, line 1: the id {lesson.id!r} is already used by another lesson")
            continue
        lessons.append(lesson)
    return lessons, errors


# ---- what a step shows ---------------------------------------------------------------------------------------

def slots(view_name: str) -> dict[str, tuple[str, int]]:
    """Each setting of the view -> (control kind, index in that kind's pool), in the view's order."""
    used, out = {k: 0 for k in POOL}, {}
    for name, p in VIEWS[view_name].params.items():
        out[name] = (p.kind, used[p.kind])
        used[p.kind] += 1
    return out


def _control(p: Param | None, value):
    if p is None:
        return gr.update(visible=False)
    if p.kind == "slider":
        return gr.update(visible=True, label=p.label, minimum=p.lo, maximum=p.hi, step=p.step, value=value)
    if p.kind == "choice":
        return gr.update(visible=True, label=p.label, choices=list(p.choices), value=value)
    return gr.update(visible=True, label=p.label, value=value)


def controls(step: Step, values: dict) -> list:
    """Updates of the control pool (sliders, then choices, then texts): the step's settings shown, the rest hidden."""
    view = VIEWS[step.view]
    placed = {v: k for k, v in slots(step.view).items()}
    return [_control(view.params.get(placed.get((kind, i))), values.get(placed.get((kind, i))))
            for kind, n in POOL.items() for i in range(n)]


def pool_values(step: Step, pool: list) -> dict:
    """The control pool's values -> the step's settings by name."""
    flat = [(kind, i) for kind, n in POOL.items() for i in range(n)]
    return {name: pool[flat.index(slot)] for name, slot in slots(step.view).items()}


def link(lesson: Lesson, index: int, settings: dict) -> str:
    """The query string that opens this step with these settings."""
    return "?" + urlencode({"lesson": lesson.id, "step": index + 1, **{k: _plain(v) for k, v in settings.items()}})


def _plain(v):
    return f"{v:g}" if isinstance(v, float) else v


def _find(lessons: list[Lesson], lesson_id: str) -> Lesson:
    for lesson in lessons:
        if lesson.id == lesson_id:
            return lesson
    raise UserError(f"no lesson {str(lesson_id)[:40]!r} (lessons: {', '.join(x.id for x in lessons)})")


def done_count(progress: dict | None, lesson: Lesson) -> int:
    return len(set((progress or {}).get(lesson.id, [])) & set(range(len(lesson.steps))))


def retry_count(progress: dict | None, lesson: Lesson) -> int:
    """The lesson's steps answered wrong (their measurement shown) and not yet right."""
    tried = {r[0][1] for r in (progress or {}).get(REVEALED, []) if r and r[0] and r[0][0] == lesson.id}
    return len((tried & set(range(len(lesson.steps)))) - set((progress or {}).get(lesson.id, [])))


def lesson_choices(lessons: list[Lesson], progress: dict | None) -> list[tuple[str, str]]:
    """The lesson picker's (label, id) pairs: number, title, and the learner's progress: the steps answered
    right, and those answered wrong and still to get right (a walk saw no trace of its wrong answers)."""
    out = []
    for k, lesson in enumerate(lessons, 1):
        done, retry = done_count(progress, lesson), retry_count(progress, lesson)
        # "(done)", not a tick: the open list marks the chosen entry with its own tick, and a finished lesson,
        # chosen, read "✓ 10. DDIM and guidance ✓"
        mark = " (done)" if done == len(lesson.steps) else f" ({done}/{len(lesson.steps)}" + (
            f", {retry} to retry)" if retry else ")") if done or retry else ""
        out.append((f"{k}. {lesson.title}{mark}", lesson.id))
    return out


def step_text(lesson: Lesson, index: int, progress: dict | None = None) -> str:
    step = lesson.steps[index]
    done = " · answered ✓" if index in (progress or {}).get(lesson.id, []) else ""
    return f"### {lesson.title}: step {index + 1} of {len(lesson.steps)} · {step.title}{done}\n\n{step.text}"


@dataclasses.dataclass
class StepShown:
    """A step as the tab shows it, one field per output of the tab (`outputs()` gives them in the tab's order)."""
    where: tuple  # (lesson id, step index)
    picker: dict  # the lesson picker's update
    text: str
    equation: str
    try_this: str
    pool: list  # the control pool's updates
    ask: str
    answer: dict  # the answer choices' update
    link: str
    previous: dict
    next: dict
    feedback: str = ""
    image: object = None  # the live view, once run
    caption: str = ""
    facts: dict = dataclasses.field(default_factory=dict)  # what the view measured

    def outputs(self) -> tuple:
        return (self.where, self.picker, self.text, self.equation, self.try_this, *self.pool, self.ask,
                self.answer, self.feedback, self.image, self.caption, self.link, self.previous, self.next,
                self.facts)


def open_step(lessons: list[Lesson], lesson_id: str, index, overrides: dict | None = None,
              progress: dict | None = None) -> StepShown:
    """A step, shown, its view not yet run."""
    lesson = _find(lessons, lesson_id)
    index = min(max(int(index), 0), len(lesson.steps) - 1)
    step = lesson.steps[index]
    values = VIEWS[step.view].settings({**step.settings, **(overrides or {})})
    return StepShown((lesson.id, index), gr.update(choices=lesson_choices(lessons, progress), value=lesson.id),
                     step_text(lesson, index, progress), f"$$ {step.equation} $$", f"**Try this:** {step.try_this}",
                     controls(step, values), f"**Question:** {step.ask}",
                     gr.update(choices=list(step.choices), value=None), _link_md(lesson, index, values),
                     # named for where they go: on a lesson's last step "Next step" opened the next lesson unsaid
                     gr.update(interactive=index > 0 or lesson is not lessons[0],
                               value="← Previous step" if index > 0 else "← Previous lesson"),
                     gr.update(interactive=index < len(lesson.steps) - 1 or lesson is not lessons[-1],
                               value="Next step →" if index < len(lesson.steps) - 1 else "Next lesson →"))


def neighbour(lessons: list[Lesson], where, delta: int) -> tuple[str, int]:
    """The step `delta` (+1 or -1) from `where`: past a lesson's last step, the next lesson's first; before its
    first, the previous lesson's last (the course reads on without the lesson picker)."""
    k = [x.id for x in lessons].index(where[0])
    index = where[1] + delta
    if index >= len(lessons[k].steps) and k + 1 < len(lessons):
        return lessons[k + 1].id, 0
    if index < 0 and k > 0:
        return lessons[k - 1].id, len(lessons[k - 1].steps) - 1
    return where[0], index


def _link_md(lesson: Lesson, index: int, values: dict) -> str:
    q = link(lesson, index, values)  # the link encoded; its text as typed ("×2: 16 → 32 px", not "%C3%972%3A+16")
    return f"[Link to this step with these settings]({q}) · `{unquote_plus(q)}`"


# a prediction, then the measurement: where the question names a measure (the classifier's reading, a distance),
# the image lets a learner estimate it, not read it, and the walk found "unanswerable" without this said
HIDDEN = ("*Answer from the image: where the question names a measurement (the classifier's reading, a distance), "
          "make it your prediction. Checking your answer shows what the run measured, right or wrong.*")


@user_errors
def run(store: ModelStore, lessons: list[Lesson], where, *pool) -> tuple:
    """Run the step's live view on the controls' values -> (image, caption placeholder, facts, link, feedback).
    The caption (what the view measured, which answers the question) is kept in the facts and shown with the
    check: shown at once, the learner read the answer instead of looking."""
    return _run(store, lessons, where, pool)


def _run(store: ModelStore, lessons: list[Lesson], where, pool) -> tuple:
    lesson = _find(lessons, where[0])
    step = lesson.steps[where[1]]
    view = VIEWS[step.view]
    given = pool_values(step, list(pool))
    shown = view(store, given)
    settings = view.settings(given)
    return (shown.image, HIDDEN, {**shown.facts, CAPTION: shown.caption, RAN_ON: _ran_on(where, settings)},
            _link_md(lesson, where[1], settings), "")


def ran(store: ModelStore, lessons: list[Lesson], shown: StepShown) -> StepShown:
    """A step as `open_step` shows it, with its live view already run: one round trip, so the image arrives with
    the step's text (as two events, the page showed the text and an empty view for 1-2 s). A view that refuses
    its settings (a link's) opens the step with the reason where the feedback goes."""
    values = [u.get("value") if isinstance(u, dict) else u for u in shown.pool]
    try:
        image, caption, facts, link_md, feedback = _run(store, lessons, shown.where, values)
    except UserError as e:
        return dataclasses.replace(shown, feedback=f"**This view could not run:** {e}")
    return dataclasses.replace(shown, feedback=feedback, image=image, caption=caption, link=link_md, facts=facts)


CAPTION, RAN_ON = "__caption__", "__ran_on__"  # the facts' keys of the run's caption, and of its step and settings


def _ran_on(where, settings: dict) -> list:
    return [list(where), sorted([k, _plain(v)] for k, v in settings.items())]


def _changed(step: Step, facts: dict, where, pool: list) -> str:
    """"" when the controls hold the settings of the run that made `facts`, else the settings that differ
    ("t: 50 → 900"). After a refused run, or a setting moved without Run, the last run answers another question."""
    view = VIEWS[step.view]
    now = view.settings(pool_values(step, pool))  # UserError: settings no run takes (`check` says so)
    if facts.get(RAN_ON) == _ran_on(where, now):
        return ""
    before = dict(map(tuple, facts.get(RAN_ON, [None, []])[1]))
    return ", ".join(f"{view.params[k].label}: {before.get(k, '?')} → {_plain(v)}" for k, v in now.items()
                     if before.get(k) != _plain(v)) or "another step"


SPENT = "answered"  # in a run's facts: it has had its one answer (and its measurement was shown)
REVEALED = "__revealed__"  # in the progress: the runs (step and settings) whose measurement a wrong answer showed
MAX_REVEALED = 100


def check(lessons: list[Lesson], where, facts: dict, answer, progress: dict | None, *pool) -> tuple:
    """The learner's answer against the fact the live view measured on the settings the controls hold now
    -> (feedback, progress, picker, step text, facts). Either way the run's measurement is shown: it is what the
    learner learns from. A run takes one answer, and a step counts only when answered right on settings whose
    measurement the learner had not been shown (a wrong answer, then the same run again, was a free tick)."""
    lesson = _find(lessons, where[0])
    step = lesson.steps[where[1]]
    progress = dict(progress or {})
    if not facts or step.fact not in facts:
        return ("Run the view first: the answer is what the model does on your settings.", progress, gr.skip(),
                gr.skip(), gr.skip())
    try:
        changed = _changed(step, facts, where, list(pool))
    except UserError as e:  # an empty prompt was listed as a changed setting: "(prompt: give a text of 1 to 300 ...)"
        return (f"**These settings cannot run:** {e}. The image shows your last run; change the setting and press "
                "Run, then answer.", progress, gr.skip(), gr.skip(), gr.skip())
    if changed:
        return (f"**Press Run first.** The image shows your last run, and your settings have changed since "
                f"({changed}): the answer is what the model does on the settings you have now.", progress,
                gr.skip(), gr.skip(), gr.skip())
    if answer in (None, ""):
        return "Pick an answer first.", progress, gr.skip(), gr.skip(), gr.skip()
    truth = facts[step.fact]
    measured = facts.get(CAPTION, "")
    if facts.get(SPENT):  # the measurement again: this message takes the place of the one that showed it
        return (f"**Run it again first**, with a setting changed: this run has had its answer (*{truth}*). "
                f"{measured}\n\nLook at the new view before you choose.", progress, gr.skip(), gr.skip(), gr.skip())
    revealed = [list(r) for r in progress.get(REVEALED, [])]
    if answer != truth:
        progress[REVEALED] = (revealed + [facts[RAN_ON]])[-MAX_REVEALED:]
        return (f"**Not this time** (you answered *{answer}*; the run says *{truth}*). {measured}\n\nChange a "
                "setting, predict what it will do, press Run and answer again.", progress,
                gr.update(choices=lesson_choices(lessons, progress), value=lesson.id), gr.skip(),
                {**facts, SPENT: True})
    if facts[RAN_ON] in revealed:
        return (f"**Right: {truth}**, but a wrong answer showed you this run's measurement before. {measured}\n\n"
                "Change a setting and answer a run you have not seen measured to count the step.", progress,
                gr.skip(), gr.skip(), {**facts, SPENT: True})
    progress[lesson.id] = sorted(set(progress.get(lesson.id, [])) | {where[1]})
    # the run is spent either way: a walk answered right, then wrong on the same run, and was told "Not this
    # time" under a step marked answered
    return (f"**Right: {truth}**, as the model just showed. {measured}\n\nTry another setting and ask yourself "
            "whether it would change.", progress, gr.update(choices=lesson_choices(lessons, progress),
                                                            value=lesson.id), step_text(lesson, where[1], progress),
            {**facts, SPENT: True})


def from_link(lessons: list[Lesson], query: dict, progress: dict | None = None) -> StepShown:
    """A page opened with ?lesson=..&step=..&<setting>=.. -> that step with those settings. Without them, the
    first step the learner has not answered (`progress`), or the first lesson's first step; a link with a mistake
    opens the lesson's first step and says what was wrong."""
    if not lessons:
        raise UserError("no lessons to show")
    if not query.get("lesson") and progress:  # a learner back without a link: where they stopped, not lesson 1
        todo = next(((lesson.id, i) for lesson in lessons for i in range(len(lesson.steps))
                     if i not in set(progress.get(lesson.id, []))), None)
        if todo is not None:
            return open_step(lessons, *todo, None, progress)
    lesson_id = query.get("lesson") or lessons[0].id
    try:
        lesson = _find(lessons, lesson_id)
        index = int(query.get("step", 1)) - 1
        if not 0 <= index < len(lesson.steps):
            raise UserError(f"lesson {lesson.id!r} has steps 1 to {len(lesson.steps)}, not {query.get('step')}")
        step = lesson.steps[index]
        overrides = {k: v for k, v in query.items() if k in VIEWS[step.view].params}
        return open_step(lessons, lesson.id, index, overrides, progress)
    except (UserError, ValueError) as e:
        log.warning("lesson link %s: %s", dict(query), e)
        shown = open_step(lessons, lessons[0].id if lesson_id not in {x.id for x in lessons} else lesson_id, 0,
                          None, progress)
        return dataclasses.replace(shown, text=f"**This link could not be opened:** {e}. Here is the first step "
                                               "instead.\n\n" + shown.text)


# ---- the tab -------------------------------------------------------------------------------------------------

INTRO = ("**The course, live.** Each lesson walks through one chapter in a few steps: read, look at the equation, "
         "run the model, and answer the question from what the model just did. Your progress stays in this "
         "browser. Every step has a link you can share.")


# the address bar follows the step shown and its settings (the step's link, taken from its markdown), so that a
# reload or a copied address opens the step the learner is on; replaced, not pushed: Back leaves the page as before
FOLLOW_JS = r"""(md) => { const q = (md || "").match(/\]\((\?lesson=[^)\s]*)\)/);
  if (q) history.replaceState(history.state, "", q[1]); }"""


def build(store: ModelStore, folder: str | Path = LESSONS_DIR) -> TabParts:
    lessons, errors = load(folder)
    for e in errors:
        log.warning("lesson file not loaded: %s", e)
    parts = TabParts()
    gr.Markdown(INTRO)
    if errors:
        gr.Markdown("**Lesson files with mistakes (not shown):**\n\n" + "\n".join(f"- {e}" for e in errors))
    if not lessons:
        gr.Markdown("No lessons found in `lessons/`.")
        return parts
    first = lessons[0]
    where, facts = gr.State((first.id, 0)), gr.State({})
    progress = gr.BrowserState({}, storage_key=STORAGE_KEY)
    with gr.Row():
        with gr.Column(scale=2, min_width=320):
            picker = gr.Dropdown(lesson_choices(lessons, {}), value=first.id, label="Lesson", elem_id="lesson-pick")
            text = gr.Markdown(step_text(first, 0), elem_id="lesson-text")
            with gr.Row():
                prev_btn = gr.Button("← Previous step", interactive=False)  # "sm" wrote them at 11 px
                next_btn = gr.Button("Next step →", variant="primary")
            equation = gr.Markdown(f"$$ {first.steps[0].equation} $$", latex_delimiters=LATEX, elem_id="lesson-eq")
            try_md = gr.Markdown(f"**Try this:** {first.steps[0].try_this}")
            # the pool as the first step sets it: built hidden, the page showed step 1's "raise the noise" for
            # a few seconds with no slider until the load event filled it in
            step0 = first.steps[0]
            made = {"slider": gr.Slider, "choice": gr.Dropdown, "text": functools.partial(gr.Textbox, max_lines=1)}
            kinds = [kind for kind, n in POOL.items() for _ in range(n)]
            pool = [made[kind](interactive=True, **{k: v for k, v in update.items() if k != "__type__"})
                    for kind, update in zip(kinds, controls(step0, VIEWS[step0.view].settings(step0.settings)))]
            run_btn = gr.Button("Run", variant="primary", elem_id="lesson-run")
        with gr.Column(scale=3, min_width=320):
            image = gr.Image(label="live view", interactive=False, format="png", elem_id="lesson-image")
            caption = gr.Markdown(latex_delimiters=LATEX, elem_id="lesson-caption")
            ask = gr.Markdown(f"**Question:** {first.steps[0].ask}", elem_id="lesson-ask")
            answer = gr.Radio(list(first.steps[0].choices), label="your answer", elem_id="lesson-answer")
            check_btn = gr.Button("Check my answer", elem_id="lesson-check")
            feedback = gr.Markdown(latex_delimiters=LATEX, elem_id="lesson-feedback")
            link_md = gr.Markdown(elem_id="lesson-link")
    shown = [where, picker, text, equation, try_md, *pool, ask, answer, feedback, image, caption, link_md,
             prev_btn, next_btn, facts]  # in StepShown's order

    def step_at(delta):
        return lambda w, p: ran(store, lessons, open_step(lessons, *neighbour(lessons, w, delta), None, p)).outputs()

    for event, fn, inputs in ((picker.input,
                               lambda lid, p: ran(store, lessons, open_step(lessons, lid, 0, None, p)).outputs(),
                               [picker, progress]),
                              (prev_btn.click, step_at(-1), [where, progress]),
                              (next_btn.click, step_at(+1), [where, progress])):
        event(fn, inputs, shown, api_name=False, show_progress="hidden").then(
            None, link_md, None, js=FOLLOW_JS, api_name=False)
    run_btn.click(functools.partial(run, store, lessons), [where, *pool], [image, caption, facts, link_md, feedback],
                  api_name="lesson_run").then(None, link_md, None, js=FOLLOW_JS, api_name=False)
    check_btn.click(functools.partial(check, lessons), [where, facts, answer, progress, *pool],
                    [feedback, progress, picker, text, facts], api_name=False, show_progress="hidden")

    def opened(p, request: gr.Request):
        return ran(store, lessons, from_link(lessons, dict(request.query_params) if request else {}, p)).outputs()

    parts.loads.append(dict(fn=opened, inputs=[progress], outputs=shown))

    def every_step():  # each step's view on its own settings, kept by the views' cache: a step opens at once
        for lesson in lessons:
            for step in lesson.steps:
                VIEWS[step.view](store, step.settings)
        for lesson in lessons:  # then the settings their tries name (`ready`), after every step's own
            for step in lesson.steps:
                for settings in step.ready:
                    VIEWS[step.view](store, settings)

    parts.warm.append(every_step)
    return parts
