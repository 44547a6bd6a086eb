"""Tab "Classifier": the judge behind every FID/KID and class-entropy figure, on your own image."""

from __future__ import annotations

import numpy as np
import torch

from trainers.classifier.train import predict
from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.images import from_uint8

from .errors import user_errors
from .page import LATEX
from .uploads import EXAMPLES, example_paths, image_to_grey, unlike_data
from .wiring import TabParts, said_also, wire
from .models import ModelStore

EXAMPLE_START = str(EXAMPLES / "7-sneaker.png")


# Draw's own line, over its pad: choosing Draw takes the upload's prediction from the screen
DRAW_FIRST = ("Draw a garment on the pad (dark on white), then press **Classify drawing** (the upload's prediction "
              "comes back on Upload).")
EMPTY_DRAWING = "the drawing pad is empty: draw a garment on it (dark on white), then press Classify drawing"


@user_errors
def classify_drawing(store: ModelStore, name: str, drawing, invert: str = "auto") -> tuple[dict, np.ndarray]:
    """`classify` of the Draw sub-tab's pad: an untouched pad is said to be empty, as Translation's pad says (it
    got the upload's "no image given: upload one ...")."""
    from trainers.core.errors import NothingGiven

    if drawing is None or isinstance(drawing, dict) and drawing.get("composite") is None \
            and not any(layer is not None for layer in drawing.get("layers") or []):
        raise NothingGiven(EMPTY_DRAWING)
    return classify(store, name, drawing, invert)


@user_errors
def classify(store: ModelStore, name: str, image, invert: str = "auto") -> tuple[dict, np.ndarray]:
    """An uploaded image -> ({class: probability}, the 32x32 grey input the network saw)."""
    model = store.get(name, family="classifier")
    grey = image_to_grey(image, 32, invert)
    x = from_uint8(torch.from_numpy(grey).view(1, 1, 32, 32))
    probs = predict(model.modules["net"], x)[0]
    classes = FASHION_MNIST_CLASSES[: len(probs)]
    return {c: float(p) for c, p in zip(classes, probs)}, grey


# Doubt, said beside the prediction. A softmax always names one of the 10 classes, so noise or a photo gets a
# confident-looking answer. Two cheap signals: the top probability (the max-softmax baseline of Hendrycks & Gimpel
# 2017, "A Baseline for Detecting Misclassified and Out-of-Distribution Examples"), under 0.5 for 2.2% of the test
# set; and what sets the input apart from the data (light in its frame, or nothing lit: `uploads.unlike_data`).
UNSURE_BELOW = 0.5


def doubt(probs: dict, grey: np.ndarray) -> str:
    """({class: probability}, the 32x32 grey input) -> a note on how far to trust the prediction ("" if nothing
    to say)."""
    ranked = sorted(probs.items(), key=lambda kv: -kv[1])
    said = [w for w in (unlike_data(grey),) if w]
    if ranked and ranked[0][1] < UNSURE_BELOW:
        said.append(f"**The classifier is unsure:** {ranked[0][0]} at {ranked[0][1]:.0%}, then {ranked[1][0]} at "
                    f"{ranked[1][1]:.0%}.")
    if said:
        said.append("It knows only the 10 Fashion-MNIST classes and reads anything as one of them, so read the "
                    "bars as *which garment this looks most like*, not as what it is.")
    return " ".join(said)


def read_note(store: ModelStore, name: str, seen) -> str:
    """The doubt note of the prediction now shown (its input, `seen`, classified again: a millisecond)."""
    if seen is None or not name:
        return ""
    grey = np.asarray(seen, dtype=np.float64)
    grey = grey[..., :3].mean(-1) if grey.ndim == 3 else grey
    x = from_uint8(torch.from_numpy(grey).view(1, 1, *grey.shape))
    probs = predict(store.get(name, family="classifier").modules["net"], x)[0]
    return doubt(dict(zip(FASHION_MNIST_CLASSES, map(float, probs))), grey)


CHECKPOINT_CHANGED = "The checkpoint changed: press **Classify image** or **Classify drawing** for its prediction."


def build(store: ModelStore) -> TabParts:
    import gradio as gr

    names = store.names("classifier")
    start = None
    if names:  # the tab opens with a result: the example sneaker, classified
        from PIL import Image

        with Image.open(EXAMPLE_START) as im:
            start = classify(store, names[0], im.copy())
    gr.Markdown(
        "### The judge\n"
        "A small CNN trained on Fashion-MNIST by `python -m trainers train classifier`. Its 128-d features "
        "replace Inception's in FID/KID, and its predictions give the class entropy "
        "$H(\\mathbb{E}_x[p(y|x)])$ used to spot mode collapse. **Try first:** open *Draw*, draw a trouser as "
        "a tall, narrow ∏ (about three times as tall as wide: a waistband, the two outer legs and the line between "
        "them; a square one reads as a top) and press *Classify drawing*.",
        latex_delimiters=LATEX)
    with gr.Row():
        with gr.Column():
            ckpt = gr.Dropdown(names, value=names[0] if names else None, label="checkpoint")
            invert = gr.Radio(["auto", "yes", "no"], value="auto", label="invert (dark garment on light background)")
            # one Classify button per source, inside its own sub-tab: a button outside them cannot know
            # which one the user is looking at (it once classified the hidden upload, not the drawing)
            with gr.Tabs():
                with gr.Tab("Upload") as upload_tab:
                    image = gr.Image(EXAMPLE_START, type="pil", label="image", sources=["upload", "clipboard"],
                                     image_mode=None)
                    go = gr.Button("Classify image", variant="primary")
                    examples = gr.Examples(example_paths(), inputs=image,
                                           label="Fashion-MNIST test images")
                with gr.Tab("Draw") as draw_tab:  # a thick brush: garments are filled shapes, thin lines read as bags
                    # here, not in the prediction's note: an upload's classification cancelled by choosing Draw
                    # clears that note as it ends, and took this line with it
                    gr.Markdown(DRAW_FIRST)
                    # a 400-px pad shown whole (a trouser drawn partly off the 280-px pad was misread)
                    sketch = gr.Sketchpad(type="pil", label="draw a garment (dark on white)", canvas_size=(400, 400),
                                          height=470, brush=gr.Brush(colors=["#000000"], default_size=28),
                                          layers=False)
                    draw = gr.Button("Classify drawing", variant="primary")
        with gr.Column():
            # the note over the bars it qualifies: under them, "Bag 100%" for a yellow ellipse read first, and its
            # "This image is unlike the data" came after
            note = gr.Markdown(doubt(*start) if start else "", elem_id="clf-doubt")
            label = gr.Label(start[0] if start else None, num_top_classes=5, label="prediction")
            seen = gr.Image(start[1] if start else None, label="what the network sees (32×32, shown 6× larger)",
                            type="numpy", interactive=False, format="png", elem_id="clf-seen")
    # a refused image leaves no prediction behind (the last one stayed, as if it were this image's), and a
    # refused upload leaves the box empty rather than a 1-px strip; each sub-tab shows its own source's prediction
    def note_of(c, s):
        return read_note(store, c, s)

    def clearing(n: int = 2):
        """classify, whose refusal also says what `cleared` takes off the screen (it said only why, and the next
        Classify's "Nothing on screen was changed" read as contradicting the cleared prediction)."""
        gone = "The box and the prediction were cleared." if n == 3 else "The prediction was cleared."

        def call(*a):
            try:
                return classify(store, *a)
            except gr.Error as e:
                raise said_also(e, gone) from None
        return call

    def cleared(event, n: int = 2):
        event.failure(lambda: (None,) * n + ("",), None, [label, seen, image][:n] + [note], api_name=False,
                      show_progress="hidden")
        event.success(note_of, [ckpt, seen], note, api_name=False, show_progress="hidden")

    def noted(event):  # the doubt note follows the prediction shown (a refusal keeps both)
        event.then(note_of, [ckpt, seen], note, api_name=False, show_progress="hidden")

    parts = TabParts(refresh=[(ckpt, lambda: store.names("classifier"))])
    # wired like every action: "what the network sees" downloads named by the settings, not image.png
    # no progress overlay on a prediction (milliseconds of compute): the page's drawing and removing it over the
    # two outputs doubled the time to the answer shown (Classify image: 194 ms median with it, 117 without;
    # "minimal", 133; Chromium on 2 cores)
    of_upload = [wire(go.click, "classify", {"checkpoint": ckpt, "image": image, "invert": invert},
                      lambda *a: classify(store, *a), [label, seen], parts, show_progress="hidden"),
                 # an example is classified as it is picked, like an upload (the last image's prediction stayed)
                 examples.load_input_event.then(clearing(), [ckpt, image, invert], [label, seen], api_name=False,
                                                show_progress="hidden")]
    noted(of_upload[0])
    cleared(of_upload[1])
    # not cancelled by Draw: a cancelled event ends as a refusal, and a refused upload clears the box
    cleared(image.upload(clearing(3), [ckpt, image, invert], [label, seen], api_name=False, show_progress="hidden"), 3)
    drawn = wire(draw.click, "classify_drawing", {"checkpoint": ckpt, "drawing": sketch, "invert": invert},
                 lambda *a: classify_drawing(store, *a), [label, seen], parts, show_progress="hidden")
    noted(drawn)
    # each sub-tab, chosen, cancels the other's prediction still being computed: an upload's, coming after Draw
    # was opened, was shown beside the empty pad
    cleared(upload_tab.select(lambda c, im, i: (None, None) if im is None else clearing(3)(c, im, i),
                              [ckpt, image, invert], [label, seen], api_name=False, cancels=[drawn]), 3)
    # a prediction goes with the image it was of (it stayed beside the emptied box), and with the checkpoint that
    # made it (the CNN's stayed under the MLP's name)
    image.clear(lambda: (None, None, ""), None, [label, seen, note], api_name=False, show_progress="hidden")
    # (the user's choice only: a restored link sets the checkpoint, then presses Classify itself)
    ckpt.input(lambda: (None, None, CHECKPOINT_CHANGED), None, [label, seen, note], api_name=False,
               show_progress="hidden")
    # the upload's result goes with it (Upload, chosen again, reads the image anew); Draw's line says so
    draw_tab.select(lambda: (None, None, ""), None, [label, seen, note], api_name=False, show_progress="hidden",
                    cancels=of_upload)
    return parts


if __name__ == "__main__":
    import gradio as gr

    with gr.Blocks(title="Classifier") as demo:
        build(ModelStore())
    demo.launch()
