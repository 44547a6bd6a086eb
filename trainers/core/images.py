"""Image conversions shared by the trainers, the CLI and the app."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from .checkpoint import atomic_write_bytes


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) float in [-1, 1] -> uint8 in [0, 255] (same shape)."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def from_uint8(x: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float in [-1, 1]."""
    return x.float() / 127.5 - 1.0


def to_hwc_array(images: torch.Tensor) -> np.ndarray:
    """uint8 (N, C, H, W) -> numpy (N, H, W) for one channel, (N, H, W, 3) for three (the CLI's npz)."""
    if images.dtype != torch.uint8:
        raise TypeError(f"expected uint8 images, got {images.dtype}")
    arr = images.permute(0, 2, 3, 1).numpy()
    return arr[..., 0] if arr.shape[-1] == 1 else arr


def from_hwc_array(arr: np.ndarray) -> torch.Tensor:
    """numpy uint8 (N, H, W) or (N, H, W, C) -> torch uint8 (N, C, H, W)."""
    if arr.dtype != np.uint8 or arr.ndim not in (3, 4):
        raise ValueError(f"images must be uint8 (N, H, W) or (N, H, W, 3), got {arr.dtype} {arr.shape}")
    t = torch.from_numpy(np.ascontiguousarray(arr))
    return t.unsqueeze(1) if t.ndim == 3 else t.permute(0, 3, 1, 2).contiguous()


def grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """uint8 (N, C, H, W) -> one uint8 (H', W', 3) grid image."""
    from torchvision.utils import make_grid

    n = images.shape[0]
    nrow = nrow or max(1, int(np.ceil(np.sqrt(n))))
    g = make_grid(images.float(), nrow=nrow, padding=padding, pad_value=255.0)
    return g.round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def png_bytes(array: np.ndarray, metadata: dict[str, str] | None = None) -> bytes:
    """Encode an (H, W) or (H, W, 3) uint8 array as PNG, with text chunks for `metadata`."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for k, v in (metadata or {}).items():
        info.add_text(k, str(v))
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def save_png(path: str | Path, array: np.ndarray, metadata: dict[str, str] | None = None) -> None:
    """`png_bytes` written atomically; an (H, W, 3) array whose three channels agree (a grid of grey images) is
    stored grey: the same pixels in about half the bytes, which the shipped checkpoints' snapshots count in."""
    if array.ndim == 3 and array.shape[-1] == 3 and (array == array[..., :1]).all():
        array = array[..., 0]
    atomic_write_bytes(path, png_bytes(array, metadata))


def frames_rgb(images: torch.Tensor) -> list[np.ndarray]:
    """uint8 (N, C, H, W) -> N frames (H, W, 3) for GIF/MP4 writers."""
    arr = images.permute(0, 2, 3, 1).numpy()
    return list(np.repeat(arr, 3, axis=-1) if arr.shape[-1] == 1 else arr)


def upscale(array: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of an (H, W[, C]) image, so small images stay crisp on screen."""
    return array.repeat(factor, 0).repeat(factor, 1)


def strip(images: torch.Tensor, padding: int = 2) -> np.ndarray:
    """uint8 (N, C, H, W) -> one row (H', W', 3)."""
    return grid(images, nrow=len(images), padding=padding)


def gif_bytes(frames: list[np.ndarray], duration_ms: int | list[int] = 120, loop: int = 0) -> bytes:
    """(H, W[, 3]) uint8 frames -> an animated GIF; `duration_ms` for every frame, or one per frame."""
    from PIL import Image

    if not frames:
        raise ValueError("a GIF needs at least one frame")
    # grey frames as one channel: given as RGB, Pillow builds an adaptive palette for each frame (a diffusion
    # run's 11 frames of 104 x 288: 38 ms, against 15 ms as greyscale). Not `optimize`d: Pillow's shrunk grey
    # palette moved a frame's values by up to 2
    grey = all(f.ndim == 2 or (f == f[..., :1]).all() for f in frames)
    images = [Image.fromarray(f if f.ndim == 2 or not grey else f[..., 0]) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=duration_ms, loop=loop,
                   **({"optimize": False} if grey else {}))
    return buf.getvalue()


def gif_with_comment(data: bytes, text: str) -> bytes:
    """A GIF with a Comment Extension (GIF89a) holding `text`, spliced in after the global colour table: the
    frames' bytes are unchanged. Pillow reads it back as `Image.info["comment"]`."""
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("not a GIF")
    flags = data[10]
    end = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    raw = text.encode()
    blocks = b"".join(bytes([len(raw[i:i + 255])]) + raw[i:i + 255] for i in range(0, len(raw), 255))
    return b"GIF89a" + data[6:end] + b"\x21\xfe" + blocks + b"\x00" + data[end:]


def mp4_with_comment(data: bytes, text: str) -> bytes:
    """The same MP4 (packets copied, not re-encoded) with its `comment` metadata tag set to `text`."""
    import av

    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as src, av.open(out, "w", format="mp4") as dst:
        dst.metadata["comment"] = text
        video = src.streams.video[0]
        stream = dst.add_stream_from_template(video)
        for packet in src.demux(video):
            if packet.dts is None:  # the demuxer's final flush packet
                continue
            packet.stream = stream
            dst.mux(packet)
    return out.getvalue()


# BT.601 limited range, RGB -> (Y, Cb, Cr) (ITU-R BT.601, the matrix swscale uses for yuv420p), per 255
_BT601 = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]],
                  np.float32) / 255
_BT601_OFFSET = np.array([16, 128, 128], np.float32)


def _yuv420p(rgb: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) RGB, H and W even -> the planar yuv420p layout (H * 3 / 2, W): BT.601 limited range, chroma
    averaged over 2 x 2 pixels (the matrix is linear, so the average's chroma is the chroma's average: 1/4 of the
    work; in float64 per channel, this took 270 ms of a 50-step run's 400-ms MP4)."""
    h, w = rgb.shape[:2]
    x = rgb.astype(np.float32)
    quad = x.reshape(h // 2, 2, w // 2, 2, 3)
    mean = (quad[:, 0, :, 0] + quad[:, 0, :, 1] + quad[:, 1, :, 0] + quad[:, 1, :, 1]) / 4
    planes = [_BT601_OFFSET[0] + _BT601[0, 0] * x[..., 0] + _BT601[0, 1] * x[..., 1] + _BT601[0, 2] * x[..., 2]]
    planes += [_BT601_OFFSET[k] + _BT601[k, 0] * mean[..., 0] + _BT601[k, 1] * mean[..., 1] + _BT601[k, 2] * mean[..., 2]
               for k in (1, 2)]  # Y, then U (Cb), then V (Cr)
    return np.rint(np.concatenate([p.ravel() for p in planes])).clip(0, 255).astype(np.uint8).reshape(h * 3 // 2, w)


def mp4_bytes(frames: list[np.ndarray], fps: int = 12) -> bytes:
    """(H, W[, 3]) uint8 frames -> H.264 MP4 (PyAV's bundled FFmpeg), the same bytes for the same frames;
    an odd height or width is padded to an even one."""
    import av

    if not frames:
        raise ValueError("a video needs at least one frame")
    h, w = frames[0].shape[:2]
    # x264 reads its input planes in SIMD-wide runs: a width that is not a multiple of 64 (the chroma planes'
    # not of 32) let it read past a row's end, and the same frames gave 2-4 different files in 60-150 encodes
    # on a loaded machine (the first encode of a process almost always differed). So the frames are encoded
    # 64-aligned, edge-padded, and the stream's SPS crops the padding off (x264's crop-rect): players show w.
    H, W = h + h % 2, -(-w // 64) * 64
    crop = W - (w + w % 2)
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        # x264 itself told to run one thread, no lookahead thread, deterministic (a loaded clean-clone run still
        # gave 2 files for 12 encodes with only the codec context's thread count set)
        stream = container.add_stream("h264", rate=fps, options={
            "x264-params": f"threads=1:lookahead-threads=1:sliced-threads=0:deterministic=1:crop-rect=0,0,{crop},0"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.codec_context.thread_count = 1
        for f in frames:
            rgb = np.stack([f] * 3, -1) if f.ndim == 2 else f
            rgb = np.pad(rgb, ((0, H - h), (0, w % 2), (0, 0)))  # odd sizes: one black row/column, as before
            rgb = np.pad(rgb, ((0, 0), (0, crop), (0, 0)), mode="edge")  # cropped off by the SPS
            # converted to the stream's yuv420p here, in numpy: left to FFmpeg's swscale (implicitly or by
            # `reformat`), the same frames of a width that is not a multiple of 32 gave 2-7 different files in
            # 12-20 encodes (its SIMD path depends on the buffers' alignment)
            frame = av.VideoFrame.from_ndarray(_yuv420p(rgb), format="yuv420p")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()
