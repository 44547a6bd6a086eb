"""`python -m trainers evaluate`: a family's own `evaluate`, else the generative metrics."""

from __future__ import annotations

import time

import torch

from .core.checkpoint import LoadedModel
from .core.data import load_dataset
from .core.errors import UserError
from .core.family import Evaluates, RecordsSampling, Samples
from .families import get_family


def evaluate(loaded: LoadedModel, n: int = 10000, seed: int = 0, **sampling) -> dict:
    """Metrics of a checkpoint; `sampling` options go to a generative family's `sample` and are recorded."""
    fam = get_family(loaded.family)
    if isinstance(fam, Evaluates):
        return fam.evaluate(loaded, n=n, seed=seed, **sampling)
    return generative_evaluate(loaded, n, seed, **sampling)


def generative_evaluate(loaded: LoadedModel, n: int = 10000, seed: int = 0, **sampling) -> dict:
    """FID/KID, class entropy (and accuracy for a conditional model) of `n` samples against the test set, with the
    seconds per sample: the metrics of every generator, which a family's own `evaluate` may extend."""
    fam = get_family(loaded.family)
    if not isinstance(fam, Samples):
        raise UserError(f"no evaluation is defined for the {loaded.family!r} family")
    from .core import metrics

    cfg = loaded.cfg
    real = load_dataset(cfg.dataset, data_dir=cfg.data_dir, split="test", image_size=cfg.image_size,
                        channels=cfg.channels)
    if not hasattr(real, "images"):
        raise UserError("evaluate needs an in-memory test set (fashion-mnist, mnist or cifar10)")
    t0 = time.perf_counter()
    out = fam.sample(cfg, loaded.modules, n, torch.Generator().manual_seed(seed), **sampling)
    seconds = time.perf_counter() - t0
    result = metrics.generative_metrics(out["images"], real.images, out.get("labels"))
    if out.get("labels") is not None:  # the same judge on real test images, preprocessed alike: the bar to meet
        probs = metrics.class_probs(real.images, metrics.load_classifier())
        result["real_class_accuracy"] = round(float((probs.argmax(1) == real.labels).float().mean()), 4)
    result["sample_seconds_per_image"] = round(seconds / n, 6)
    result["eval_seed"] = seed
    if isinstance(fam, RecordsSampling):
        result.update(fam.sampling_settings(cfg))
    result.update(sampling)
    return result
