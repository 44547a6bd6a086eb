"""The exponential moving average of a network's weights, which the samplers use instead of the raw weights.

    theta_ema <- decay * theta_ema + (1 - decay) * theta        (Polyak averaging; Karras et al. 2018, sec. C.1)
"""

from __future__ import annotations

import copy

import torch


def warmed_decay(decay: float, step: float) -> float:
    """decay_k = min(decay, (1 + k) / (10 + k)) at optimiser step k: a short run's average does not stay near the
    initial network (the warm-up of tf.train.ExponentialMovingAverage's num_updates)."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """theta_ema <- decay theta_ema + (1 - decay) theta for every parameter; buffers (BatchNorm statistics, a
    mapping network's w_avg) are copied, since they are statistics, not weights."""
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)


def add_twin(modules: dict, name: str) -> None:
    """modules[name + "_ema"]: a frozen copy of modules[name], the average `update_ema` keeps (a run from a
    checkpoint without one starts it from its trained twin: `core.loop.init_weights`)."""
    twin = copy.deepcopy(modules[name])
    twin.requires_grad_(False)
    modules[name + "_ema"] = twin
