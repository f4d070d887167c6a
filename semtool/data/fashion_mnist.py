"""Fashion-MNIST (Xiao, Rasul, Vollgraf 2017) from its IDX files, offline or downloaded.

The four files ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` are read from a
folder: by default ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``),
or one given, or the ``FashionMNIST/raw`` folder torchvision downloads into. IDX format
(LeCun et al.): a big-endian magic number ``0x0000080D`` with D the number of dimensions
(0x0803 images, 0x0801 labels), D big-endian uint32 sizes, then the uint8 data. Both the
magic number and the data length are checked. 60,000 training and 10,000 test images of
28×28 pixels, 10 classes, 6,000 / 1,000 per class.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np

from semtool.errors import UserError

DEBIAN_ROOT = Path("/usr/share/datasets/fashion-mnist")
# torchvision.datasets.FashionMNIST.classes, in label order.
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_MAGIC = {3: 0x00000803, 1: 0x00000801}
INSTALL_HINT = "apt-get install dataset-fashion-mnist, or give --root FOLDER, or --download"


def _find(root: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        for folder in (root, root / "FashionMNIST" / "raw", root / "raw"):
            if (folder / name).is_file():
                return folder / name
    return None


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """An IDX file (gzip or plain) of uint8 data with ``ndim`` dimensions, checked."""
    from semtool._progress import progress

    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    try:
        with opener(p, "rb") as fh:
            head = fh.read(4 + 4 * ndim)
            if len(head) < 4:
                raise UserError(f"{p}: too short for an IDX file")
            (magic,) = struct.unpack(">I", head[:4])
            if magic != _MAGIC[ndim]:
                raise UserError(f"{p}: wrong IDX magic number 0x{magic:08X}, expected 0x{_MAGIC[ndim]:08X}")
            if len(head) < 4 + 4 * ndim:
                raise UserError(f"{p}: IDX header cut short")
            dims = struct.unpack(f">{ndim}I", head[4:])
            size = int(np.prod(dims))
            buf = bytearray(size)
            view = memoryview(buf)
            got = 0
            with progress(size, f"reading {p.name}", unit="bytes") as bar:
                while got < size:
                    n = fh.readinto(view[got:got + (1 << 22)])
                    if not n:
                        break
                    got += n
                    bar.advance(n)
            extra = fh.read(1)
    except (OSError, EOFError) as exc:
        raise UserError(f"{p}: unreadable IDX file ({exc})") from None
    if got != size or extra:
        raise UserError(f"{p}: wrong length: header says {'×'.join(map(str, dims))} = {size} bytes, "
                        f"found {got if got != size else 'more'}")
    return np.frombuffer(buf, dtype=np.uint8).reshape(dims)


def download(root: str | os.PathLike) -> Path:
    """Download through torchvision into ``root``; return the folder holding the IDX files."""
    try:
        from torchvision.datasets import FashionMNIST
    except ImportError:
        raise UserError("--download needs torchvision (pip install torchvision)") from None
    root = Path(root)
    for train in (True, False):
        try:
            FashionMNIST(str(root), train=train, download=True)
        except Exception as exc:  # network errors come in many types
            raise UserError(f"--download: Fashion-MNIST could not be downloaded ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}); {INSTALL_HINT}") from None
    return root / "FashionMNIST" / "raw"


def load(split: str = "train", root: str | os.PathLike | None = None):
    """The ``split`` ('train' or 'test') as an :class:`~semtool.data.imageset.ImageSet`, synsets from the preset."""
    from semtool.data.imageset import ImageSet
    from semtool.semantics.wordnet import preset_synsets

    if split not in FILES:
        raise UserError(f"--split: expected train or test, got '{split}'")
    folder = Path(root) if root is not None else DEBIAN_ROOT
    if not folder.is_dir():
        raise UserError(f"{folder}: no Fashion-MNIST folder; {INSTALL_HINT}")
    paths = [_find(folder, stem) for stem in FILES[split]]
    for stem, p in zip(FILES[split], paths):
        if p is None:
            raise UserError(f"{folder}: no {stem}.gz; {INSTALL_HINT}")
    images = read_idx(paths[0], 3)
    labels = read_idx(paths[1], 1)
    if len(images) != len(labels):
        raise UserError(f"{paths[1]}: {len(labels)} labels for {len(images)} images in {paths[0].name}")
    if labels.size and labels.max() >= len(CLASSES):
        raise UserError(f"{paths[1]}: label {labels.max()} out of range 0–{len(CLASSES) - 1}")
    table = preset_synsets("fashion-mnist")
    return ImageSet(images=images[..., None], labels=labels.astype(np.int64), classes=list(CLASSES),
                    synsets=[table[c] for c in CLASSES], source="fashion-mnist", split=split)
