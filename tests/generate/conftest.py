"""Session-scoped tiny models (built once, saved with save_pretrained) and small imagesets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semtool import store
from semtool.generate import tiny


def write_imageset(path: Path, images: np.ndarray, labels, classes, groups=None, group_names=None) -> Path:
    with store.create(path, "imageset", force=True) as f:
        f["images"] = images
        f["labels"] = np.asarray(labels, dtype=np.int64)
        store.write_strings(f, "classes", classes)
        if groups is not None:
            f["groups"] = np.asarray(groups, dtype=np.int64)
            store.write_strings(f, "group_names", group_names)
    return path


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """One torch thread: on 2 shared cores, thread hand-offs cost more than they give, and
    results then match the subprocesses (OMP_NUM_THREADS=1, torchrun's default)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def sd_folder(tmp_path_factory) -> Path:
    return tiny.build_stable_diffusion(tmp_path_factory.mktemp("tiny-sd"))


@pytest.fixture(scope="session")
def blip_folder(tmp_path_factory) -> Path:
    return tiny.build_blip(tmp_path_factory.mktemp("tiny-blip"))


@pytest.fixture(scope="session")
def clip_folder(tmp_path_factory) -> Path:
    return tiny.build_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="session")
def grouped_imageset(tmp_path_factory) -> Path:
    """8 RGB 16×16 images of 4 classes in two semantic groups (each image: one target)."""
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    return write_imageset(tmp_path_factory.mktemp("ims") / "grouped.h5", images, [0, 1, 2, 3, 3, 2, 1, 0],
                          ["cat", "dog", "pickup_truck", "bus"], [0, 0, 1, 1], ["animals", "vehicles"])
