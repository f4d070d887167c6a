"""Data sources read the real on-disk formats: IDX (Fashion-MNIST), CIFAR-100 pickles, image folders."""

from __future__ import annotations

import gzip
import os
import pickle

import numpy as np
import pytest

from semtool.data import cifar, fashion_mnist, folder
from semtool.data.imageset import ImageSet, limit_per_class, read_imageset, write_imageset
from semtool.errors import UserError
from tests.data.archives import COARSE_NAMES, COARSE_OF, FINE, idx_bytes, write_cifar100, write_fashion


def test_fashion_mnist_idx_roundtrip(tmp_path):
    images, labels = write_fashion(tmp_path, 30, split="test")
    data = fashion_mnist.load("test", tmp_path)
    assert data.images.shape == (30, 28, 28, 1) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.images[..., 0], images)
    np.testing.assert_array_equal(data.labels, labels)
    assert data.classes == fashion_mnist.CLASSES and data.synsets[9] == "boot.n.01"
    assert (data.source, data.split) == ("fashion-mnist", "test")


def test_idx_reader_accepts_plain_files_and_checks_header(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(arr))
    np.testing.assert_array_equal(fashion_mnist.read_idx(tmp_path / "a", 3), arr)
    (tmp_path / "b").write_bytes(idx_bytes(arr, 0x0801))
    with pytest.raises(UserError, match="wrong IDX magic number 0x00000801, expected 0x00000803"):
        fashion_mnist.read_idx(tmp_path / "b", 3)
    (tmp_path / "c").write_bytes(idx_bytes(arr) + b"\0")
    with pytest.raises(UserError, match="wrong length"):
        fashion_mnist.read_idx(tmp_path / "c", 3)


def test_fashion_mnist_label_count_must_match(tmp_path):
    write_fashion(tmp_path, 20)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(19, np.uint8))))
    with pytest.raises(UserError, match="19 labels for 20 images"):
        fashion_mnist.load("train", tmp_path)


def test_cifar100_folder_like_torchvision(tmp_path):
    counts = {"orchid": 3, "bed": 2, "wolf": 4}
    write_cifar100(tmp_path, counts)
    data = cifar.load(tmp_path, "train")
    assert data.classes == FINE and data.coarse_classes == COARSE_NAMES
    assert data.images.shape == (9, 32, 32, 3)
    np.testing.assert_array_equal(data.counts()[[FINE.index(c) for c in counts]], list(counts.values()))
    for img, lab, coarse in zip(data.images, data.labels, data.coarse_labels):
        # channel-major (3, 32, 32) on disk -> (32, 32, 3): red holds the label, blue a ramp along x
        assert (img[..., 0] == lab).all() and (img[5, :, 2] == np.arange(32) * 8).all()
        assert coarse == COARSE_OF[FINE[lab]]
    assert data.synsets[FINE.index("wolf")] == "wolf.n.01"
    # the folder itself works as root too
    assert cifar.load(tmp_path / "cifar-100-python", "train").classes == FINE


def test_cifar100_pickle_may_not_construct_other_objects(tmp_path):
    folder = write_cifar100(tmp_path, {"bee": 1})

    class Evil:
        def __reduce__(self):
            return (os.getcwd, ())

    with open(folder / "meta", "wb") as fh:
        pickle.dump({"fine_label_names": Evil()}, fh, protocol=2)
    with pytest.raises(UserError, match="refusing to load posix.getcwd"):
        cifar.load(tmp_path, "train")


def test_image_folder_resizes_and_labels_sorted(tmp_path):
    from PIL import Image

    colours = {"zebra": (250, 10, 10), "ant": (10, 200, 30)}
    for cls, rgb in colours.items():
        (tmp_path / cls).mkdir()
        for i, size in enumerate([(20, 10), (7, 7), (64, 48)]):
            Image.new("RGB", size, rgb).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "ant" / "notes.txt").write_text("not an image")
    data = folder.load(tmp_path, size=(8, 6))
    assert data.classes == ["ant", "zebra"] and data.images.shape == (6, 8, 6, 3)
    np.testing.assert_array_equal(data.labels, [0, 0, 0, 1, 1, 1])
    assert (data.images[data.labels == 1] == np.array(colours["zebra"], np.uint8)).all()
    grey = folder.load(tmp_path, size=(4, 4), grayscale=True, limit_per_class=2)
    assert grey.images.shape == (4, 4, 4, 1) and list(grey.counts()) == [2, 2]
    (tmp_path / "zebra" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="broken.png: not a readable image"):
        folder.load(tmp_path, size=(4, 4))


def test_limit_per_class_is_stratified_and_deterministic():
    labels = np.repeat([0, 1, 2], [10, 3, 50])
    keep = limit_per_class(labels, 5, seed=1)
    assert list(np.bincount(labels[keep])) == [5, 3, 5]
    assert (np.diff(keep) > 0).all()
    np.testing.assert_array_equal(keep, limit_per_class(labels, 5, seed=1))
    assert not np.array_equal(keep, limit_per_class(labels, 5, seed=2))
    # a class's draw does not depend on which other classes are present
    only2 = limit_per_class(labels[labels == 2], 5, seed=1)
    np.testing.assert_array_equal(only2 + 13, keep[labels[keep] == 2])
    with pytest.raises(UserError, match="--limit-per-class"):
        limit_per_class(labels, 0)


def test_imageset_file_roundtrip_and_partial_read(tmp_path):
    rng = np.random.default_rng(0)
    data = ImageSet(images=rng.integers(0, 256, (700, 5, 4, 3), dtype=np.uint8), labels=np.arange(700) % 7,
                    classes=list("abcdefg"), synsets=["dog.n.01"] * 7, coarse_labels=np.arange(700) % 2,
                    coarse_classes=["x", "y"], source="test", split="train")
    p = tmp_path / "s.h5"
    write_imageset(p, data, command="test", parameters={"n": 700})
    back = read_imageset(p)
    np.testing.assert_array_equal(back.images, data.images)
    assert back.classes == data.classes and back.synsets == data.synsets and back.coarse_classes == ["x", "y"]
    keep = back.labels == 3
    part = read_imageset(p, keep=keep)
    np.testing.assert_array_equal(part.images, data.images[keep])
    np.testing.assert_array_equal(part.coarse_labels, data.coarse_labels[keep])
    import h5py

    with h5py.File(p) as f:
        assert f["images"].compression == "gzip" and f["images"].chunks[0] == 256
    meta = read_imageset(p, images=False)
    assert meta.images is None and len(meta.labels) == 700


@pytest.mark.parametrize("key, value, message", [
    ("labels", np.array([0, 1, 5]), r"s\.h5: labels outside 0\.\.2$"),
    ("labels", np.array([0, 1]), r"s\.h5: 2 labels for 3 images$"),
    ("images", np.zeros((3, 4, 4, 4), np.uint8),
     r"s\.h5: 'images' must be uint8 \(N, H, W, 1\|3\), got uint8 \(3, 4, 4, 4\)$"),
    ("images", np.zeros((3, 4, 4, 1), np.float32), r"s\.h5: 'images' must be uint8"),
    ("groups", np.array([0, 1]), r"s\.h5: 'groups' must hold one group index per class$"),
])
def test_read_imageset_checks_the_contract(tmp_path, key, value, message):
    import h5py

    p = tmp_path / "s.h5"
    write_imageset(p, ImageSet(images=np.zeros((3, 4, 4, 1), np.uint8), labels=[0, 1, 2], classes=list("abc")),
                   command="test", parameters={})
    with h5py.File(p, "a") as f:
        if key in f:
            del f[key]
        f[key] = value
    with pytest.raises(UserError, match=message):
        read_imageset(p)


def test_read_imageset_min_classes(tmp_path):
    p = tmp_path / "one.h5"
    write_imageset(p, ImageSet(images=np.zeros((2, 4, 4, 3), np.uint8), labels=[0, 0], classes=["a"]),
                   command="test", parameters={})
    assert read_imageset(p).num_classes == 1
    with pytest.raises(UserError, match=r"one\.h5: 1 class\(es\); at least 2 are needed$"):
        read_imageset(p, min_classes=2)


def test_fashion_mnist_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(UserError, match="no train-images-idx3-ubyte.gz; apt-get install dataset-fashion-mnist"):
        fashion_mnist.load("train", tmp_path)
    with pytest.raises(UserError, match="no Fashion-MNIST folder"):
        fashion_mnist.load("train", tmp_path / "absent")
