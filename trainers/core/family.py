"""The family protocol: what a family module (`trainers/<family>/train.py`) provides to the loop, the
checkpoint I/O and the CLI. Core code is written against these protocols, never against a family by name.

`Family` is required. Each optional hook is a protocol of its own, so that a caller asks
`isinstance(fam, Samples)` (which checks the module has the function) rather than probing for a name.
The signatures are the contract: `tests/test_family.py` checks every registered family against them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

Modules = dict[str, nn.Module]


@runtime_checkable
class Family(Protocol):
    """Config: a frozen dataclass with `dataset`, `data_dir`, `image_size` and `channels`."""
    Config: type

    def build(self, cfg) -> Modules:
        """Every module saved in model.safetensors, by name."""

    def optimizers(self, cfg, modules: Modules) -> dict[str, torch.optim.Optimizer]:
        """One optimiser per trained module (others, e.g. an EMA copy, are not trained)."""

    def train_step(self, cfg, modules: Modules, opts: dict, batch: dict, gen: torch.Generator,
                   accelerator) -> dict[str, torch.Tensor]:
        """One optimisation step on a batch: {loss name: scalar tensor}, for the log."""


@runtime_checkable
class Previews(Protocol):
    def preview(self, cfg, modules: Modules, gen: torch.Generator) -> torch.Tensor:
        """uint8 (N, C, H, W) images for the snapshot grid, from fixed noise."""


@runtime_checkable
class Monitors(Protocol):
    def monitor(self, cfg, modules: Modules, gen: torch.Generator, n: int) -> dict[str, float]:
        """Cheap quality signals at each snapshot (class entropy, FID of a few hundred samples)."""


@runtime_checkable
class Samples(Protocol):
    def sample(self, cfg, modules: Modules, n: int, gen: torch.Generator, **options) -> dict:
        """{"images": uint8 (N, C, H, W), and optionally "labels", "prompts"}. Options are keyword arguments
        with defaults (the CLI passes `--label`, `--prompt`, `--steps`... by name)."""


@runtime_checkable
class Translates(Protocol):
    def translate(self, cfg, modules: Modules, images: torch.Tensor, direction: str, **options) -> torch.Tensor:
        """uint8 (N, C, H, W) -> uint8 (N, C', H', W'), `direction` AtoB or BtoA. H' = H but for a super-resolution
        model, whose config's `input_size` is smaller than its `image_size`."""


@runtime_checkable
class Evaluates(Protocol):
    def evaluate(self, loaded, **options) -> dict[str, Any]:
        """The family's own metrics of a loaded checkpoint (otherwise: the generative metrics of `sample`)."""


@runtime_checkable
class RecordsSampling(Protocol):
    def sampling_settings(self, cfg) -> dict[str, Any]:
        """Settings recorded beside the generic evaluation's metrics (e.g. the sampler and its steps)."""


@runtime_checkable
class HasDataset(Protocol):
    def dataset(self, cfg, split: str):
        """The training data, when it is not `core.data.load_dataset`'s (paired or captioned images)."""


@runtime_checkable
class SavesPretrained(Protocol):
    """A checkpoint in its library's format (a transformers or diffusers folder)."""

    def save_pretrained(self, cfg, modules: Modules, folder: Path, fp16: bool) -> None: ...

    def load_pretrained(self, cfg, folder: Path) -> Modules: ...


@runtime_checkable
class PreparesInference(Protocol):
    def for_inference(self, cfg, modules: Modules) -> None:
        """What loading does to the modules so that they sample fast (the same outputs)."""


@runtime_checkable
class ChecksResume(Protocol):
    def check_resume(self, cfg, out: Path) -> None:
        """Raise a UserError when `--resume` would rebuild the run's modules differently."""


@runtime_checkable
class InitsFrom(Protocol):
    def init_from(self, cfg, modules: Modules, parent) -> dict[str, str]:
        """`--init_from` a checkpoint of ANOTHER family (a loaded `LoadedModel`): copy the weights that fit into the
        freshly built modules, raise a UserError when they do not, and return {module name: where its weights
        came from} for the card. Without this hook `--init_from` takes only the family's own checkpoints."""


HOOKS = (Previews, Monitors, Samples, Translates, Evaluates, RecordsSampling, HasDataset, SavesPretrained,
         PreparesInference, ChecksResume, InitsFrom)
