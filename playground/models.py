"""The one cached model loader the tabs share.

Checkpoint names come from the client, so a name is accepted only if it is one of the folders
listed under the checkpoints root (no paths, no `..`). Loaded models are cached by name and the
modification time of their weights, so a re-trained checkpoint is picked up without a restart.
"""

from __future__ import annotations

import math
import re
import threading
from pathlib import Path

from trainers.core.checkpoint import LoadedModel, is_checkpoint, load_model, read_meta, weight_files
from trainers.core.errors import CheckpointError, UserError
from trainers.latent_diffusion.sampling import LIBRARY_FAMILIES, resolve_lazy_imports

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "checkpoints"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class ModelStore:
    def __init__(self, root: str | Path = DEFAULT_ROOT, device: str = "cpu", read_only: bool = False):
        # read_only: a public deployment (a Space, --share, --public), where nothing writes into the folder
        self.root, self.device, self.read_only = Path(root).resolve(), device, read_only
        self._cache: dict[str, tuple[float, LoadedModel]] = {}
        self._lock = threading.Lock()  # guards the two dicts only, never held during a load
        self._loading: dict[str, threading.Lock] = {}  # one per checkpoint: a cold load waits for nobody else

    def names(self, family: str | None = None) -> list[str]:
        """Checkpoint folders (config.json or trainer.json), optionally of one family, sorted."""
        if not self.root.is_dir():
            return []
        out = []
        for d in sorted(self.root.iterdir()):
            if d.name.startswith(".") or not is_checkpoint(d):
                continue
            if family is not None:
                try:
                    if read_meta(d).get("family") != family:
                        continue
                except CheckpointError:
                    continue
            out.append(d.name)
        return out

    def path(self, name: str) -> Path:
        if not isinstance(name, str) or not _NAME.match(name) or name not in self.names():
            raise UserError(f"unknown checkpoint {str(name)[:80]!r}; available: {', '.join(self.names()) or '(none)'}")
        return self.root / name

    def version(self, name: str) -> float:
        """The weights' modification time: a cache key that changes when a checkpoint is re-trained."""
        return max((f.stat().st_mtime for f in weight_files(self.path(name))), default=0.0)

    def get(self, name: str, family: str | None = None) -> LoadedModel:
        path, mtime = self.path(name), self.version(name)
        with self._lock:
            hit = self._cache.get(name)
            loading = self._loading.setdefault(name, threading.Lock())
        if hit is None or hit[0] != mtime:
            with loading:  # one load per checkpoint at a time; other checkpoints' cache hits do not wait
                with self._lock:
                    hit = self._cache.get(name)
                if hit is None or hit[0] != mtime:
                    if read_meta(path).get("family") in LIBRARY_FAMILIES:  # their first import is not thread-safe
                        resolve_lazy_imports()
                    hit = (mtime, load_model(path, self.device))
                    with self._lock:
                        self._cache[name] = hit
        model = hit[1]
        if family is not None and model.family != family:
            raise UserError(f"{name} is a {model.family!r} model, this needs a {family!r} model")
        return model


def n_parameters(path) -> str:
    """Parameter count of a checkpoint folder from its safetensors headers alone (no tensor is read)."""
    from safetensors import safe_open

    try:
        n = 0
        for weights in weight_files(path):
            with safe_open(str(weights), framework="pt") as f:
                n += sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys()
                         if not k.endswith("num_batches_tracked"))
    except Exception:
        return "?"
    return f"{n / 1e6:.2f} M"
