"""Every registered family follows the protocol of `trainers/core/family.py`: the required hooks, and each
optional hook it has with the protocol's parameters (names in order; extra keyword options allowed)."""

from __future__ import annotations

import inspect

import pytest

from trainers.core import family as F
from trainers.families import FAMILIES, get_family


def _params(fn) -> list[str]:
    return [p.name for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"]


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_each_family_follows_the_protocol(name):
    fam = get_family(name)
    assert isinstance(fam, F.Family), f"{name} lacks a required hook of core.family.Family"
    hooks = [h for h in F.HOOKS if isinstance(fam, h)]
    for proto in (F.Family, *hooks):
        for member in (m for m in vars(proto) if callable(vars(proto)[m]) and not m.startswith("_")):
            want, got = _params(vars(proto)[member]), _params(getattr(fam, member))
            assert got[:len(want)] == want, \
                f"{name}.{member}{tuple(got)} does not take the protocol's {tuple(want)}"
    has_save = hasattr(fam, "save_pretrained")
    assert has_save == hasattr(fam, "load_pretrained"), f"{name}: save_pretrained and load_pretrained go together"


def test_a_module_without_a_hook_is_not_taken_for_one():
    import types

    bare = types.ModuleType("bare")
    bare.Config, bare.build, bare.optimizers, bare.train_step = object, len, len, len
    assert isinstance(bare, F.Family) and not isinstance(bare, F.Samples)
    del bare.train_step
    assert not isinstance(bare, F.Family)
