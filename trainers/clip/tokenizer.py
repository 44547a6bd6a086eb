"""CLIP's byte-level BPE tokenizer, with merges learned from this project's captions.

Real CLIP learned 49 152 merges from the web; ours learns the merges of the caption templates
(`core/captions.py`) with the same algorithm (Sennrich et al. 2016, as GPT-2 and CLIP apply it to bytes):
words are split as CLIP splits them, written in CLIP's byte alphabet with "</w>" on each word's last
symbol, and the most frequent adjacent pair is merged, again and again, until no pair occurs twice.
Ties go to the pair that sorts first, so every machine learns the same tokenizer. The vocabulary is laid
out as CLIP's: the 256 bytes, the 256 word-final bytes (so no input is ever unknown), the merges, then
<|startoftext|> and <|endoftext|>. The files are CLIP's own `vocab.json` and `merges.txt`, loaded by
`transformers.CLIPTokenizer` as any CLIP tokenizer is.
"""

from __future__ import annotations

import collections
import functools
import json
import re
import tempfile
import threading
from pathlib import Path

CONTEXT = 16  # tokens per prompt, <|startoftext|> and <|endoftext|> included
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
_WORDS = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+")  # CLIP's split, for our ASCII corpus


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP's map from the 256 bytes to printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, n = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, map(chr, chars)))


def _corpus() -> list[str]:
    from ..core.captions import CLASS_WORDS, COLOURS, SIZES, TEMPLATES, caption

    return [caption(k, c, s, t) for k, c, s in ((k, c, s) for k in range(len(CLASS_WORDS))
            for c in range(len(COLOURS)) for s in range(len(SIZES))) for t, _ in TEMPLATES]


def learn_merges(texts: list[str], max_merges: int = 2000) -> list[tuple[str, str]]:
    """Byte-pair merges of `texts`, most frequent pair first, ties broken by the pair's sort order."""
    b2u = bytes_to_unicode()
    words = collections.Counter()
    for text in texts:
        for w in _WORDS.findall(text.lower()):
            symbols = [b2u[b] for b in w.encode()]
            symbols[-1] += "</w>"
            words[tuple(symbols)] += 1
    merges = []
    while len(merges) < max_merges:
        pairs = collections.Counter()
        for w, n in words.items():
            for pair in zip(w, w[1:]):
                pairs[pair] += n
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        merged = {}
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + n
        words = collections.Counter(merged)
    return merges


def write_tokenizer_files(folder: str | Path, context: int = CONTEXT) -> Path:
    """Learn the merges and write vocab.json, merges.txt and tokenizer_config.json into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    merges = learn_merges(_corpus())
    alphabet = list(bytes_to_unicode().values())
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges] + [BOS, EOS]
    vocab = {}
    for tok in tokens:  # a merge can rebuild a token already present (e.g. "a" + "</w>" pieces): keep the first
        vocab.setdefault(tok, len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "CLIPTokenizer", "model_max_length": context, "bos_token": BOS, "eos_token": EOS,
         "pad_token": EOS, "unk_token": EOS}))
    return folder


@functools.lru_cache(maxsize=2)
def build_tokenizer(context: int = CONTEXT):
    """The project's `CLIPTokenizer` (the same vocabulary on every machine)."""
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        return CLIPTokenizer.from_pretrained(write_tokenizer_files(tmp, context))


# A transformers 5 tokenizer keeps its padding and truncation as state of its `tokenizers` backend, set on every
# call: a plain call (counting a prompt's tokens) in one request's thread, between another request's padded call
# setting them and encoding, left that one's "" unpadded (2 tokens against 16) and its U-Net batch failed (25
# concurrent text-to-image clients; 8 threads calling one tokenizer got 2712 unpadded results in 8 s). Every call of
# a tokenizer the app shares goes through this lock.
LOCK = threading.RLock()


def tokenized(tokenizer, *args, **kwargs):
    """`tokenizer(*args, **kwargs)` with no other call of a shared tokenizer in between (`LOCK`)."""
    with LOCK:
        return tokenizer(*args, **kwargs)
