"""Checkpoint folders: `model.safetensors` + `config.json` + `card.json` + `samples.png`.

    checkpoints/<name>/
        model.safetensors  weights of every module, keys "<module>.<param>" (fp16 where quality allows)
        config.json        {"family", "class", "config", "step", "code_version"}: rebuilds the model
        card.json          {"command", "data", "wall_time_s", "hardware", "metrics", ...}
        trainer.json       instead of config.json where the library's own config.json takes that name (a
                           transformers CLIP folder, a diffusers model folder); a diffusers pipeline folder
                           keeps ours as config.json beside its model_index.json
        samples.png        a grid drawn from fixed noise
        train_state.pt     resume state (fp32 weights, optimizers, RNG); loaded with weights_only=True

Every write goes to a temporary file in the same folder, is flushed to disk, then renamed over the
target, so a killed process leaves either the old file or the new one, never half of one. The
resume state is one self-contained file, so it is always consistent with itself. Pickled weights
are never loaded: weights come from safetensors, and the resume state through
`torch.load(weights_only=True)`, which refuses arbitrary objects.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as safetensors_bytes
from torch import nn

from .. import __version__
from .config import build_config, config_to_dict
from .errors import CheckpointError
from .family import PreparesInference, SavesPretrained

WEIGHTS, CONFIG, CARD, SAMPLES, STATE = "model.safetensors", "config.json", "card.json", "samples.png", "train_state.pt"
TRAINER = "trainer.json"


def atomic_write_bytes(path: str | Path, data: bytes, fsync: bool = True) -> None:
    """Write `data` to `path` so that readers see the old file or the whole new one (`fsync=False` for
    throw-away files such as the app's caches: atomic for readers, not durable across a power loss)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clean_partial_writes(ckpt_dir: str | Path) -> list[str]:
    """Remove what a killed write leaves behind: `.<file>.*.tmp` files and `.export-*` folders (the files they
    would have replaced are untouched, so the last complete checkpoint is what remains). Returns their names."""
    import shutil

    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    gone = []
    for p in list(ckpt_dir.glob(".*.tmp")) + list(ckpt_dir.glob(".export-*")):
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
        gone.append(p.name)
    return sorted(gone)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def read_json(path: Path) -> dict:
    try:
        with open(path) as f:
            out = json.load(f)
    except FileNotFoundError:
        raise CheckpointError(f"{path.name} missing in {path.parent}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(out, dict):
        raise CheckpointError(f"{path} must hold a JSON object")
    return out


def plain_module(m: nn.Module) -> nn.Module:
    """The module itself, not a `torch.compile` or DDP wrapper (no `_orig_mod.`/`module.` prefix)."""
    while True:
        if hasattr(m, "_orig_mod"):
            m = m._orig_mod
        elif isinstance(m, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            m = m.module
        else:
            return m


def flat_state_dict(modules: dict[str, nn.Module], dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    out = {}
    for name, m in modules.items():
        for k, v in plain_module(m).state_dict().items():
            v = v.detach().cpu()
            if dtype is not None and v.is_floating_point():
                v = v.to(dtype)
            out[f"{name}.{k}"] = v.contiguous().clone()
    return out


def save_model(
    out_dir: str | Path, family: str, cfg, modules: dict[str, nn.Module], step: int, *, fp16: bool = True
) -> None:
    """Write `model.safetensors` and `config.json` (each atomically), or, for a family that saves in its
    library's format (`save_pretrained`), that folder's files (each atomically) and `trainer.json`."""
    out_dir = Path(out_dir)
    meta = {"family": family, "class": f"{type(cfg).__module__}.{type(cfg).__qualname__}",
            "config": config_to_dict(cfg), "step": step, "code_version": __version__}
    fam = family_of(cfg)
    if isinstance(fam, SavesPretrained):
        plain = {k: plain_module(m) for k, m in modules.items()}
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as tmp:
            fam.save_pretrained(cfg, plain, Path(tmp), fp16=fp16)
            # our fields go in config.json unless the library's own config.json sits at the top (a transformers
            # or diffusers model folder); a pipeline folder's top holds only model_index.json
            meta_file = TRAINER if (Path(tmp) / CONFIG).exists() else CONFIG
            for f in sorted(Path(tmp).rglob("*")):
                if f.is_file():
                    target = out_dir / f.relative_to(tmp)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(f, target)  # same file system: each file is replaced whole
        atomic_write_json(out_dir / meta_file, meta)
        return
    tensors = flat_state_dict(modules, torch.float16 if fp16 else None)
    atomic_write_bytes(out_dir / WEIGHTS, safetensors_bytes(tensors, metadata={"format": "pt", "family": family,
                                                                              "step": str(step)}))
    atomic_write_json(out_dir / CONFIG, meta)


def read_meta(ckpt_dir: str | Path) -> dict:
    """The checkpoint's {"family", "config", "step", ...}: `trainer.json` when present, else `config.json`."""
    ckpt_dir = Path(ckpt_dir)
    return read_json(ckpt_dir / TRAINER if (ckpt_dir / TRAINER).is_file() else ckpt_dir / CONFIG)


def is_checkpoint(ckpt_dir: str | Path) -> bool:
    ckpt_dir = Path(ckpt_dir)
    return (ckpt_dir / TRAINER).is_file() or (ckpt_dir / CONFIG).is_file()


def weight_files(ckpt_dir: str | Path) -> list[Path]:
    """Every safetensors file of the checkpoint (one for our format; one per component in a pipeline)."""
    ckpt_dir = Path(ckpt_dir)
    if (ckpt_dir / WEIGHTS).is_file() and not (ckpt_dir / TRAINER).is_file():
        return [ckpt_dir / WEIGHTS]
    return sorted(p for p in ckpt_dir.rglob("*.safetensors") if "snapshots" not in p.parts)


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file; refuse anything else (pickles renamed .safetensors) and NaN/inf."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path.name} missing in {path.parent}")
    try:
        tensors = {}
        with safe_open(str(path), framework="pt", device="cpu") as f:
            for k in f.keys():
                tensors[k] = f.get_tensor(k)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(
            f"{path} is not a valid safetensors file ({str(e)[:120]}); pickled or truncated "
            "weights are refused"
        ) from None
    for k, v in tensors.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise CheckpointError(f"{path}: tensor {k!r} contains NaN or infinite values")
    return tensors


def load_state_into(modules: dict[str, nn.Module], tensors: dict[str, torch.Tensor], source: str) -> None:
    """Strictly load flat `<module>.<key>` tensors into `modules`, casting to each parameter's dtype."""
    expected = {f"{n}.{k}" for n, m in modules.items() for k in m.state_dict()}
    missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing or unexpected:
        raise CheckpointError(
            f"{source} does not match its config: missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
        )
    for name, m in modules.items():
        sd = m.state_dict()
        prefix = name + "."
        part = {}
        for k, ref in sd.items():
            v = tensors[prefix + k]
            if v.shape != ref.shape:
                raise CheckpointError(f"{source}: {prefix + k} has shape {tuple(v.shape)}, config expects {tuple(ref.shape)}")
            part[k] = v.to(ref.dtype)
        m.load_state_dict(part, strict=True)


@dataclasses.dataclass
class LoadedModel:
    path: Path
    family: str
    cfg: Any
    modules: dict[str, nn.Module]
    step: int
    card: dict

    @property
    def name(self) -> str:
        return self.path.name


def family_of(cfg) -> ModuleType:
    """The family module of a config: the one that defines its class (`trainers.gan.train` for a GAN's)."""
    return importlib.import_module(type(cfg).__module__)


def _family_module(meta: dict, source: Path) -> ModuleType:
    """The family module that `config.json` records as its config's class (`"class": "trainers.gan.train.Config"`):
    only a module of this package that defines that class, so a checkpoint cannot name any code to import."""
    recorded = str(meta.get("class", ""))
    module_name, _, class_name = recorded.rpartition(".")
    if not module_name.startswith("trainers.") or not class_name.isidentifier():
        raise CheckpointError(f"{source} records its config class as {recorded!r}, not a trainers.<family> class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise CheckpointError(f"{source}: no family module {module_name} ({e})") from None
    if getattr(module, "Config", None) is None or getattr(module, class_name, None) is not module.Config:
        raise CheckpointError(f"{source}: {module_name} is not a family module with the config class {class_name}")
    return module


def load_model(ckpt_dir: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild a checkpoint's modules from `config.json` alone and load its weights strictly."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        raise CheckpointError(f"checkpoint folder {ckpt_dir} does not exist")
    meta = read_meta(ckpt_dir)
    meta_name = TRAINER if (ckpt_dir / TRAINER).is_file() else CONFIG
    for key in ("family", "config", "step"):
        if key not in meta:
            raise CheckpointError(f"{ckpt_dir / meta_name} has no {key!r}")
    family = _family_module(meta, ckpt_dir / meta_name)
    try:
        cfg = build_config(family.Config, meta["config"])
    except Exception as e:
        raise CheckpointError(f"{ckpt_dir / meta_name}: {e}") from None
    if isinstance(family, SavesPretrained):
        modules = load_pretrained(family, cfg, ckpt_dir)
    else:
        modules = family.build(cfg)
        load_state_into(modules, load_weights(ckpt_dir / WEIGHTS), str(ckpt_dir / WEIGHTS))
    for m in modules.values():
        m.to(device).eval().requires_grad_(False)
    if isinstance(family, PreparesInference):
        family.for_inference(cfg, modules)
    card = read_json(ckpt_dir / CARD) if (ckpt_dir / CARD).exists() else {}
    return LoadedModel(ckpt_dir, meta["family"], cfg, modules, int(meta["step"]), card)


def load_pretrained(family, cfg, ckpt_dir: Path) -> dict[str, nn.Module]:
    """A library-format folder through the family's `load_pretrained`: safetensors only (every file is
    checked first, so a pickle renamed .safetensors is refused before the library sees it), no NaN."""
    files = weight_files(ckpt_dir)
    if not files:
        raise CheckpointError(f"{ckpt_dir} holds no .safetensors weights")
    for f in files:
        load_weights(f)
    try:
        modules = family.load_pretrained(cfg, ckpt_dir)
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        raise CheckpointError(f"cannot load {ckpt_dir}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
    return modules


def read_card(ckpt_dir: str | Path) -> dict:
    p = Path(ckpt_dir) / CARD
    return read_json(p) if p.exists() else {}


def update_card(ckpt_dir: str | Path, **fields) -> dict:
    card = read_card(ckpt_dir)
    card.update(fields)
    atomic_write_json(Path(ckpt_dir) / CARD, card)
    return card


def save_train_state(ckpt_dir: str | Path, state: dict) -> None:
    import io

    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(Path(ckpt_dir) / STATE, buf.getvalue())


def load_train_state(ckpt_dir: str | Path) -> dict:
    path = Path(ckpt_dir) / STATE
    if not path.is_file():
        raise CheckpointError(f"cannot resume: {path} does not exist (start without --resume)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError for forbidden globals, RuntimeError/EOFError when truncated
        raise CheckpointError(
            f"cannot resume from {path}: refused or unreadable ({type(e).__name__}: {str(e).splitlines()[0][:160]})"
        ) from None
