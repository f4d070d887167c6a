"""`semtool dataset …` end to end: the real Fashion-MNIST, a CIFAR-100-format archive, a folder."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from semtool.data.fashion_mnist import CLASSES, DEBIAN_ROOT
from semtool.data.imageset import read_imageset
from tests.conftest import assert_user_error
from tests.data.archives import FINE, write_cifar100

needs_fashion = pytest.mark.skipif(
    not (DEBIAN_ROOT / "train-images-idx3-ubyte.gz").exists(),
    reason=f"Fashion-MNIST not in {DEBIAN_ROOT} (apt-get install dataset-fashion-mnist)")


def _plain_idx_images(path):
    """Independent reference decoder: 16-byte header, then 28×28 uint8 images."""
    raw = gzip.open(path).read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)


@needs_fashion
@pytest.mark.parametrize("split,n,per_class,stem", [("train", 60000, 6000, "train"), ("test", 10000, 1000, "t10k")])
def test_fashion_mnist_imageset_has_every_image(tmp_path, cli, split, n, per_class, stem):
    out = tmp_path / f"{split}.h5"
    proc = cli("dataset", "fashion-mnist", "--split", split, "-o", out)
    assert proc.returncode == 0, proc.stderr
    data = read_imageset(out)
    assert data.images.shape == (n, 28, 28, 1) and data.images.dtype == np.uint8
    assert list(data.counts()) == [per_class] * 10
    assert data.classes == CLASSES and data.synsets[0] == "jersey.n.03" and data.split == split
    ref = _plain_idx_images(DEBIAN_ROOT / f"{stem}-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(data.images[::997, ..., 0], ref[::997])


@needs_fashion
def test_fashion_mnist_limit_per_class_and_mapping(tmp_path, cli):
    mapping = tmp_path / "m.tsv"
    mapping.write_text("Bag\tbag.n.01\n")
    out = tmp_path / "small.h5"
    proc = cli("dataset", "fashion-mnist", "--split", "test", "--limit-per-class", "7", "--seed", "3",
               "--synsets", mapping, "-o", out)
    assert proc.returncode == 0, proc.stderr
    data = read_imageset(out)
    assert list(data.counts()) == [7] * 10
    assert data.synsets[8] == "bag.n.01" and data.synsets[9] == "boot.n.01"
    again = tmp_path / "again.h5"
    assert cli("dataset", "fashion-mnist", "--split", "test", "--limit-per-class", "7", "--seed", "3",
               "-o", again).returncode == 0
    np.testing.assert_array_equal(read_imageset(again).images, data.images)


def test_cifar100_cli_keeps_fine_and_coarse(tmp_path, cli):
    write_cifar100(tmp_path / "c", {"bee": 4, "bus": 6})
    out = tmp_path / "c.h5"
    proc = cli("dataset", "cifar100", tmp_path / "c", "-o", out, "--limit-per-class", "5")
    assert proc.returncode == 0, proc.stderr
    data = read_imageset(out)
    assert data.classes == FINE and len(data.coarse_classes) == 20
    assert data.counts()[FINE.index("bee")] == 4 and data.counts()[FINE.index("bus")] == 5
    assert data.coarse_classes[data.coarse_labels[data.labels == FINE.index("bus")][0]] == "vehicles_1"


def test_folder_cli(tmp_path, cli):
    from PIL import Image

    for cls in ("cat", "dog"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (10, 12), (i, 2, 3)).save(tmp_path / "imgs" / cls / f"{i}.png")
    out = tmp_path / "f.h5"
    proc = cli("dataset", "folder", tmp_path / "imgs", "--size", "6x5", "--synsets", "cifar10", "-o", out)
    assert proc.returncode == 0, proc.stderr
    data = read_imageset(out)
    assert data.images.shape == (6, 6, 5, 3) and data.synsets == ["cat.n.01", "dog.n.01"]


@pytest.mark.parametrize("source", ["fashion-mnist", "cifar100"])
def test_unknown_split_is_named_in_plain_words(tmp_path, cli, source):
    args = ["dataset", source] + ([str(tmp_path)] if source == "cifar100" else []) + ["--split", "val",
                                                                                     "-o", tmp_path / "x.h5"]
    proc = cli(*args)
    assert_user_error(proc, "--split val: choose train or test")
    assert "Value error" not in proc.stderr.decode() and not (tmp_path / "x.h5").exists()
