"""CIFAR-100 (Krizhevsky 2009) from a torchvision-format folder, offline or downloaded.

``<root>/cifar-100-python/{train,test,meta}`` as torchvision's ``CIFAR100`` stores them
(``<root>`` may also be the ``cifar-100-python`` folder itself). Each split file is a
pickled dict with ``data`` (N, 3072) uint8 in channel-major order (1024 red, 1024 green,
1024 blue, row-major 32×32), ``fine_labels`` and ``coarse_labels`` (N,); ``meta`` holds
``fine_label_names`` (100) and ``coarse_label_names`` (20). 50,000 training and 10,000 test
images, 500 / 100 per fine class.

This archive format is the one pickle semtool reads (DESIGN.md), and only through an
unpickler that admits nothing but NumPy's array reconstruction: a file that tries to
construct anything else is refused.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from semtool.errors import UserError

FOLDER = "cifar-100-python"
SPLITS = ("train", "test")
# The globals a NumPy array (and its dtype) pickle needs, under old and new module names.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"), ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"), ("_codecs", "encode"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            obj = _ArraysOnly(fh, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise UserError(f"{path}: not a CIFAR-100 pickle ({exc})") from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}: not a CIFAR-100 pickle (no dict inside)")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _folder(root: Path) -> Path:
    if (root / FOLDER).is_dir():
        return root / FOLDER
    if root.name == FOLDER or (root / "meta").exists() or (root / "train").exists():
        return root
    raise UserError(f"{root}: no {FOLDER} folder (expected {root}/{FOLDER}/{{train,test,meta}}; "
                    "or use --download)")


def download(root: str | os.PathLike) -> None:
    """Download through torchvision's ``CIFAR100(download=True)`` into ``root``."""
    try:
        from torchvision.datasets import CIFAR100
    except ImportError:
        raise UserError("--download needs torchvision (pip install torchvision)") from None
    try:
        CIFAR100(str(root), train=True, download=True)
    except Exception as exc:  # network errors come in many types
        raise UserError(f"--download: CIFAR-100 could not be downloaded ({type(exc).__name__}); "
                        f"put {FOLDER}/ under {root} by hand") from None


def load(root: str | os.PathLike, split: str = "train"):
    """The ``split`` as an :class:`~semtool.data.imageset.ImageSet` with fine and coarse labels.

    ``classes`` are the 100 fine label names, ``coarse_labels``/``coarse_classes`` the 20
    superclasses, ``synsets`` from the ``cifar100`` preset.
    """
    from semtool.data.imageset import ImageSet
    from semtool.semantics.wordnet import preset_synsets

    if split not in SPLITS:
        raise UserError(f"--split: expected train or test, got '{split}'")
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder (expected a folder holding {FOLDER}/)")
    folder = _folder(root)
    for name in ("meta", split):
        if not (folder / name).is_file():
            raise UserError(f"{folder}: missing '{name}' (a torchvision-format {FOLDER} folder has train, test, meta)")
    meta = _unpickle(folder / "meta")
    d = _unpickle(folder / split)
    try:
        fine_names = [str(n) for n in meta["fine_label_names"]]
        coarse_names = [str(n) for n in meta["coarse_label_names"]]
        data = np.asarray(d["data"], dtype=np.uint8)
        fine = np.asarray(d["fine_labels"], dtype=np.int64)
        coarse = np.asarray(d["coarse_labels"], dtype=np.int64)
    except KeyError as exc:
        raise UserError(f"{folder}: CIFAR-100 pickle lacks {exc}") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or not (len(data) == len(fine) == len(coarse)):
        raise UserError(f"{folder / split}: expected data (N, 3072) with N fine and coarse labels, "
                        f"got {data.shape}, {len(fine)}, {len(coarse)}")
    if fine.size and (fine.min() < 0 or fine.max() >= len(fine_names) or coarse.max() >= len(coarse_names)):
        raise UserError(f"{folder / split}: labels out of range of the names in meta")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    table = preset_synsets("cifar100")
    synsets = [table[c] for c in fine_names] if all(c in table for c in fine_names) else None
    return ImageSet(images=np.ascontiguousarray(images), labels=fine, classes=fine_names, synsets=synsets,
                    coarse_labels=coarse, coarse_classes=coarse_names, source="cifar100", split=split)
