"""Tab "Classifier": the judge behind every FID/KID and class-entropy figure, on your own image."""

from __future__ import annotations

import numpy as np
import torch

from trainers.classifier.train import predict
from trainers.core.data import FASHION_MNIST_CLASSES

from .errors import user_errors
from .page import LATEX
from .uploads import EXAMPLES, example_paths, image_to_grey
from .wiring import TabParts, wire
from .models import ModelStore

EXAMPLE_START = str(EXAMPLES / "7-sneaker.png")


@user_errors
def classify(store: ModelStore, name: str, image, invert: str = "auto") -> tuple[dict, np.ndarray]:
    """An uploaded image -> ({class: probability}, the 32x32 grey input the network saw)."""
    model = store.get(name, family="classifier")
    grey = image_to_grey(image, 32, invert)
    x = torch.from_numpy(grey).float().view(1, 1, 32, 32) / 127.5 - 1.0
    probs = predict(model.modules["net"], x)[0]
    classes = FASHION_MNIST_CLASSES[: len(probs)]
    return {c: float(p) for c, p in zip(classes, probs)}, grey


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
        "a tall ∏ (a waistband, the two outer legs and the line between them) and press *Classify drawing*.",
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
                    # a 400-px pad shown whole (a trouser drawn partly off the 280-px pad was misread)
                    sketch = gr.Sketchpad(type="pil", label="draw a garment (dark on white)", canvas_size=(400, 400),
                                          height=470, brush=gr.Brush(colors=["#000000"], default_size=28),
                                          layers=False)
                    draw = gr.Button("Classify drawing", variant="primary")
        with gr.Column():
            label = gr.Label(start[0] if start else None, num_top_classes=5, label="prediction")
            seen = gr.Image(start[1] if start else None, label="what the network sees (32×32, shown 6× larger)",
                            type="numpy", interactive=False, format="png", elem_id="clf-seen")
    # a refused image leaves no prediction behind (the last one stayed, as if it were this image's), and a
    # refused upload leaves the box empty rather than a 1-px strip; each sub-tab shows its own source's prediction
    def cleared(event, n: int = 2):
        event.failure(lambda: (None,) * n, None, [label, seen, image][:n], api_name=False, show_progress="hidden")

    parts = TabParts(refresh=[(ckpt, lambda: store.names("classifier"))])
    # wired like every action: "what the network sees" downloads named by the settings, not image.png
    wire(go.click, "classify", {"checkpoint": ckpt, "image": image, "invert": invert},
         lambda *a: classify(store, *a), [label, seen], parts)
    cleared(image.upload(lambda *a: classify(store, *a), [ckpt, image, invert], [label, seen], api_name=False), 3)
    # an example is classified as it is picked, like an upload (the last image's prediction stayed beside it)
    cleared(examples.load_input_event.then(lambda *a: classify(store, *a), [ckpt, image, invert], [label, seen],
                                           api_name=False))
    cleared(upload_tab.select(lambda c, im, i: (None, None) if im is None else classify(store, c, im, i),
                              [ckpt, image, invert], [label, seen], api_name=False), 3)
    wire(draw.click, "classify_drawing", {"checkpoint": ckpt, "drawing": sketch, "invert": invert},
         lambda *a: classify(store, *a), [label, seen], parts)
    draw_tab.select(lambda: (None, None), None, [label, seen], api_name=False, show_progress="hidden")
    return parts


if __name__ == "__main__":
    import gradio as gr

    with gr.Blocks(title="Classifier") as demo:
        build(ModelStore())
    demo.launch()
