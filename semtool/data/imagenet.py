"""ImageNet-1k (ILSVRC 2012; Russakovsky et al. 2015) through torchvision's own ``ImageNet`` dataset.

``ROOT`` is what torchvision's ``ImageNet`` reads: the devkit ``ILSVRC2012_devkit_t12.tar.gz``
(or the ``meta.bin`` torchvision makes from it on first use) and either the split's folder
(``train/<wnid>/…``, ``val/<wnid>/…``) or its archive (``ILSVRC2012_img_val.tar``,
``ILSVRC2012_img_train.tar``), which torchvision checks (MD5), extracts into that folder and,
for val, sorts into wnid subfolders by the devkit's ground truth. semtool then reads the
images torchvision lists (``dataset.imgs``) at one stored resolution; classes are named and
given synsets by wnid (:func:`semtool.semantics.wordnet.wnid_classes`).
"""

from __future__ import annotations

import os
from pathlib import Path

from semtool.errors import UserError

DEVKIT = "ILSVRC2012_devkit_t12.tar.gz"
META_FILE = "meta.bin"  # what torchvision writes beside the devkit after parsing it
ARCHIVES = {"train": "ILSVRC2012_img_train.tar", "val": "ILSVRC2012_img_val.tar"}


def check_root(root: str | os.PathLike, split: str) -> Path:
    """``root`` if it holds what torchvision's ImageNet needs for ``split``; else a one-line error naming the file."""
    root = Path(root)
    if split not in ARCHIVES:
        raise UserError(f"--split: expected train or val, got '{split}'")
    if not root.is_dir():
        raise UserError(f"{root}: no such folder")
    if not (root / META_FILE).is_file() and not (root / DEVKIT).is_file():
        raise UserError(f"{root}: no ImageNet devkit {DEVKIT} (nor the {META_FILE} torchvision makes from it); "
                        "download it from image-net.org into this folder")
    if not (root / split).is_dir() and not (root / ARCHIVES[split]).is_file():
        raise UserError(f"{root}: neither a '{split}' folder nor {ARCHIVES[split]}; "
                        "download the archive from image-net.org into this folder")
    return root


def load(root: str | os.PathLike, split: str, *, size: int, crop: tuple[int, int], limit_per_class: int | None = None,
         seed: int = 0, lazy: bool = False):
    """The ``split`` ('train' or 'val') as an ImageSet: shorter side ``size``, centre ``crop``."""
    from semtool.data.folder import Resolution, files_imageset
    from semtool.semantics.wordnet import wnid_classes

    resolution = Resolution(size, crop)
    root = check_root(root, split)
    from torchvision.datasets import ImageNet  # after the checks: a refusal need not wait for torch

    try:
        ds = ImageNet(str(root), split=split)
    except (RuntimeError, OSError) as exc:  # a corrupt archive or meta file: torchvision's own words
        raise UserError(f"{root}: torchvision's ImageNet: {' '.join(str(exc).split())}") from None
    classes, synsets = wnid_classes(ds.wnids, origin=str(root / split))
    return files_imageset([Path(p) for p, _ in ds.imgs], [lab for _, lab in ds.imgs], classes, synsets, resolution,
                          limit_per_class=limit_per_class, seed=seed, split=split,
                          source=f"imagenet:{root.resolve()}", lazy=lazy)
