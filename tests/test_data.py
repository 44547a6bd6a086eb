import gzip
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from trainers.core import data
from trainers.core.errors import DataNotFound, UserError

from conftest import make_tiny_fashion


def test_fashion_mnist_from_data_dir_gz_and_plain(tmp_path):
    for gz in (True, False):
        d = make_tiny_fashion(tmp_path / f"gz{gz}", n_train=30, n_test=20, gz=gz)
        ds = data.load_dataset("fashion-mnist", data_dir=str(d), split="train", image_size=32, download=False)
        assert len(ds) == 30 and ds.images.shape == (30, 1, 32, 32) and ds.images.dtype == torch.uint8
        item = ds[3]
        assert item["image"].shape == (1, 32, 32) and item["label"] == 3
        assert -1.0 <= item["image"].min() and item["image"].max() <= 1.0
        assert data.load_dataset("fashion-mnist", data_dir=str(d), split="test", download=False).labels.tolist()[:3] == [0, 1, 2]
        shutil.rmtree(data.CACHE_DIR)


def test_a_folder_staged_before_is_not_read_for_another(tmp_path):
    """One cache for every source: the toy bars a test staged from its own folder were read, from then on, as the
    machine's Fashion-MNIST (the live lab learned bars). Each source folder, and each change to its files, is
    staged apart."""
    first = make_tiny_fashion(tmp_path / "a", n_train=30, n_test=20)
    second = make_tiny_fashion(tmp_path / "b", n_train=12, n_test=10)
    assert len(data.load_dataset("fashion-mnist", data_dir=str(first), download=False)) == 30
    assert len(data.load_dataset("fashion-mnist", data_dir=str(second), download=False)) == 12
    make_tiny_fashion(first, n_train=18, n_test=20)  # the same folder, its files rewritten
    assert len(data.load_dataset("fashion-mnist", data_dir=str(first), download=False)) == 18


def test_pixels_survive_loading_at_native_size(tmp_path):
    d = make_tiny_fashion(tmp_path, n_train=10, n_test=10)
    with gzip.open(d / "train-images-idx3-ubyte.gz") as f:
        raw = np.frombuffer(f.read()[16:], np.uint8).reshape(10, 28, 28)
    ds = data.load_dataset("fashion-mnist", data_dir=str(d), image_size=28, download=False)
    assert np.array_equal(ds.images[:, 0].numpy(), raw)


def test_debian_location_is_the_fallback(tmp_path, monkeypatch):
    debian = make_tiny_fashion(tmp_path / "debian", n_train=12, n_test=10)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", debian)
    ds = data.load_dataset("fashion-mnist", data_dir=None, download=False)
    assert len(ds) == 12 and ds.source == str(debian)


def test_nothing_available_names_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")

    def offline(*a, **k):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: network unreachable")

    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.FashionMNIST, "download", offline)
    with pytest.raises(DataNotFound) as e:
        data.load_dataset("fashion-mnist", data_dir=str(tmp_path / "empty"))
    msg = str(e.value)
    assert str(tmp_path / "empty") in msg and str(tmp_path / "no-debian") in msg
    assert "network unreachable" in msg and "apt-get install dataset-fashion-mnist" in msg


def test_cli_reports_missing_data_without_traceback(tmp_path):
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "PLAYGROUND_DATA_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-m", "trainers", "train", "gan", "--dataset=folder",
                        f"--data-dir={tmp_path / 'nope'}", f"--out={tmp_path / 'o'}"],
                       capture_output=True, text=True, cwd=data.__file__.rsplit("/trainers/", 1)[0], env=env)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "is not a folder" in r.stderr


def _save(path, color, size=(20, 12), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def test_image_folder_with_classes_and_flat(tmp_path):
    _save(tmp_path / "cls" / "cats" / "a.png", (255, 255, 255))
    _save(tmp_path / "cls" / "dogs" / "b.jpg", (0, 0, 0))
    ds = data.load_dataset("folder", data_dir=str(tmp_path / "cls"), image_size=16, channels=3)
    assert ds.classes == ("cats", "dogs") and len(ds) == 2
    assert ds[0]["image"].shape == (3, 16, 16) and torch.allclose(ds[0]["image"], torch.ones(3, 16, 16))
    assert ds[1]["label"] == 1 and torch.allclose(ds[1]["image"], -torch.ones(3, 16, 16))
    _save(tmp_path / "flat" / "x.png", (10, 10, 10))
    flat = data.load_dataset("folder", data_dir=str(tmp_path / "flat"), image_size=8, channels=1)
    assert len(flat) == 1 and flat[0]["image"].shape == (1, 8, 8)
    with pytest.raises(DataNotFound):
        data.load_dataset("folder", data_dir=str(tmp_path / "empty-dir-missing"))


def test_aligned_a_b_layout(tmp_path):
    img = Image.new("RGB", (64, 32), (0, 0, 0))
    img.paste((255, 255, 255), (32, 0, 64, 32))  # A black | B white
    (tmp_path / "facades" / "train").mkdir(parents=True)
    img.save(tmp_path / "facades" / "train" / "1.jpg", quality=100)
    ds = data.load_dataset("aligned", data_dir=str(tmp_path / "facades"), image_size=16, channels=3)
    item = ds[0]
    assert item["A"].shape == item["B"].shape == (3, 16, 16)
    assert item["A"].mean() < -0.9 and item["B"].mean() > 0.9


def test_unaligned_trainA_trainB_layout(tmp_path):
    for i in range(3):
        _save(tmp_path / "h2z" / "trainA" / f"{i}.png", (255, 0, 0))
    for i in range(2):
        _save(tmp_path / "h2z" / "trainB" / f"{i}.png", (0, 0, 255))
    ds = data.load_dataset("unaligned", data_dir=str(tmp_path / "h2z"), image_size=8, channels=3)
    assert len(ds) == 3
    item = ds[2]
    assert item["A"][0].mean() > 0.9 and item["B"][2].mean() > 0.9
    with pytest.raises(DataNotFound):
        data.load_dataset("unaligned", data_dir=str(tmp_path / "h2z"), split="test")


def test_unknown_dataset_is_a_clear_error():
    with pytest.raises(UserError, match="choose one of"):
        data.load_dataset("imagenet")


def test_mnist_in_torchvision_layout(tmp_path):
    from conftest import toy_images, write_idx

    raw = tmp_path / "mnist" / "MNIST" / "raw"
    write_idx(raw, "train", *toy_images(20, 0), gz=False)
    write_idx(raw, "t10k", *toy_images(10, 1), gz=False)
    ds = data.load_dataset("mnist", data_dir=str(tmp_path / "mnist"), split="test", image_size=32, channels=3,
                           download=False)
    assert len(ds) == 10 and ds.images.shape == (10, 3, 32, 32) and ds.classes[0].startswith("0")
