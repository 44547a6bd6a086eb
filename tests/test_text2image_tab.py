"""The text-to-image tab's handlers, called without a browser on the tiny pipeline the tests train, and the
model sources: a local pipeline folder, a Hub id from the local cache, and a Hub id with no network."""

from __future__ import annotations

import shutil
import time

import gradio as gr
import numpy as np
import pytest

from playground import text2image as tab
from playground.models import ModelStore

ARGS = dict(negative="", guidance=3.0, steps=3, scheduler="ddim", seed=0)


@pytest.fixture(scope="module")
def store(tiny_ldm, tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    shutil.copytree(tiny_ldm["ldm"], root / "tiny-ldm")
    shutil.copytree(tiny_ldm["clip"], root / "tiny-clip")
    return ModelStore(root)


def _run(store, name="tiny-ldm", other="", prompt="a small red sneaker", batch=2, **kw):
    a = {**ARGS, **kw}
    return list(tab.generate(store, name, other, prompt, a["negative"], a["guidance"], a["steps"], a["scheduler"],
                             a["seed"], batch))


def test_generate_streams_decoded_latents_then_the_images_with_clip_scores(store):
    frames = _run(store)
    assert len(frames) >= 2 and frames[0][1].startswith("step 1/3")
    final, text = frames[-1]
    assert final.ndim == 3 and final.shape[2] == 3
    assert "CLIP score" in text and text.count(",") >= 2  # one score per image
    assert "of “a small red sneaker”" in text  # named: after a refused prompt these images stay on screen
    again = _run(store)[-1][0]
    assert np.array_equal(final, again)  # same seed, same images
    other = _run(store, seed=1)[-1][0]
    assert not np.array_equal(final, other)


def test_a_negative_prompt_equal_to_the_prompt_is_said_to_cancel_guidance(store):
    """eps_neg + w (eps_c - eps_neg) is eps_c when the two prompts are one: a user saw w change nothing, unsaid."""
    same, text = _run(store, negative="A small  red sneaker", guidance=7.0)[-1]
    assert "guidance cancels out" in text
    assert np.array_equal(same, _run(store, negative="a small red sneaker", guidance=2.0)[-1][0])  # w changes nothing
    assert "cancels" not in _run(store, negative="a blue bag")[-1][1]


@pytest.mark.parametrize("scheduler", ["ddim", "ddpm", "euler", "dpm++"])
def test_every_scheduler_runs(store, scheduler):
    final, text = _run(store, scheduler=scheduler, batch=1)[-1]
    assert f"{scheduler} steps" in text and final.shape[0] > 0


@pytest.mark.parametrize("scheduler", ["ddim", "ddpm", "euler", "dpm++"])
def test_a_call_warns_nothing(store, scheduler):
    """diffusers' scheduler deprecation warning (a FutureWarning) came with every call; it is fixed at its cause
    (the pipeline's scheduler config), and the project's warning filters (pyproject) must not hide its return.
    Every warning the app's log would print is an error here: all but DeprecationWarning, which Python prints
    only for code in __main__ (Euler's and DPM-Solver++'s `np.array` of a torch tensor raises one from numpy
    2's `copy` keyword, inside diffusers and torch: never printed, and not ours to fix)."""
    import warnings

    _run(store, scheduler=scheduler, batch=1)  # loaded and cached before: the first load's own messages aside
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=DeprecationWarning)  # Python's own default outside __main__
        final, _ = _run(store, scheduler=scheduler, batch=1)[-1]
    assert final.shape[0] > 0


def test_guidance_view_shows_three_predictions(store):
    gallery, note = tab.guidance_view(store, "tiny-ldm", "", "a red bag", "", 4.0, 3, "ddim", 0, 2)
    captions = [c for _, c in gallery]
    assert len(gallery) == 6 and any("unconditional" in c for c in captions) and any("guided" in c for c in captions)
    assert "step 2/3" in note
    # t = 666 is above the tiny model's guidance interval (0.5 T): the note says the run was not guided there
    assert "above the guidance interval (t < 500)" in note
    # the rows say which one the run took there (a walk could not tell, the guided row shown and different)
    assert any(c.endswith("what the run used") and "conditional" in c for c in captions)
    assert any("not used at this step" in c and "guided" in c for c in captions)
    gallery, note = tab.guidance_view(store, "tiny-ldm", "", "a red bag", "", 4.0, 3, "ddim", 0, 3)
    assert "step 3/3" in note and "above the guidance interval" not in note
    assert not any("used" in c for _, c in gallery)
    # the model's interval for a shipped model; every step (as diffusers) for a pipeline given by folder or Hub id
    assert tab.guidance_interval_for(store, "tiny-ldm", "") == 0.5
    assert tab.guidance_interval_for(store, "tiny-ldm", "someone/a-pipeline") == 1.0
    # the done line says w as applied: 1 step (t = 999, above the interval) said "w = 20" though none was guided
    assert "w = 20.0 on 0 of 1 step (this model is guided only at t < 500" in _run(store, guidance=20.0, steps=1)[-1][1]


def test_attention_maps_one_per_token(store):
    out = tab.attention_maps(store, "tiny-ldm", "", "a small red sneaker", 3.0, 2, "ddim", 0)
    labels = [c for _, c in out]
    assert labels[0] == "image" and labels[1:] == ["<|startoftext|>", "a", "small", "red", "sneaker", "<|endoftext|>"]
    maps = np.stack([img for img, _ in out[1:]])
    assert maps.std(0).max() > 0  # tokens attend differently


def test_attention_names_the_pieces_of_a_word_the_model_never_saw(store):
    """"a cat wearing a hat" drew maps captioned "c", "at", "w", "e", ... with no word on this page of why."""
    labels = [c for _, c in tab.attention_maps(store, "tiny-ldm", "", "a red cat", 3.0, 2, "ddim", 0)][1:]
    assert labels[:3] == ["<|startoftext|>", "a", "red"] and labels[-1] == "<|endoftext|>"
    assert labels[3:-1] and all("“cat”, unknown" in c for c in labels[3:-1]), labels


@pytest.mark.parametrize("bad", [
    dict(prompt=""), dict(prompt="   "), dict(prompt="a " * 200), dict(prompt="red " * 20), dict(steps=10**9),
    dict(steps=float("nan")), dict(seed=float("nan")), dict(guidance=-1), dict(batch=100), dict(scheduler="magic"),
    dict(name="../../x"), dict(other="../../etc"), dict(other="not a hub id!"), dict(negative="x " * 200)])
def test_bad_input_is_refused_with_a_message(store, bad):
    kwargs = {"name": "tiny-ldm", "prompt": "a red bag", "batch": 1, **bad}
    with pytest.raises(gr.Error):
        _run(store, **kwargs)


def test_a_local_pipeline_folder_loads(store, tiny_ldm):
    final, text = _run(store, other=str(tiny_ldm["ldm"]), batch=1)[-1]
    assert text.startswith("done") and "CLIP score" not in text  # scores only for the shipped model
    assert f"by `{tiny_ldm['ldm']}`" in text  # the folder is named: it wins over the dropdown, which shows its own


def test_a_hub_id_loads_from_the_local_cache_offline(tiny_ldm, tmp_path, monkeypatch):
    """The Hub code path (`from_pretrained("org/name")`) with the tiny pipeline placed in a Hub cache."""
    import huggingface_hub.constants as hc

    repo = tmp_path / "hub" / "models--tiny-org--tiny-ldm"
    snapshot = repo / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_ldm["ldm"], snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    tab._external.clear()
    pipe = tab.load_external("tiny-org/tiny-ldm")
    assert pipe.unet.config.sample_size == 8


def test_a_hub_id_without_network_says_so_quickly(store, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tab._external.clear()
    t0 = time.monotonic()
    with pytest.raises(gr.Error, match="no network"):
        _run(store, other="stabilityai/sd-turbo", batch=1)
    assert time.monotonic() - t0 < 5
    assert _run(store, batch=1)[-1][1].startswith("done")  # the shipped model keeps working


def test_unreachable_hub_is_detected_within_the_timeout(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    t0 = time.monotonic()
    assert tab.hub_reachable("huggingface.invalid", timeout=1.0) is False
    assert time.monotonic() - t0 < 3


def test_words_outside_the_vocabulary_are_flagged_before_generating():
    """'a cat wearing a hat' silently gave orange garments: the tab now names the words the model ignores."""
    assert tab.unknown_words("a cat wearing a hat") == ["cat", "wearing", "hat"]
    assert tab.unknown_words("A photo of a small red T-shirt") == []
    assert tab.unknown_words("an ankle boot, large and cyan") == ["and"]
    assert "**cat, wearing, hat**" in tab.vocabulary_note("", "a cat wearing a hat")
    assert tab.vocabulary_note("", "a small red sneaker") == ""
    assert tab.vocabulary_note("org/other-model", "a cat wearing a hat") == ""  # another model has its own words
    assert "shapes of its own choosing" in tab.vocabulary_note("", "a cat wearing a hat")  # as it draws them
    assert "in a colour no word asked for" in tab.vocabulary_note("", "a cat wearing a hat")
    # a colour it knows is drawn ("a red spaceship" was told "no word asked for" beside four red shapes)
    assert "in the colour asked for (red)" in tab.vocabulary_note("", "a red spaceship")
    # a prompt that names garments is not told to expect shapes ("with" unknown, a dress and a sneaker named)
    two = tab.vocabulary_note("", "a large blue dress with a red sneaker")
    assert "**with**" in two and "shapes" not in two and "garments dress and sneaker" in two
    # and it is not promised that the unknown words are harmless (one such word halved the garments asked for)
    assert "Leave them out" in two and "draws from the words it knows" not in two
    assert tab.garment_words("a red t-shirt") == ["t-shirt"]  # not "shirt" as well
    assert all(not tab.unknown_words(p) for p in tab.EXAMPLE_PROMPTS)  # every example is in the vocabulary


def test_the_note_under_the_prompt_says_what_generate_will_refuse(store):
    """"xqzv blorf 12345 !!!" was told, under the prompt, what the model would draw from it, while Generate
    refused it as too long: the note now gives Generate's own refusal, and the vocabulary note otherwise."""
    nonsense = "xqzv blorf 12345 !!! " * 4
    with pytest.raises(gr.Error) as refused:
        _run(store, prompt=nonsense)
    note = tab.prompt_note(store, "tiny-ldm", "", nonsense)
    assert note.startswith("**Generate will refuse this prompt:**") and "tokens long" in note
    assert str(refused.value.message if hasattr(refused.value, "message") else refused.value) in note
    assert tab.prompt_note(store, "tiny-ldm", "", "a cat wearing a hat") == tab.vocabulary_note("", "a cat wearing a hat")
    assert tab.prompt_note(store, "tiny-ldm", "", "a small red sneaker") == ""
    assert tab.prompt_note(store, "tiny-ldm", "", "") == ""  # an empty box is said so by Generate, not while typing


def test_a_prompt_too_long_because_of_unknown_words_says_so(monkeypatch):
    """Words the model never saw are spelled out in many tokens: the refusal names them, and the note under the
    prompt does not promise that they are ignored."""
    class Tok:
        model_max_length = 16

        def __call__(self, prompt):  # 4 tokens a word: an unknown word is spelled out in pieces
            return type("T", (), {"input_ids": list(range(4 * len(prompt.split())))})()

    pipe = type("P", (), {"tokenizer": Tok()})()
    from trainers.core import captions

    monkeypatch.setattr(captions, "VOCABULARY", {"a", "red", "large", "blue", "dress"})
    from trainers.core.errors import UserError

    with pytest.raises(UserError, match=r"^this model never saw 'car', 'with', 'wheels'.*20 tokens long.*Drop those"):
        tab.check_prompt(pipe.tokenizer, "a red car with wheels")
    assert "ignore" not in tab.vocabulary_note(None, "a red car with wheels")
    # too long even without its unknown words: said so, not blamed on a word
    with pytest.raises(UserError, match=r"^the prompt is 28 tokens long \(7 words\).*shorten it"):
        tab.check_prompt(pipe.tokenizer, "a large blue dress a large nope")
    # with symbols in it, it says why a few words are many tokens ("41 tokens long (4 words)" left a walk asking)
    with pytest.raises(UserError, match=r"^the prompt is 28 tokens long \(7 words: symbols, emoji and words it never"):
        tab.check_prompt(pipe.tokenizer, "a large blue dress a large !!!")


def test_the_guidance_views_step_slider_follows_the_runs_steps():
    one = tab.at_step_slider(1, 5)  # a slider needs two values: at 1 step it is 1, locked, and hidden
    assert (one.maximum, one.value, one.interactive, one.visible) == (2, 1, False, False)
    assert tab.at_step_slider(30, 12).visible
    assert (tab.at_step_slider(30, 50).maximum, tab.at_step_slider(30, 50).value) == (30, 30)
    assert tab.at_step_slider(30, 12).value == 12 and tab.at_step_slider(30, 12).interactive


def test_a_view_made_for_another_prompt_says_so():
    """The attention maps, the guidance view and unCLIP's images stayed under a new prompt, read by a walk as the
    new prompt's: once the box holds another prompt they say which prompt they are of; a new run clears it."""
    from playground.wiring import stale_note

    note = stale_note("Show where each token acts", "a small red sneaker", "a blue dress")
    assert "“a small red sneaker”" in note and "“a blue dress”" in note and "Show where each token acts" in note
    assert stale_note("b", "a red bag", " a red bag ") == "" and stale_note("b", None, "a red bag") == ""
    assert stale_note("Generate", "a red bag", " ") == "**These are for “a red bag”**: the prompt box is empty."
    with gr.Blocks() as demo:
        tab.build(ModelStore())
    by_id = {b._id: b for b in demo.blocks.values()}
    stale = {getattr(b, "elem_id", None): b._id for b in by_id.values()}
    for elem in ("t2i-att-stale", "t2i-cfg-stale", "unclip-stale"):
        writers = [d for d in demo.fns.values() if stale[elem] in [o._id for o in d.outputs]]
        triggers = {f"{getattr(by_id.get(t[0]), 'label', None)}.{t[1]}" for d in writers for t in d.targets}
        assert "prompt.change" in triggers, (elem, triggers)  # the note follows the prompt box ...
        assert any(t.endswith(".success") for t in triggers), (elem, triggers)  # ... and a new run clears it


def test_the_attention_maps_draw_the_garments_outline_over_pure_colour():
    """Over the image's grey, the garment's brightness turned high attention pink and a walk read a dress's own
    map as blue: each map is pure blue-to-red, with the outline of the image's bright region in white."""
    image = np.zeros((8, 8, 3), np.uint8)
    image[2:6, 3:7] = 200
    edge = tab._outline(image)
    assert edge[2, 3:7].all() and edge[5, 3:7].all() and edge[2:6, 3].all() and edge[2:6, 6].all()
    assert not edge[3:5, 4:6].any() and not edge[0].any() and edge.sum() == 12
