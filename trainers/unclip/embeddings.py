"""What unCLIP reads from the frozen CLIP (`checkpoints/clip-fashion-captions`, the `clip` family's folder).

Notation (Ramesh et al. 2022, sec. 2): x an image, y its caption, z_i = E_img(x) the CLIP image embedding and
z_t = E_txt(y) the CLIP text embedding, both L2-normalised (CLIP compares them by cosine). Here they have the
CLIP's `projection_dim` (64) entries. Beware: the paper's z_t is the TEXT embedding, not the diffusion's x_t.

The towers are transformers' `CLIPVisionModelWithProjection` (vision transformer + visual projection) and
`CLIPTextModelWithProjection` (text transformer + text projection), filled with the CLIP's own weights, so they
give exactly `CLIPModel.get_image_features` / `get_text_features` (tested).
"""

from __future__ import annotations

import weakref
from pathlib import Path

import torch
import torch.nn.functional as F

from ..clip.tokenizer import tokenized
from ..core.errors import UserError


def clip_towers(path: str):
    """(image tower, text tower with its tokenizer as `.pipeline_tokenizer`) of a CLIP folder, frozen, fp32."""
    from transformers import CLIPModel, CLIPTextModelWithProjection, CLIPTokenizer, CLIPVisionModelWithProjection

    if not Path(path).is_dir():
        raise UserError(f"--clip={path} is not a folder; train it first: python -m trainers train clip --out={path}")
    clip = CLIPModel.from_pretrained(path, use_safetensors=True, dtype=torch.float32)
    weights = clip.state_dict()
    towers = []
    for cls, sub in ((CLIPVisionModelWithProjection, clip.config.vision_config),
                     (CLIPTextModelWithProjection, clip.config.text_config)):
        sub.projection_dim = clip.config.projection_dim  # the sub-configs keep transformers' default of 512
        tower = cls(sub)
        tower.load_state_dict({k: weights[k] for k in tower.state_dict()})
        towers.append(tower.requires_grad_(False).eval())
    image, text = towers
    text.pipeline_tokenizer = CLIPTokenizer.from_pretrained(path)
    return image, text


def save_folder(module: torch.nn.Module, folder: Path, fp16: bool) -> None:
    """`module.save_pretrained(folder)` (diffusers or transformers), its weights in fp16 when `fp16` (half the
    size; every loader here asks for float32, so they come back as fp32, rounded to fp16's 11 bits)."""
    import copy

    (copy.deepcopy(module).half() if fp16 else module).save_pretrained(folder, safe_serialization=True)


def save_clip_folders(modules: dict, folder: Path, fp16: bool = True) -> None:
    """The frozen towers as transformers folders image_encoder/, text_encoder/ and tokenizer/."""
    save_folder(modules["image_encoder"], folder / "image_encoder", fp16)
    save_folder(modules["text_encoder"], folder / "text_encoder", fp16)
    modules["text_encoder"].pipeline_tokenizer.save_pretrained(folder / "tokenizer")


def load_clip_folders(folder: Path) -> dict:
    """What `save_clip_folders` wrote, frozen as `clip_towers` gives them."""
    from transformers import CLIPTextModelWithProjection, CLIPTokenizer, CLIPVisionModelWithProjection

    image = CLIPVisionModelWithProjection.from_pretrained(folder / "image_encoder", use_safetensors=True,
                                                          dtype=torch.float32)
    text = CLIPTextModelWithProjection.from_pretrained(folder / "text_encoder", use_safetensors=True,
                                                       dtype=torch.float32)
    text.pipeline_tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    return {"image_encoder": image, "text_encoder": text}


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Whether two frozen networks are the same one (a prior and a decoder must share their CLIP), up to the
    fp16 rounding of a saved copy (`save_folder`): every weight equal once both are rounded to fp16."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(
        v.shape == sb[k].shape and torch.equal(v.half() if v.is_floating_point() else v,
                                               sb[k].half() if sb[k].is_floating_point() else sb[k])
        for k, v in sa.items())


@torch.no_grad()
def image_embeddings(image_encoder, x: torch.Tensor) -> torch.Tensor:
    """z_i = E_img(x) / ||E_img(x)||: images (N, 3, 32, 32) in [-1, 1] (the CLIP's training range) -> (N, D)."""
    return F.normalize(image_encoder(pixel_values=x).image_embeds, dim=-1)


@torch.no_grad()
def text_conditioning(text_encoder, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(z_t (N, D) normalised, token states (N, L, D), token mask (N, L) bool) of the captions.

    The token states are the text transformer's last hidden states (N, L, width) passed through the CLIP's own
    text projection, so they live in the joint space with z_t (`PriorTransformer` takes its text tokens at the
    embedding's width). Deviation: the paper's prior reads "the encoded text" (sec. 2.2) as the text encoder gives
    it; `PriorTransformer` needs the tokens at the embedding's width, which our CLIP's projection (128 -> 64) gives."""
    tok = text_encoder.pipeline_tokenizer
    enc = tokenized(tok, list(captions), padding="max_length", max_length=tok.model_max_length, truncation=True,
                    return_tensors="pt")
    device = next(text_encoder.parameters()).device
    ids, mask = enc.input_ids.to(device), enc.attention_mask.to(device)
    out = text_encoder(input_ids=ids, attention_mask=mask)
    return F.normalize(out.text_embeds, dim=-1), text_encoder.text_projection(out.last_hidden_state), mask.bool()


def text_diff(z_i: torch.Tensor, z_from: torch.Tensor, z_to: torch.Tensor, thetas: torch.Tensor) -> torch.Tensor:
    """DALL·E 2's text diffs (Ramesh et al. 2022, sec. 3.3): z_d = (z_to - z_from) / ||z_to - z_from||, the
    direction from a caption of what the image is to a caption of what it should become, and the image's z_i
    turned towards it, slerp(z_i, z_d, theta) (theta from 0 to 0.5 in the paper), normalised as CLIP's
    embeddings are. (D,), (D,), (D,), (T,) -> (T, D)."""
    from ..core.latent import slerp

    z_d = F.normalize(z_to - z_from, dim=-1)
    return F.normalize(slerp(z_i, z_d, thetas), dim=-1)


class FrozenEmbeddings:
    """The frozen CLIP's outputs for the training data, computed once per image (its dataset index) and once per
    caption, as the latent diffusion trainer keeps its frozen parts' (`latent_diffusion.train.FrozenOutputs`): a
    batch with anything new is encoded whole, so a resumed run gets the same numbers as an uninterrupted one."""

    def __init__(self):
        self.image: dict[int, torch.Tensor] = {}  # dataset index -> z_i (D,)
        self.text: dict[str, tuple[torch.Tensor, ...]] = {}  # caption -> (z_t, states, mask)

    def images(self, image_encoder, x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        index = index.tolist()
        if any(i not in self.image for i in index):
            z = image_embeddings(image_encoder, x)
            self.image.update((i, e) for i, e in zip(index, z) if i not in self.image)
        return torch.stack([self.image[i] for i in index])

    def texts(self, text_encoder, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if any(c not in self.text for c in captions):
            new = text_conditioning(text_encoder, captions)
            self.text.update((c, tuple(v[j] for v in new)) for j, c in enumerate(captions) if c not in self.text)
        rows = [self.text[c] for c in captions]
        return tuple(torch.stack([r[k] for r in rows]) for k in range(3))


_frozen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # frozen tower -> FrozenEmbeddings


def frozen_embeddings(tower) -> FrozenEmbeddings:
    """The cache of this run's frozen CLIP (one per tower, i.e. per run; gone with it)."""
    if tower not in _frozen:
        _frozen[tower] = FrozenEmbeddings()
    return _frozen[tower]
