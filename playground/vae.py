"""Tab "VAE interpolation": encode two images, walk between their codes, decode; the autoencoder's
and the VAE's walks side by side; the 2-D latent map; latent arithmetic; prior samples; denoising.

Handlers are pure functions of (store, checkpoint names, images, numbers) returning arrays/paths.
"""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr  # at module level: handlers' gr.SelectData annotations must resolve
import numpy as np
import torch

from trainers.core.data import FASHION_MNIST_CLASSES
from trainers.core.errors import UserError
from trainers.core.images import from_uint8, gif_bytes, grid, strip, to_uint8, upscale
from trainers.core.latent import PATHS
from trainers.vae.train import add_noise, decode, encode, translate

from .errors import choice, number, user_errors
from .exports import export_file
from .page import LATEX
from .uploads import image_to_grey, picture, unlike_data, upload_button, uploaded_part
from .views import GRID_WIDTH, PALETTE, class_legend, font_at, frames_view
from .wiring import TabParts, wire
from .models import ModelStore

ASSETS = Path(__file__).resolve().parent / "assets"
GALLERY_SIZE = 20
MAX_STEPS = 32
MAP_PX = 420  # the 2-D map shows [-r, r]^2: r = 3 (3 sigma of the prior) or wider if the codes spread wider


@functools.lru_cache(maxsize=1)
def test_images() -> tuple[np.ndarray, np.ndarray]:
    """2000 Fashion-MNIST test images (200 per class, 28x28 uint8) shipped with the app, and labels."""
    with np.load(ASSETS / "fashion-test-2000.npz") as f:
        return f["images"], f["labels"].astype(np.int64)


def gallery() -> list[tuple[np.ndarray, str]]:
    images, labels = test_images()
    return [(upscale(images[i], 4), FASHION_MNIST_CLASSES[labels[i]]) for i in range(GALLERY_SIZE)]


def gallery_image(index: int) -> np.ndarray:
    images, _ = test_images()
    if not 0 <= int(index) < len(images):
        raise UserError(f"gallery index must be in [0, {len(images)})")
    return upscale(images[int(index)], 4)


def names(store: ModelStore, variational: bool | None = None, latent_dim: int | None = None,
          denoising: bool | None = None) -> list[str]:
    from trainers.core.checkpoint import read_meta

    out = []
    for name in store.names("vae"):
        cfg = read_meta(store.root / name)["config"]
        if variational is not None and cfg["variational"] != variational:
            continue
        if latent_dim is not None and cfg["latent_dim"] != latent_dim:
            continue
        if denoising is not None and (cfg["noise_std"] > 0) != denoising:
            continue
        out.append(name)
    return out


def _empty(image) -> bool:
    """No image in an editor: None, or an editor value whose background and layers are all empty."""
    if image is None:
        return True
    if isinstance(image, dict):
        return image.get("background") is None and not image.get("layers") and image.get("composite") is None
    return False


def _to_model(model, image, name: str | None = None) -> torch.Tensor:
    """Any image (upload, drawing, gallery array) -> uint8 (1, C, S, S) as the model was trained. A refusal names
    the input (`name`, e.g. "image B"): "no image given" did not say which of the two was empty."""
    cfg = model.cfg
    try:
        grey = image_to_grey(uploaded_part(image) if isinstance(image, dict) else image, cfg.image_size, "auto")
    except UserError as e:
        if name is None:
            raise
        raise type(e)(f"{name}: {e}") from None  # the same kind: "Nothing given yet" stays so
    x = torch.from_numpy(grey.copy()).view(1, 1, cfg.image_size, cfg.image_size)
    return x.expand(1, cfg.channels, -1, -1).contiguous()


def _steps(steps) -> int:
    return number("steps", steps, 2, MAX_STEPS, integer=True)


def walk(model, image_a, image_b, steps: int, path: str) -> torch.Tensor:
    """Encode A and B (mu for a VAE), interpolate `steps` codes along `path`, decode: uint8 (steps, C, S, S)."""
    path = choice("path", path, list(PATHS))
    z = encode(model.modules, torch.cat([_to_model(model, image_a, "image A"), _to_model(model, image_b, "image B")]))
    return decode(model.modules, PATHS[path](z[0], z[1], torch.linspace(0, 1, steps)))


@user_errors
def interpolate(store: ModelStore, ae_name: str, vae_name: str, image_a, image_b, steps, path: str = "lerp"):
    """-> (AE strip, VAE strip, inputs and reconstructions, GIF path): the same pair through both models."""
    *views, (frames_ae, frames_vae) = _interpolated(store, ae_name, vae_name, image_a, image_b, steps, path)
    return *views, _interpolation_gif(frames_ae, frames_vae)


@user_errors
def interpolate_shown_first(store: ModelStore, *args):
    """`interpolate` as the page runs it: the strips at once (the GIF as it was), then all with the new GIF
    (its encoding took ~60 of the action's ~76 ms, in front of the strips)."""
    import gradio as gr

    *views, (frames_ae, frames_vae) = _interpolated(store, *args)
    for name, image in (("image A", args[2]), ("image B", args[3])):  # said beside the grey blurs it gives
        unlike = unlike_data(image_to_grey(uploaded_part(image), 32))  # (a noise photo went in with no word)
        if unlike:
            gr.Warning(f"{name}: {unlike.replace('**', '')} The models, trained on garments, make a garment of "
                       "it all the same.")
    yield *views, gr.skip()
    yield *views, _interpolation_gif(frames_ae, frames_vae)


def _interpolated(store: ModelStore, ae_name: str, vae_name: str, image_a, image_b, steps, path: str = "lerp"):
    """-> (AE strip, VAE strip, inputs and reconstructions, (AE frames, VAE frames))."""
    steps = _steps(steps)
    ae, vae = store.get(ae_name, "vae"), store.get(vae_name, "vae")
    frames_ae, frames_vae = walk(ae, image_a, image_b, steps, path), walk(vae, image_a, image_b, steps, path)
    inputs = torch.cat([_to_model(vae, image_a), _to_model(vae, image_b)])
    recon = torch.cat([inputs[:1], frames_ae[:1], frames_vae[:1], inputs[1:], frames_ae[-1:], frames_vae[-1:]])
    return frames_view(frames_ae), frames_view(frames_vae), frames_view(recon, per_row=3), (frames_ae, frames_vae)


def _interpolation_gif(frames_ae: torch.Tensor, frames_vae: torch.Tensor) -> str:
    gif_frames = [upscale(grid(torch.stack([a, v]), nrow=2), 4) for a, v in zip(frames_ae, frames_vae)]
    gif_frames += gif_frames[-2:0:-1]  # there and back
    return export_file(gif_bytes(gif_frames), "vae-interpolation", ".gif")


@functools.lru_cache(maxsize=4)
def _map_points(store: ModelStore, name: str, mtime: float) -> tuple[np.ndarray, float]:
    """The shipped test images' mu under a 2-D VAE, and the half-width r of the square that shows them."""
    model = store.get(name, "vae")
    images, _ = test_images()
    x = torch.from_numpy(images).unsqueeze(1)
    x = torch.nn.functional.interpolate(x.float(), size=model.cfg.image_size, mode="bilinear", antialias=True)
    mu = encode(model.modules, x.round().clamp(0, 255).to(torch.uint8)).numpy()
    return mu, max(3.0, float(np.ceil(np.quantile(np.abs(mu), 0.99))))


def _map(store: ModelStore, name: str):
    model = store.get(name, "vae")
    if model.cfg.latent_dim != 2:
        raise UserError(f"{name} has a {model.cfg.latent_dim}-d latent; the map needs a 2-d VAE")
    return model, *_map_points(store, name, store.version(name))


LEGEND_PX = 64  # under the square: the note on the points outside it, then the legend's two rows


def _to_px(z: np.ndarray, r: float) -> np.ndarray:
    return ((z * np.array([1, -1]) + r) / (2 * r) * (MAP_PX - 1)).round().astype(int)


def _axes(draw, r: float) -> None:
    """Tick marks on the map's two axes, their values along the square's bottom (z1) and left (z2) edges where
    few points fall (on the axes, through the densest part of the map, they sat over the points), and the axes'
    names at their ends. The ticks are at half and all of the square's half-width r: at every 2 (r = 5) the last,
    4, read as the axis's end. The bottom left corner's -r serves both axes."""
    halo = {"stroke_width": 2, "stroke_fill": "white", "font": font_at(14)}
    centre, last, grey = MAP_PX // 2, MAP_PX - 1, (90, 90, 90)
    for v in (-r, -r / 2, r / 2, r):
        px, py = np.clip(_to_px(np.array([[v, v]], dtype=float), r)[0], 0, last)
        draw.line([(px, centre - 4), (px, centre + 4)], fill=grey, width=1)  # on the axes
        draw.line([(centre - 4, py), (centre + 4, py)], fill=grey, width=1)
        draw.line([(px, last - 5), (px, last)], fill=grey, width=1)  # and at the edges, beside the values
        draw.line([(0, py), (5, py)], fill=grey, width=1)
        # z1 along the bottom, each value beside its tick (centred on it, the tick ran into it), inside the square
        draw.text((px - 4 if v == r else px + 4, last - 1), f"{v:g}", fill="black",
                  anchor="rb" if v == r else "lb", **halo)
        if v != -r:  # z2 along the left edge, each value above its tick (beside it, the tick read as a minus)
            draw.text((4, py + 5 if v == r else py - 3), f"{v:g}", fill="black", anchor="lt" if v == r else "lb",
                      **halo)
    draw.text((MAP_PX - 4, centre - 6), "z1", fill="black", anchor="rb", **halo)
    draw.text((centre + 7, 4), "z2", fill="black", anchor="lt", **halo)


@user_errors
def latent_map(store: ModelStore, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The 2-D VAE's map: test-set mu coloured by class (with a legend), and the decoded manifold."""
    from PIL import Image, ImageDraw

    model, mu, r = _map(store, name)
    _, labels = test_images()
    canvas = Image.new("RGB", (MAP_PX, MAP_PX + LEGEND_PX), "white")
    draw = ImageDraw.Draw(canvas)
    centre = MAP_PX // 2
    draw.line([(0, centre), (MAP_PX, centre)], fill=(200, 200, 200))
    draw.line([(centre, 0), (centre, MAP_PX)], fill=(200, 200, 200))
    # the square holds 99% of the points: the rest are counted, not silently cut off (a walk saw dots clipped)
    outside = int((np.abs(mu) > r).any(1).sum())
    note = f"z1, z2 in [-{r:g}, {r:g}]" + (f"; {outside} of {len(mu)} points outside" if outside else "")
    for (px, py), y in zip(_to_px(mu, r), labels):
        if 0 <= px < MAP_PX and 0 <= py < MAP_PX:
            draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=tuple(int(c) for c in PALETTE[y]))
    _axes(draw, r)
    # under the square, above the legend: in its corner it covered points (and at the top, the z2 axis's name)
    draw.line([(0, MAP_PX), (MAP_PX, MAP_PX)], fill=(200, 200, 200))
    draw.text((4, MAP_PX + 4), note, fill="black", anchor="lt", font=font_at(13))
    class_legend(draw, FASHION_MNIST_CLASSES, MAP_PX + 24, MAP_PX)
    n = 15
    ticks = torch.linspace(-r, r, n + 2)[1:-1]  # cell centres of the map's square
    zs = torch.stack([torch.stack([x, y]) for y in ticks.flip(0) for x in ticks])  # top row: z2 high
    manifold = grid(decode(model.modules, zs), nrow=n, padding=0)
    return np.asarray(canvas), upscale(manifold, 2)


@user_errors
def decode_at(store: ModelStore, name: str, px: float, py: float) -> tuple[np.ndarray, str]:
    """A click at pixel (px, py) of the map -> the decoded image at that latent point."""
    model, _, r = _map(store, name)
    px, py = number("map x", px, -1e6, 1e6), number("map y", py, -1e6, 1e6)
    if not (0 <= px <= MAP_PX - 1 and 0 <= py <= MAP_PX - 1):  # a click on the legend under the square
        raise UserError("that click is outside the map (on its legend or margin): click among the points")
    px = number("map x (click inside the map)", px, 0, MAP_PX - 1)
    py = number("map y (click inside the map)", py, 0, MAP_PX - 1)
    z = torch.tensor([[px / (MAP_PX - 1) * 2 * r - r, r - py / (MAP_PX - 1) * 2 * r]])
    image = decode(model.modules, z)
    return upscale(strip(image, padding=0), 6), f"z = ({z[0, 0]:.2f}, {z[0, 1]:.2f})"


def mark_point(map_image: np.ndarray, px: float, py: float) -> np.ndarray:
    """The map with a crosshair ring at pixel (px, py): where the decoded point lies among the classes."""
    from PIL import Image, ImageDraw

    canvas = Image.fromarray(np.asarray(map_image, dtype=np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for colour, width in (((255, 255, 255), 5), ((0, 0, 0), 2)):  # a white halo keeps it visible on any class
        draw.ellipse([px - 9, py - 9, px + 9, py + 9], outline=colour, width=width)
        draw.line([(px - 15, py), (px - 5, py)], fill=colour, width=width - 1)
        draw.line([(px + 5, py), (px + 15, py)], fill=colour, width=width - 1)
        draw.line([(px, py - 15), (px, py - 5)], fill=colour, width=width - 1)
        draw.line([(px, py + 5), (px, py + 15)], fill=colour, width=width - 1)
    return np.asarray(canvas)


@user_errors
def click_map(store: ModelStore, name: str, px: float, py: float) -> tuple[np.ndarray, np.ndarray, str]:
    """A click on the map -> (the map marked where it was clicked, the decoded image there, its z)."""
    image, text = decode_at(store, name, px, py)
    return mark_point(latent_map(store, name)[0], px, py), image, text


@user_errors
def arithmetic(store: ModelStore, name: str, image_a, image_b, image_c) -> np.ndarray:
    """A + (B - C) in latent space: [A, B, C, decode(z_A + z_B - z_C)]."""
    model = store.get(name, "vae")
    missing = [k for k, im in zip("ABC", (image_a, image_b, image_c)) if _empty(im)]
    if missing:  # say which: the default leaves C empty
        raise UserError(f"A + (B - C) needs three images: give image {' and '.join(missing)} (gallery, upload or draw)")
    x = torch.cat([_to_model(model, im, f"image {k}") for im, k in zip((image_a, image_b, image_c), "ABC")])
    z = encode(model.modules, x)
    out = decode(model.modules, (z[0] + z[1] - z[2]).unsqueeze(0))
    return upscale(strip(torch.cat([x, out])), 4)


@user_errors
def prior_samples(store: ModelStore, name: str, seed, n) -> np.ndarray:
    """Decode z ~ N(0, I): the VAE's decoder used as a generator."""
    from trainers.vae.train import sample

    seed, n = number("seed", seed, 0, 2**63 - 1, integer=True), number("samples", n, 1, 64, integer=True)
    model = store.get(name, "vae")
    images = sample(model.cfg, model.modules, n, torch.Generator().manual_seed(seed))["images"]
    return frames_view(images, per_row=6, width=GRID_WIDTH)  # (8 a row: ~70-px samples in the column)


@user_errors
def denoise(store: ModelStore, name: str, image, noise_std, seed) -> tuple[np.ndarray, np.ndarray]:
    """Add Gaussian noise of `noise_std` (pixels in [0, 1]) to the image, then reconstruct it."""
    noise_std, seed = number("noise std", noise_std, 0, 1), number("seed", seed, 0, 2**63 - 1, integer=True)
    model = store.get(name, "vae")
    x = _to_model(model, image)
    noisy = to_uint8(add_noise(from_uint8(x), float(noise_std), torch.Generator().manual_seed(seed)))
    clean = translate(model.cfg, model.modules, noisy)
    return upscale(strip(noisy, 0), 6), upscale(strip(clean, 0), 6)


EXPLANATION = r"""
**The VAE's loss** (course notes, *Generative networks*):
$$L(\mathbf{x}; \vartheta, \varphi) = \mathrm{KL}\big(q(\mathbf{z}|\mathbf{x}, \varphi)\,\|\,p(\mathbf{z})\big) + \frac{1}{2}\frac{\|\mathbf{x} - \tilde{\mathbf{x}}\|^2}{c}$$
with $q(\mathbf{z}|\mathbf{x}) = \mathcal{N}(\boldsymbol\mu(\mathbf{x}), \boldsymbol\sigma^2(\mathbf{x})\mathbf{I})$ and $p(\mathbf{z}) = \mathcal{N}(\mathbf{0}, \mathbf{I})$, so that
$$\mathrm{KL} = -\frac{1}{2}\sum_{j} \left(1 + \ln\sigma_j^2 - \mu_j^2 - \sigma_j^2\right).$$
The hyperparameter $c$ is the variance of $p(\tilde{\mathbf{x}}) = \mathcal{N}(\mathbf{x}, c\mathbf{I})$: a small $c$ favours sharp reconstructions, a large one a smooth, well-covered latent space.

**The reparametrization trick**: $\mathbf{z} = \boldsymbol\mu + \boldsymbol\varepsilon \odot \boldsymbol\sigma$ with $\boldsymbol\varepsilon \sim \mathcal{N}(\mathbf{0}, \mathbf{I})$ drawn outside the network, so the gradient reaches $\boldsymbol\mu$ and $\boldsymbol\sigma$ (the notes write $\varepsilon\sigma^2$; the standard deviation $\sigma$ is what gives $\mathbf{z} \sim \mathcal{N}(\boldsymbol\mu, \boldsymbol\sigma^2)$).

**Why the VAE interpolates smoothly**: a plain autoencoder maps each image to one point and leaves holes between them; the KL term spreads each code into a Gaussian cloud pulled towards the prior, so every point between two codes decodes to a plausible garment.
"""


def build(store: ModelStore) -> TabParts:
    aes, vaes = names(store, variational=False, denoising=False), names(store, variational=True)
    maps, daes = names(store, variational=True, latent_dim=2), names(store, denoising=True)
    big_vaes = [n for n in vaes if n not in maps] or vaes

    def first(options):
        return options[0] if options else None

    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("### VAE interpolation\nPick two garments (click the gallery, upload, or draw), then walk "
                        "from one code to the other through the autoencoder and through the VAE. **Try first:** "
                        "press *Interpolate A → B*: between the T-shirt and the sneaker, the autoencoder's middle "
                        "frames fade to a dim ghost of both where the VAE's stay brighter (the gap is widest between "
                        "unlike garments; a bag and a boot blend alike in both). To draw: the brush starts white, for "
                        "light strokes on a garment; *Clear canvas* makes the canvas white and the brush black, and "
                        "a dark-on-white drawing is inverted, as the classifier does.")
            # two rows of five and their captions: in one row of ten, 7 showed at 1400 px and "Shirt" was cut in
            # half (the rest behind a sideways scroll), as in Inpaint's picker
            gal = gr.Gallery(gallery(), columns=5, height=335,
                             label="Fashion-MNIST test images",
                             allow_preview=False, elem_id="vae-gallery", elem_classes="picker")
            with gr.Row():
                target = gr.Radio(["A", "B", "C"], value="A", label="a click on the gallery or an upload sets image",
                                  scale=2)
                own = upload_button("vae-upload")  # an editor holding a picture offers no upload of its own
            # the tab opens on A and B interpolated; C is filled too, so that A + (B - C) works at once
            starts = [gallery_image(0), gallery_image(7), gallery_image(9)]
            with gr.Row():
                # one layer each, and no layer menu (it read "Layer 1" where the user looks for A, B or C); a
                # white brush first, a few pixels wide: the garments are light on black, and a wide black one erased them
                editors = [gr.ImageEditor(v, type="pil", label=f"image {k}", sources=["upload", "clipboard"],
                                          # fixed: a photo is fitted to the 280-px canvas in the browser (a 4000 x
                                          # 3000 one made a canvas that size, whose upload never ended)
                                          canvas_size=(280, 280), fixed_canvas=True, height=300,
                                          brush=gr.Brush(colors=["#ffffff", "#000000"], default_size=12),
                                          layers=False, elem_classes="narrow-editor")
                           for k, v in zip("ABC", starts)]
            with gr.Row():
                # room for a whole model name beside its arrow
                ae = gr.Dropdown(aes, value=first(aes), label="autoencoder", scale=2, min_width=210)
                vae = gr.Dropdown(vaes, value=first(big_vaes), label="VAE", scale=2, min_width=210)
                steps = gr.Slider(2, MAX_STEPS, 10, step=1, label="steps", min_width=170)  # its scale's 32 was cut
                path = gr.Radio(list(PATHS), value="lerp", label="path")
            go = gr.Button("Interpolate A → B", variant="primary")
            with gr.Row():
                gif = gr.Image(label="animated: autoencoder | VAE (GIF)", type="filepath",
                               interactive=False, elem_id="vae-gif", elem_classes="frames")
                recon = gr.Image(label="A, AE(A), VAE(A) / B, AE(B), VAE(B)", interactive=False,
                                 format="png", elem_id="vae-recon", elem_classes="frames")
            out_ae = gr.Image(label="autoencoder: decode(path(z_A, z_B))", interactive=False,
                              format="png", elem_id="vae-ae-strip", elem_classes="frames")
            out_vae = gr.Image(label="VAE: decode(path(mu_A, mu_B))", interactive=False, format="png",
                               elem_id="vae-strip", elem_classes="frames")
        with gr.Column(scale=2):
            gr.Markdown(EXPLANATION, latex_delimiters=LATEX)

    def set_image(evt: gr.SelectData, which):
        image = gallery_image(evt.index)
        return [image if k == which else gr.update() for k in "ABC"]

    gal.select(set_image, target, editors, api_name=False)
    own.upload(user_errors(lambda path, which: [picture(path) if k == which else gr.skip() for k in "ABC"]),
               [own, target], editors, api_name=False, show_progress="hidden")
    parts = TabParts()  # images are inputs but not settings: an exported PNG restores the rest
    wire(go.click, "vae_interpolate", {"autoencoder": ae, "VAE": vae, "image A": editors[0], "image B": editors[1],
                                       "steps": steps, "path": path},
         lambda *a: (yield from interpolate_shown_first(store, *a)), [out_ae, out_vae, recon, gif], parts,
         opening=bool(aes and vaes) and {"image A": starts[0], "image B": starts[1]})

    with gr.Accordion("Latent arithmetic A + (B − C)", open=False):
        arith_model = gr.Dropdown(vaes + aes, value=first(big_vaes), label="model")
        arith_go = gr.Button("Compute A + (B − C)", variant="primary")
        arith_out = gr.Image(label="A, B, C, decode(z_A + z_B − z_C)", interactive=False, format="png",
                             elem_id="vae-arith")
    wire(arith_go.click, "vae_arithmetic", {"model": arith_model, "image A": editors[0], "image B": editors[1],
                                            "image C": editors[2]},
         lambda m, a, b, c: arithmetic(store, m, a, b, c), arith_out, parts,
         opening=bool(vaes + aes) and {"image A": starts[0], "image B": starts[1], "image C": starts[2]})

    with gr.Accordion("2-D latent map", open=True):
        with gr.Row():
            map_model = gr.Dropdown(maps, value=first(maps), label="2-D VAE")
            map_go = gr.Button("Draw the map", variant="primary")
        with gr.Row():  # two wide columns: the map's legend and the manifold's 15 x 15 garments stay legible
            with gr.Column():
                map_img = gr.Image(label="test-set mu by class (click to decode a point)",
                                   interactive=False, format="png", elem_id="vae-map")
                with gr.Row():
                    point = gr.Image(label="decoded at the click", interactive=False, format="png", elem_id="vae-point",
                                     elem_classes="frames")  # its own height: a fixed 240 px cut the garment's foot
                    coords = gr.Textbox(label="latent point", interactive=False)
            manifold = gr.Image(label="decoded manifold over the same square", interactive=False,
                                format="png", elem_id="vae-manifold")
    # the map is an opening (drawn by the background warm-up, not while the server starts: its first grid
    # imports torchvision, seconds of a cold start)
    wire(map_go.click, "vae_latent_map", {"checkpoint": map_model}, lambda m: latent_map(store, m),
         [map_img, manifold], parts, opening=bool(maps))
    map_model.change(lambda m: latent_map(store, m), map_model, [map_img, manifold], api_name=False)

    def on_click(name, evt: gr.SelectData):
        return click_map(store, name, *evt.index)

    map_img.select(on_click, map_model, [map_img, point, coords], api_name=False)

    with gr.Accordion("Samples from the prior, and the denoising autoencoder", open=False):
        with gr.Row():
            with gr.Column():
                prior_model = gr.Dropdown(vaes, value=first(big_vaes), label="VAE")
                seed = gr.Number(0, label="seed", precision=0, minimum=0)
                n = gr.Slider(1, 64, 16, step=1, label="samples")
                prior_go = gr.Button("Sample z ~ N(0, I)", variant="primary")
                prior_out = gr.Image(label="decoded prior samples", interactive=False, format="png")
            with gr.Column():
                dae_model = gr.Dropdown(daes, value=first(daes), label="denoising autoencoder")
                noise = gr.Slider(0, 1, 0.3, step=0.05, label="noise std (pixels in [0, 1]); uses image A")
                dae_go = gr.Button("Add noise, then denoise", variant="primary")
                with gr.Row():
                    noisy = gr.Image(label="noisy input", interactive=False, format="png")
                    clean = gr.Image(label="denoised", interactive=False, format="png")
    wire(prior_go.click, "vae_prior_samples", {"checkpoint": prior_model, "seed": seed, "samples": n},
         lambda m, s, k: prior_samples(store, m, s, k), prior_out, parts, opening=bool(vaes))
    wire(dae_go.click, "vae_denoise", {"checkpoint": dae_model, "image A": editors[0], "noise": noise, "seed": seed},
         lambda m, im, s, sd: denoise(store, m, im, s, sd), [noisy, clean], parts,
         opening=bool(daes) and {"image A": starts[0]})
    parts.refresh = [(ae, lambda: names(store, variational=False, denoising=False)),
            (vae, lambda: names(store, variational=True)), (arith_model, lambda: names(store, variational=True)
                                                             + names(store, variational=False, denoising=False)),
            (map_model, lambda: names(store, variational=True, latent_dim=2)),
            (prior_model, lambda: names(store, variational=True)), (dae_model, lambda: names(store, denoising=True))]
    parts.pictures.update({"VAE: decoded at the click": point, "VAE: prior samples": prior_out})
    return parts


if __name__ == "__main__":
    with gr.Blocks(title="VAE interpolation") as demo:
        build(ModelStore())
    demo.launch()
