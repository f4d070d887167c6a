"""An image folder with one subfolder per class (the torchvision ``ImageFolder`` layout).

``<root>/<class>/*.{png,jpg,jpeg,bmp,gif,webp,tif,tiff}``; classes are the subfolder names
in sorted order, labels index them. Every image is read with Pillow, converted to RGB (or
grayscale) and resized to the size given (bilinear, aspect ratio not kept — crop first if
it matters).
"""

from __future__ import annotations

import os
from pathlib import Path

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


def load(root: str | os.PathLike, *, size: tuple[int, int], grayscale: bool = False,
         limit_per_class: int | None = None, seed: int = 0, split: str = "train"):
    """The folder as an :class:`~semtool.data.imageset.ImageSet` of ``size`` = (H, W) images."""
    from PIL import Image, UnidentifiedImageError

    from semtool.data.imageset import ImageSet, limit_per_class as _limit
    from semtool.report.progress import progress

    h, w = size
    if h < 1 or w < 1:
        raise UserError(f"--size: expected positive sizes, got {h}×{w}")
    classes, items = scan(root)
    labels = np.array([lab for _, lab in items], dtype=np.int64)
    if limit_per_class is not None:  # choose before reading: only the kept images are decoded
        keep = _limit(labels, limit_per_class, seed)
        items, labels = [items[i] for i in keep], labels[keep]
    mode = "L" if grayscale else "RGB"
    images = np.empty((len(items), h, w, 1 if grayscale else 3), np.uint8)
    with progress(len(items), f"reading {root}", unit="images") as bar:
        for i, (path, _) in enumerate(items):
            try:
                with Image.open(path) as im:
                    im = im.convert(mode)
                    if im.size != (w, h):
                        im = im.resize((w, h), Image.BILINEAR)
                    images[i] = np.asarray(im).reshape(h, w, -1)
            except (UnidentifiedImageError, OSError) as exc:
                raise UserError(f"{path}: not a readable image ({type(exc).__name__})") from None
            bar.advance()
    return ImageSet(images=images, labels=labels, classes=classes, source=f"folder:{Path(root).resolve()}",
                    split=split)
