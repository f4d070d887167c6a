"""Small real Fashion-MNIST imagesets for tests, read straight from Debian's IDX files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from semtool import store
from semtool.kinds import Hybrids
from tests._helpers import csm_file

FMNIST = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# tops / bottoms / footwear / bags: a real semantic grouping of the ten classes
GROUPS = [0, 1, 0, 0, 0, 2, 0, 2, 3, 2]
GROUP_NAMES = ["tops", "bottoms", "footwear", "bags"]


def _idx(path: Path) -> np.ndarray:
    """Parse an IDX file (magic: 0, 0, dtype 0x08 = uint8, ndim; then big-endian sizes)."""
    raw = gzip.open(path, "rb").read()
    ndim = raw[3]
    dims = np.frombuffer(raw, ">u4", count=ndim, offset=4)
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(tuple(int(d) for d in dims))


def fashion_mnist(split: str = "train", n: int | None = None, size: int | None = None):
    """(images (N, H, W, 1) uint8, labels (N,)) — the first ``n`` of a split, optionally
    subsampled to size×size by striding (a cheap, faithful shrink for fast tests)."""
    prefix = "train" if split == "train" else "t10k"
    if not (FMNIST / f"{prefix}-images-idx3-ubyte.gz").exists():
        pytest.skip("Fashion-MNIST (Debian dataset-fashion-mnist) not installed")
    images = _idx(FMNIST / f"{prefix}-images-idx3-ubyte.gz")
    labels = _idx(FMNIST / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    if n is not None:
        images, labels = images[:n], labels[:n]
    if size is not None and size != 28:
        step = 28 // size
        images = images[:, : step * size : step, : step * size : step]
    return np.ascontiguousarray(images[..., None]), labels


def write_imageset(path, images, labels, classes=CLASSES, groups=GROUPS, group_names=GROUP_NAMES, split="train"):
    with store.create(path, "imageset", force=True, command="test") as f:
        f.create_dataset("images", data=images, chunks=True, compression="gzip")
        f.create_dataset("labels", data=np.asarray(labels, np.int64))
        store.write_strings(f, "classes", classes)
        if groups is not None:
            f.create_dataset("groups", data=np.asarray(groups, np.int64))
            store.write_strings(f, "group_names", group_names)
        f.attrs["split"] = split
        f.attrs["source"] = "fashion-mnist"
    return path


def fmnist_imageset(path, split="train", n=None, size=None, **kw):
    images, labels = fashion_mnist(split, n, size)
    return write_imageset(path, images, labels, split=split, **kw)


def write_csm(path, matrix, classes=CLASSES, source="groups", measure="block"):
    return csm_file(path, matrix, classes, source=source, measure=measure)


def write_hybrids(path, images, base, target, classes=CLASSES):
    Hybrids(str(path), images, np.asarray(base, np.int64), np.asarray(target, np.int64),
            np.arange(len(base), dtype=np.int64), list(classes), {"method": "test", "factor": 0.5, "model": "none"}).write(
        path, force=True, command="test")
    return path


def tiny_model_file(path, size=14, classes=CLASSES, seed=0):
    """A randomly initialised (seeded) convnet for size×size Fashion-MNIST, saved as a semtool
    model file; returns the model (torch is imported here: only tests that need it call this)."""
    import torch

    from semtool.models import build_classifier, model_metadata, save_model

    torch.manual_seed(seed)
    m = build_classifier("convnet", len(classes), in_channels=1, input_size=(size, size))
    save_model(path, m, model_metadata(m, architecture="convnet", classes=list(classes), input_size=(size, size)))
    return m
