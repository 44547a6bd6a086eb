"""Every input checked before use, every uploaded or drawn image through one door: Gradio's own validation made
readable, formats and pixel caps checked from the header before any decode, Pillow and Gradio's cache
hardened, drawings flattened, and images turned into the light-on-black grey a Fashion-MNIST model takes."""

from __future__ import annotations

import contextlib
import functools
import io
import re
from pathlib import Path

import numpy as np

from trainers.core.errors import NothingGiven, UserError

from .errors import log, refusal, user_errors


MAX_UPLOAD_PIXELS = 4096 * 4096


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
                    log.warning("user error in %s: %s", name, e)
                    raise refusal(e, f"{name}: ") from None
            try:
                return check(*args, **kwargs)
            except gr.Error as e:
                if not e.print_exception:
                    raise
                log.warning("user error in %s: %s", name, e.message)
                # up until closed, as ours (Gradio's closed after 10 s), and naming its input: "Value -5 is less
                # than minimum value 0." did not say which of the tab's numbers it was
                raise refusal(e, f"{name}: ") from None
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
                if not decodes:
                    raise
                # its header passed our check above: Gradio failed decoding the data (an editor decodes every
                # upload), which showed the user a bare "Error"
                log.warning("user error in %s: undecodable image (%s)", name, type(e).__name__)
                raise refusal(f"{name}: the image's data is damaged or truncated (it must be a whole PNG, JPEG, "
                              f"GIF, WebP or BMP file of at most {pixel_cap():,} pixels)") from None
        return run

    images = (gr.Image, gr.ImageEditor)  # a Sketchpad is an ImageEditor
    # image inputs are checked at their class: a session that updates a component (an upload's failure emptying
    # it) keeps a new instance of it in its own state, built without an instance's wrapper, and the next hostile
    # upload into it reached Gradio's decoder with no check (a text file named .png: no message at all)
    for cls in images:
        if not getattr(cls.preprocess, "quiet", False):
            def preprocess(self, payload, _plain=cls.preprocess):
                return quiet(functools.partial(_plain, self), getattr(self, "label", None) or type(self).__name__,
                             True, getattr(self, "blob_storage", None))(payload)

            preprocess.quiet, preprocess.plain = True, cls.preprocess  # plain: Gradio's own (the tests' control)
            cls.preprocess = preprocess
    bases = (gr.components.Component, gr.components.base.ComponentBase)
    for block in blocks.blocks.values():
        # its own preprocess or an inherited one (a Sketchpad's is the ImageEditor's: it was left unwrapped)
        owner = next((k for k in type(block).__mro__ if "preprocess" in k.__dict__), None)
        if isinstance(block, gr.components.Component) and owner not in (None, *bases) \
                and not isinstance(block, images):
            block.preprocess = quiet(block.preprocess, getattr(block, "label", None) or type(block).__name__,
                                     False, None)


# the raster formats an upload may be in. Everything else is refused before a plugin decodes it: EPS (a
# PostScript program, which Pillow renders by running Ghostscript), TIFF, PSD, ICO...
MIN_SIDE = 8  # a smaller image holds no garment: a 1x1 upload was stretched into a noise blob
MAX_FILE_SIZE = 10 * 2**20  # bytes, one upload (Gradio's limit, the page's, and the per-visitor cap's unit)


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
        from .exports import download_name

        name = download_name(img, name)  # an output's download says what it is, not "image.png"
        if format.lower() == "png":  # zlib level 1: an 822-px sample sheet took 22.5 ms at Gradio's 6, 10.2 ms
            with io.BytesIO() as out:  # here (89 KB against 74); the same text chunks (the settings)
                img.save(out, "png", pnginfo=pu.get_pil_metadata(img), compress_level=1)
                data = out.getvalue()
        else:
            data = pu.encode_pil_to_bytes(img, format)
        target = (Path(cache_dir) / pu.hash_bytes(data) / f"{name}.{format}").resolve()
        atomic_write_bytes(target, data, fsync=False)  # creates the folder
        return str(target)

    save_pil_to_cache.atomic = True
    pu.save_pil_to_cache = save_pil_to_cache  # save_img_array_to_cache and every component look it up here

    # a gallery's items keep no name (orig_name None: its Download offered "image.png" for every compared
    # model's sheet); they get their cached file's, which `download_name` chose
    import gradio as gr

    plain = gr.Gallery.postprocess

    def postprocess(self, value):
        out = plain(self, value)
        for item in getattr(out, "root", None) or []:
            data = getattr(item, "image", None)
            if data is not None and data.orig_name is None and data.path:
                data.orig_name = Path(data.path).name
        return out

    gr.Gallery.postprocess = postprocess


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
        # (a text file renamed .png reads as nothing given: the message says it may have been such a file)
        # "or draw one" where there is a pad to draw on: Upscale's upload box said it too
        raise UserError(f"no image given, or a file that is not an image: upload one ({', '.join(UPLOAD_FORMATS)})"
                        + (" or draw one" if drawing else ""))
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
            raise NothingGiven("the image is empty (one flat colour, nothing drawn on it): upload a garment or draw one")
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
    w, h = image.size
    if w == h or image.mode not in ("RGBA", "LA", "PA") or image.getchannel("A").getextrema()[0] == 255:
        return image
    return _on_square(image)


def _on_square(image):
    """An image centred on a transparent square of its longer side."""
    from PIL import Image

    w, h = image.size
    side = max(w, h)
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    canvas.paste(image.convert("RGBA"), ((side - w) // 2, (side - h) // 2))
    return canvas


def uploaded_part(value, image=None):
    """An editor's image without the transparent margin its canvas adds around an upload of another shape: a
    600 x 400 photo of a light garment on white, letterboxed in the square canvas, had its margin flattened as a
    drawing's canvas is (black, under light ink) and went in as a white band between black bars. The upload is
    the editor's background: `image` (its composite when not given) is cut to where that is opaque. A drawing (no
    background) stays whole; anything else passes through."""
    from PIL import Image

    image = as_image(value) if image is None else image
    background = value.get("background") if isinstance(value, dict) else None
    if isinstance(background, Image.Image) and background.size == image.size and "A" in background.getbands():
        box = background.getchannel("A").getbbox()
        if box and box != (0, 0, *image.size):
            return image.crop(box)
    return image


def usable_image(value):
    """`as_image`, and big enough to hold a garment (MIN_SIDE): what every image input of the app needs."""
    image = as_image(value)
    if min(image.size) < MIN_SIDE:
        raise UserError(f"the image is {image.width}x{image.height} px: too small to show a garment "
                        f"(at least {MIN_SIDE}x{MIN_SIDE})")
    return image


def upload_button(elem_id: str, label: str = "Upload your own picture"):
    """A button that opens the file chooser for an image editor: an editor holding a picture offers no upload of
    its own (Gradio 6.31's image tool lists upload and paste only while the canvas is empty), and a walk found
    no way to inpaint its own photo. Its file goes through `picture`."""
    import gradio as gr

    return gr.UploadButton(label, file_types=["image"], file_count="single", type="filepath", elem_id=elem_id,
                           size="md")


def picture(path):
    """An upload button's file -> the picture for an image editor: checked from its header, decoded, upright,
    big enough (`usable_image`), and centred on a transparent square when it is not one, as the editor's own
    upload fits a picture into its square canvas (a 2000 x 100 strip set as the picture was stretched to the
    square; `uploaded_part` cuts the margin off again)."""
    image = usable_image(open_upload(path))
    return image if image.width == image.height else _on_square(image)


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


# What sets an input apart from Fashion-MNIST, measured on 2000-3000 test images put through `image_to_grey`:
# - light in the 2-px frame of the 32-px input, where Fashion-MNIST is near-black: the frame's mean is over 0.25 of
#   white for 0.1% of them (uniform noise: 0.50);
# - too few lit pixels (> 40 of 255): at least 8% of the frame in every test image; an empty upload has none.
EDGE_ABOVE, LIT_LEVEL, LIT_BELOW = 0.25, 40, 0.03


def unlike_data(grey: np.ndarray) -> str:
    """Why a grey input (as `image_to_grey` gives it) is unlike Fashion-MNIST, as a sentence for the page ("" when
    it is not): the models, trained on centred garments on black, read anything as a garment all the same."""
    grey = np.asarray(grey, dtype=np.float64)
    if grey.ndim == 3:
        grey = grey[..., :3].mean(-1)
    lit = float((grey > LIT_LEVEL).mean())
    if lit < LIT_BELOW:
        return (f"**This image is unlike the data: it is (nearly) empty.** {lit:.0%} of it is lit, where every "
                "Fashion-MNIST garment lights 8% of the frame or more.")
    ring = np.ones(grey.shape[:2], bool)
    ring[2:-2, 2:-2] = False
    if grey[ring].mean() / 255 > EDGE_ABOVE:
        return ("**This image is unlike the data.** Fashion-MNIST garments sit centred on plain black with a "
                "margin; this one has light at the frame's edges (a background, texture or a crop; a drawing "
                "that reaches the pad's edges: draw it smaller).")
    return ""


def unlike_note(grey, consequence: str) -> str:
    """`unlike_data`'s sentence and what it means for this tab's model (`consequence`), as a paragraph to put
    first in a result's note; "" for an input like the data."""
    why = unlike_data(grey)
    return f"{why} {consequence}\n\n" if why else ""


def letterbox(grey):
    """A grey PIL image made square by bands of its border's median level on the short sides, centred (as an image
    editor fits a picture into its square canvas): a wide photo keeps its shape instead of being squashed, as
    Fashion-MNIST's garments sit in their square with background around them."""
    from PIL import Image

    w, h = grey.size
    if w == h:
        return grey
    arr = np.asarray(grey)
    fill = int(np.median(np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])))
    side = max(w, h)
    square = Image.new("L", (side, side), fill)
    square.paste(grey, ((side - w) // 2, (side - h) // 2))
    return square


def image_to_grey(image, size: int = 32, invert: str = "auto") -> np.ndarray:
    """A PIL image -> uint8 (size, size): EXIF-rotated, transparency flattened, grey, made square by bands of its
    background (`letterbox`), light-on-black.

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
        grey = letterbox(image.convert("L")).resize((size, size), Image.Resampling.LANCZOS)
    except ValueError as e:  # a mode Pillow cannot turn into grey
        raise UserError(f"cannot read a {image.mode} image as grey ({str(e)[:60]})") from None
    arr = np.array(grey, dtype=np.uint8)  # a copy: writable, so torch.from_numpy takes it without a warning
    if invert == "yes" or (invert == "auto" and np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]]).mean() > 127):
        arr = 255 - arr
    return arr


# Public mode: uploads per visitor. Gradio stores every upload in its file cache (cleared after CACHE_CLEANUP's
# age) before any handler sees it, so a stranger looping over POST /gradio_api/upload could fill the disk at
# MAX_FILE_SIZE a request. These caps are generous for a person (a hundred garments an hour) and bound a script.
UPLOADS_PER_HOUR = 200
UPLOAD_BYTES_PER_HOUR = 200 * 2**20


class UploadCap:
    """ASGI middleware (public deployments): a visitor's uploads in the last hour are counted, by number and by
    their declared size (a request without one counts as `max_bytes`); past either cap the upload is refused
    with 429 and a sentence, before its body is read. The visitor is the connection's address, as
    `wiring.client` names it for the other per-client caps."""

    UPLOAD_PATH = "/gradio_api/upload"

    def __init__(self, app, max_bytes: int, per_hour: int = UPLOADS_PER_HOUR,
                 bytes_per_hour: int = UPLOAD_BYTES_PER_HOUR, clock=None):
        from .quotas import HourlyLedger

        self.app, self.max_bytes, self.per_hour, self.bytes_per_hour = app, max_bytes, per_hour, bytes_per_hour
        self.ledger = HourlyLedger(clock)

    def charge(self, who: str, size: int) -> str | None:
        """Count an upload of `size` bytes for `who`, or say why it is refused (None: accepted)."""
        refused = self.ledger.spend(who, (1, size), (self.per_hour, self.bytes_per_hour))
        if refused is None:
            return None
        (count, total), wait = refused
        return (f"this public deployment takes {self.per_hour} uploads ({self.bytes_per_hour / 2**20:.0f} MB) an hour "
                f"from each visitor: {count} ({total / 2**20:.1f} MB) so far; more in {max(wait, 60) / 60:.0f} min. "
                "The results on screen are from before.")

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "http" and scope.get("method") == "POST" and \
                scope.get("path", "").rstrip("/").endswith(self.UPLOAD_PATH):
            headers = dict(scope.get("headers") or [])
            try:
                size = int(headers.get(b"content-length", b""))
            except ValueError:
                size = self.max_bytes
            who = (scope.get("client") or ("unknown",))[0]
            refusal = self.charge(who, max(size, 0))
            if refusal is not None:
                from starlette.responses import PlainTextResponse

                log.warning("upload refused for %s: %s", who, refusal)
                await PlainTextResponse(refusal, status_code=429)(scope, receive, send)
                return
        await self.app(scope, receive, send)
