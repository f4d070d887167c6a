"""An image folder with one subfolder per class (the torchvision ``ImageFolder`` layout).

``<root>/<class>/*.{png,jpg,jpeg,bmp,gif,webp,tif,tiff}``; classes are the subfolder names
in sorted order, labels index them. Every image is read with Pillow, converted to RGB (or
grayscale) and brought to one :class:`Resolution`: resized to (H, W) (bilinear, aspect
ratio not kept), or shorter side resized and centre-cropped as torchvision does. Class
folders named by WordNet ids (ImageNet's ``n01440764``) are recognised and carry synsets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from semtool.errors import UserError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


def scan(root: str | os.PathLike) -> tuple[list[str], list[tuple[Path, int]]]:
    """``(classes, [(file, label), ...])`` of an image folder, in sorted order."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise UserError(f"{root}: no class subfolders (expected {root}/<class>/<image files>)")
    items = []
    for label, cls in enumerate(classes):
        files = sorted(p for p in (root / cls).rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
        if not files:
            raise UserError(f"{root / cls}: no image files ({', '.join(sorted(EXTENSIONS))})")
        items += [(p, label) for p in files]
    return classes, items


class Resolution:
    """How each image becomes a stored ``(H, W)`` picture.

    ``crop=None``: resized to ``size`` = (H, W), aspect ratio not kept. With ``crop`` = (H, W):
    the shorter side resized to ``size`` (an int; the longer one to ``int(size * long / short)``),
    then the centre ``crop`` cut out with torchvision's rounding — torchvision's
    ``Resize(size)`` + ``CenterCrop(crop)`` on PIL images, bilinear (Pillow antialiases when it
    shrinks), the ImageNet evaluation recipe (256 then 224).
    """

    def __init__(self, size: int | tuple[int, int], crop: tuple[int, int] | None = None, grayscale: bool = False):
        if crop is not None:
            if not isinstance(size, int):
                raise UserError(f"--size: with --crop give one number (the shorter side), got {size[0]}x{size[1]}")
            if min(crop) < 1 or max(crop) > size:
                raise UserError(f"--crop: expected sizes from 1 to --size {size}, got {crop[0]}×{crop[1]}")
        else:
            size = (size, size) if isinstance(size, int) else tuple(size)
        if min((size,) if isinstance(size, int) else size) < 1:
            raise UserError(f"--size: expected positive sizes, got {size}")
        self.size, self.crop, self.mode = size, crop, ("L" if grayscale else "RGB")

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, C) of a stored image."""
        h, w = self.crop or self.size
        return h, w, 1 if self.mode == "L" else 3

    def __call__(self, path: Path) -> np.ndarray:
        """The image file as a uint8 (H, W, C) array; a UserError naming an unreadable file."""
        from PIL import Image, UnidentifiedImageError

        h, w, _ = self.shape
        try:
            with Image.open(path) as im:
                im = im.convert(self.mode)
                if self.crop is None:
                    if im.size != (w, h):
                        im = im.resize((w, h), Image.BILINEAR)
                else:
                    iw, ih = im.size
                    short, long = min(iw, ih), max(iw, ih)
                    new = (self.size, int(self.size * long / short))
                    im = im.resize(new if iw <= ih else new[::-1], Image.BILINEAR)
                    top, left = int(round((im.size[1] - h) / 2.0)), int(round((im.size[0] - w) / 2.0))
                    im = im.crop((left, top, left + w, top + h))
                return np.asarray(im).reshape(h, w, -1)
        except (UnidentifiedImageError, OSError) as exc:
            raise UserError(f"{path}: not a readable image ({type(exc).__name__})") from None


class ImageFiles:
    """Image files that read as a uint8 (N, H, W, C) array, decoded only when indexed.

    What lets ``write_imageset`` store 50,000 ImageNet images batch by batch without
    holding them all: it indexes slices. Batches are decoded by a few threads (Pillow
    releases the GIL while it decodes and resamples).
    """

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, paths: Sequence[Path], resolution: Resolution):
        self.paths, self.resolution = list(paths), resolution
        self.shape = (len(self.paths), *resolution.shape)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, key) -> np.ndarray:
        idx = np.arange(len(self.paths))[key]
        if idx.ndim == 0:
            return self.resolution(self.paths[int(idx)])
        out = np.empty((len(idx), *self.shape[1:]), np.uint8)
        if len(idx):
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
                for i, img in enumerate(pool.map(self.resolution, [self.paths[j] for j in idx])):
                    out[i] = img
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        arr = self[:]
        return arr if dtype is None else arr.astype(dtype)


def class_folders(classes: Sequence[str], *, origin: str) -> tuple[list[str], list[str] | None]:
    """Class names and synsets of class folders: WordNet ids (ImageNet's layout) become
    named classes with synsets; any other names stay as they are, without synsets."""
    from semtool.semantics import wordnet

    if not all(wordnet.is_wnid(c) for c in classes):
        return list(classes), None
    return wordnet.wnid_classes(classes, origin=origin)


def load(root: str | os.PathLike, *, size: int | tuple[int, int], crop: tuple[int, int] | None = None,
         grayscale: bool = False, limit_per_class: int | None = None, seed: int = 0, split: str = "train",
         lazy: bool = False):
    """The folder as an :class:`~semtool.data.imageset.ImageSet` at :class:`Resolution` (size, crop).

    Subfolders named by WordNet noun ids (``n01440764``: the ILSVRC train layout, and the
    val layout as torchvision's ``ImageNet`` prepares it) are recognised: each class gets
    its ImageNet-1k name (else its synset's lemma) and its synset from the wnid's offset.
    ``lazy=True`` leaves the images undecoded (:class:`ImageFiles`) until written.
    """
    resolution = Resolution(size, crop, grayscale)
    folders, items = scan(root)
    classes, synsets = class_folders(folders, origin=str(root))
    return files_imageset([p for p, _ in items], [lab for _, lab in items], classes, synsets, resolution,
                          limit_per_class=limit_per_class, seed=seed, split=split,
                          source=f"folder:{Path(root).resolve()}", lazy=lazy)


def files_imageset(paths: Sequence[Path], labels: Sequence[int], classes: list[str], synsets: list[str] | None,
                   resolution: Resolution, *, limit_per_class: int | None, seed: int, split: str, source: str,
                   lazy: bool):
    """An ImageSet of image files: the per-class limit drawn first, so only kept images are decoded."""
    from semtool.data.imageset import ImageSet, limit_per_class as _limit

    labels = np.asarray(labels, dtype=np.int64)
    if limit_per_class is not None:
        keep = _limit(labels, limit_per_class, seed)
        paths, labels = [paths[i] for i in keep], labels[keep]
    images = ImageFiles(paths, resolution)
    if not lazy:
        from semtool._progress import progress

        arr = np.empty(images.shape, np.uint8)
        with progress(len(images), "reading images", unit="images") as bar:
            for i in range(0, len(images), 256):
                arr[i:i + 256] = images[i:i + 256]
                bar.advance(min(256, len(images) - i))
        images = arr
    return ImageSet(images=images, labels=labels, classes=classes, synsets=synsets, source=source, split=split)
