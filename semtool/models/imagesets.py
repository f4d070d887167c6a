"""Imagesets as in-memory arrays for the engines (train, attack, features).

An ``imageset`` file's ``images`` are uint8 (N, H, W, C); engines keep them as uint8 and
convert each batch to float [0, 1] (N, C, H, W) on the device (:func:`to_pixels`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from semtool import store
from semtool.errors import UserError


@dataclass
class ImageSet:
    """An imageset held in memory; per-class arrays follow ``classes``."""

    path: str
    images: np.ndarray  # (N, H, W, C) uint8
    labels: np.ndarray  # (N,) int64
    classes: list[str]
    synsets: list[str] | None = None
    groups: np.ndarray | None = None  # (C,) int64, -1 = no group
    group_names: list[str] | None = None
    visual_groups: np.ndarray | None = None
    visual_group_names: list[str] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_size(self) -> tuple[int, int]:
        return int(self.images.shape[1]), int(self.images.shape[2])

    @property
    def channels(self) -> int:
        return int(self.images.shape[3])

    def class_info(self) -> dict[str, Any]:
        """classes, synsets, groups and their names (the model file's per-class metadata)."""
        return {
            "classes": self.classes, "synsets": self.synsets,
            "groups": None if self.groups is None else self.groups.tolist(), "group_names": self.group_names,
            "visual_groups": None if self.visual_groups is None else self.visual_groups.tolist(),
            "visual_group_names": self.visual_group_names,
        }


def read_imageset(path: str | os.PathLike, *, min_classes: int = 2, images: bool = True) -> ImageSet:
    """Read an ``imageset`` file (UserError for a wrong kind, < ``min_classes`` classes, bad labels)."""
    name = store.display_name(path)
    with store.open_file(path, "imageset") as f:
        classes = store.read_strings(f["classes"])
        labels = f["labels"][...].astype(np.int64)
        ds = f["images"]
        if ds.ndim != 4 or ds.dtype != np.uint8 or ds.shape[3] not in (1, 3):
            raise UserError(f"{name}: 'images' must be uint8 (N, H, W, 1|3), got {ds.dtype} {ds.shape}")
        arr = ds[...] if images else np.zeros((0,) + ds.shape[1:], np.uint8)
        shape = ds.shape

        def opt_strings(key: str) -> list[str] | None:
            return store.read_strings(f[key]) if key in f else None

        def opt_ints(key: str) -> np.ndarray | None:
            return f[key][...].astype(np.int64) if key in f else None

        out = ImageSet(str(path), arr, labels, classes, opt_strings("synsets"), opt_ints("groups"),
                       opt_strings("group_names"), opt_ints("visual_groups"), opt_strings("visual_group_names"),
                       {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()})
    if len(classes) < min_classes:
        raise UserError(f"{name}: {len(classes)} class(es); at least {min_classes} are needed")
    if labels.shape != (shape[0],):
        raise UserError(f"{name}: {labels.shape[0]} labels for {shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise UserError(f"{name}: labels outside 0..{len(classes) - 1}")
    for key in ("groups", "visual_groups"):
        g = getattr(out, key)
        if g is not None and g.shape != (len(classes),):
            raise UserError(f"{name}: '{key}' must hold one group index per class")
    return out


def check_same_classes(expected: list[str], found: list[str], what: str, against: str) -> None:
    """UserError unless two class lists are identical (names and order)."""
    if list(expected) != list(found):
        missing = [c for c in expected if c not in found]
        extra = [c for c in found if c not in expected]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing[:3])}")
        if extra:
            detail.append(f"extra {', '.join(extra[:3])}")
        if not detail:
            detail.append("same names in a different order")
        raise UserError(f"{what}: its {len(found)} classes differ from {against}'s {len(expected)} ({'; '.join(detail)})")


def to_pixels(batch):
    """uint8 (N, C, H, W) tensor -> float32 [0, 1] pixels."""
    return batch.float().div_(255.0)
