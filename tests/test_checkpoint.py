import json
import os
import re
import pickle

import pytest
import torch
from safetensors.torch import save_file

from trainers.core import checkpoint as ck
from trainers.core.errors import CheckpointError
from trainers.gan.train import Config, build


def _tiny():
    cfg = Config(ngf=8, ndf=8, z_dim=16, channels_last=False)
    torch.manual_seed(0)
    return cfg, build(cfg)


def test_round_trip_gives_identical_outputs(tmp_path):
    cfg, modules = _tiny()
    ck.save_model(tmp_path, "gan", cfg, modules, step=7, fp16=False)
    loaded = ck.load_model(tmp_path)
    assert loaded.family == "gan" and loaded.cfg == cfg and loaded.step == 7
    z = torch.randn(5, 16, generator=torch.Generator().manual_seed(1))
    for name in ("G", "G_ema"):
        modules[name].eval()
        assert torch.equal(modules[name](z), loaded.modules[name](z))
    cfg_json = ck.read_json(tmp_path / ck.CONFIG)
    assert cfg_json["class"] == "trainers.gan.train.Config" and cfg_json["code_version"]


def test_fp16_weights_are_half_and_close(tmp_path):
    cfg, modules = _tiny()
    ck.save_model(tmp_path, "gan", cfg, modules, step=1, fp16=True)
    raw = ck.load_weights(tmp_path / ck.WEIGHTS)
    assert raw["G.net.0.weight"].dtype == torch.float16
    assert raw["G.net.1.num_batches_tracked"].dtype == torch.int64
    loaded = ck.load_model(tmp_path)
    z = torch.randn(4, 16)
    modules["G"].eval()
    assert torch.allclose(modules["G"](z), loaded.modules["G"](z), atol=5e-3)


def test_compiled_wrapper_is_saved_as_plain_module(tmp_path):
    cfg, modules = _tiny()
    modules["G"] = torch.compile(modules["G"])  # wrapper with _orig_mod.; not run, so no compile cost
    ck.save_model(tmp_path, "gan", cfg, modules, step=0, fp16=False)
    assert not any("_orig_mod" in k for k in ck.load_weights(tmp_path / ck.WEIGHTS))
    ck.load_model(tmp_path)


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "card.json"
    ck.atomic_write_json(target, {"v": 1})

    def boom(*a, **k):
        raise KeyboardInterrupt  # a kill between writing and renaming

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        ck.atomic_write_json(target, {"v": 2})
    monkeypatch.undo()
    assert ck.read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]  # no temporary file left behind


def test_strict_loading_rejects_mismatched_config(tmp_path):
    cfg, modules = _tiny()
    ck.save_model(tmp_path, "gan", cfg, modules, step=0)
    meta = ck.read_json(tmp_path / ck.CONFIG)
    meta["config"]["ngf"] = 16
    ck.atomic_write_json(tmp_path / ck.CONFIG, meta)
    with pytest.raises(CheckpointError, match="shape"):
        ck.load_model(tmp_path)
    meta["config"]["ngf"] = 8
    meta["config"]["bogus"] = 1
    ck.atomic_write_json(tmp_path / ck.CONFIG, meta)
    with pytest.raises(CheckpointError, match="bogus"):
        ck.load_model(tmp_path)


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_renamed_safetensors_is_refused_and_never_runs(tmp_path):
    cfg, modules = _tiny()
    ck.save_model(tmp_path, "gan", cfg, modules, step=0)
    marker = tmp_path / "pwned"
    with open(tmp_path / ck.WEIGHTS, "wb") as f:
        pickle.dump({"x": _Exploit(str(marker))}, f)
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        ck.load_model(tmp_path)
    torch.save({"x": _Exploit(str(marker))}, tmp_path / ck.STATE)
    with pytest.raises(CheckpointError, match="refused"):
        ck.load_train_state(tmp_path)
    assert not marker.exists()


def test_truncated_and_nan_weights_are_refused(tmp_path):
    cfg, modules = _tiny()
    ck.save_model(tmp_path, "gan", cfg, modules, step=0)
    data = (tmp_path / ck.WEIGHTS).read_bytes()
    (tmp_path / ck.WEIGHTS).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        ck.load_model(tmp_path)
    save_file({"w": torch.tensor([1.0, float("nan")])}, str(tmp_path / "nan.safetensors"))
    with pytest.raises(CheckpointError, match="NaN"):
        ck.load_weights(tmp_path / "nan.safetensors")


@pytest.mark.parametrize("recorded, says", [
    ("os.path.Config", "not a trainers.<family> class"),  # code outside the package is never imported
    ("trainers.core.loop.LoopConfig", "not a family module"),  # a module of ours, but no family
    ("trainers.nosuch.train.Config", "no family module"),
])
def test_a_checkpoint_names_its_family_by_its_config_class_and_only_a_family(tmp_path, tiny_gan, recorded, says):
    """The loader imports the family module that config.json records as its config's class (core keeps no
    registry of families), and only a trainers.* module that defines that class."""
    import shutil

    assert ck.load_model(tiny_gan).family == "gan"
    bad = tmp_path / "bad"
    shutil.copytree(tiny_gan, bad)
    meta = json.loads((bad / "config.json").read_text())
    meta["class"] = recorded
    (bad / "config.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=re.escape(says)):
        ck.load_model(bad)
