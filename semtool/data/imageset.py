"""The in-memory image set every data source produces, and its ``imageset`` file.

An :class:`ImageSet` is what ``semtool dataset …`` writes and every other command reads
(``regroup``, ``train``, ``attack``, ``features``, ``mix``, ``caption``): ``images``
(N, H, W, C) uint8, ``labels`` (N,) int64 indexing ``classes`` (C,), and optional
per-class ``synsets``, semantic ``groups`` / ``group_names`` and ``visual_groups`` /
``visual_group_names``, and per-sample ``coarse_labels`` indexing ``coarse_classes``
(CIFAR-100's 20 superclasses). The file layout is the ``imageset`` kind of
:mod:`semtool.store._kinds`; :func:`read_imageset` is its one reader.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Sequence

import numpy as np

from semtool.errors import UserError

# Images are written in chunks of at most this many (and compressed per chunk), and of at
# most CHUNK_BYTES: big enough for gzip to work well, small enough that reading a few images
# stays cheap and a chunk fits HDF5's default 1 MiB chunk cache (6 images at 224×224×3).
CHUNK_IMAGES = 256
CHUNK_BYTES = 1 << 20
_BATCH = 4096
_BATCH_BYTES = 64 << 20  # images decoded and written per step (a lazy stack decodes only these)


def chunk_images(h: int, w: int, c: int) -> int:
    """Images per HDF5 chunk of an (N, h, w, c) uint8 stack."""
    return max(1, min(CHUNK_IMAGES, CHUNK_BYTES // (h * w * c)))


@dataclasses.dataclass
class ImageSet:
    images: np.ndarray | None               # (N, H, W, C) uint8; None: metadata only
    labels: np.ndarray                      # (N,) int64
    classes: list[str]                      # (C,)
    synsets: list[str] | None = None        # (C,)
    groups: np.ndarray | None = None        # (C,) int64, -1: no group
    group_names: list[str] | None = None    # (G,)
    visual_groups: np.ndarray | None = None  # (C,) int64
    visual_group_names: list[str] | None = None  # (V,)
    coarse_labels: np.ndarray | None = None  # (N,) int64
    coarse_classes: list[str] | None = None  # (K,)
    source: str = ""
    split: str = ""
    path: str = ""                          # the file it was read from, as error messages name it

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        for key in ("groups", "visual_groups"):
            if getattr(self, key) is not None:
                setattr(self, key, np.asarray(getattr(self, key), dtype=np.int64))
        if self.coarse_labels is not None:
            self.coarse_labels = np.asarray(self.coarse_labels, dtype=np.int64)
        if self.images is None:
            return
        if self.images.ndim == 3:
            self.images = self.images[..., None]
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, H, W, C), got {self.images.dtype} {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise ValueError("images and labels differ in length")

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) of the images."""
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

    def counts(self) -> np.ndarray:
        """Images per class, (C,)."""
        return np.bincount(self.labels, minlength=len(self.classes))

    def in_class_order(self, classes: Sequence[str]) -> "ImageSet":
        """The same images with their classes matched by name into the order ``classes`` (the
        same names, any order): labels and every per-class field follow. A model's output
        units, or a training set's labels, then mean the same class as this set's labels."""
        if list(classes) == list(self.classes) or sorted(classes) != sorted(self.classes):
            return self
        where = {c: i for i, c in enumerate(classes)}
        new_of_old = np.array([where[c] for c in self.classes], dtype=np.int64)
        old_of_new = np.argsort(new_of_old)

        def per_class(values):
            return None if values is None else (
                values[old_of_new] if isinstance(values, np.ndarray) else [values[i] for i in old_of_new])

        return dataclasses.replace(self, labels=new_of_old[self.labels], classes=list(classes),
                                   synsets=per_class(self.synsets), groups=per_class(self.groups),
                                   visual_groups=per_class(self.visual_groups))

    def subset(self, index: np.ndarray) -> "ImageSet":
        """The same classes and groups, only the samples at ``index``."""
        return dataclasses.replace(
            self, images=None if self.images is None else self.images[index], labels=self.labels[index],
            coarse_labels=None if self.coarse_labels is None else self.coarse_labels[index])


def limit_per_class(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``n`` samples per class, drawn without replacement; sorted.

    Stratified and deterministic: class c's draw uses ``default_rng([seed, c])``, so it does
    not depend on the other classes present. A class with fewer than ``n`` keeps them all.
    """
    if n < 1:
        raise UserError(f"--limit-per-class: expected a number of images ≥ 1, got {n}")
    labels = np.asarray(labels)
    keep = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) > n:
            idx = np.sort(np.random.default_rng([seed, int(c)]).choice(idx, size=n, replace=False))
        keep.append(idx)
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)


def _strings(f, name: str) -> list[str] | None:
    from semtool import store

    return store.read_strings(f[name]) if name in f else None


def read_imageset(path: str | os.PathLike, *, images: bool = True, keep: np.ndarray | None = None,
                  min_classes: int = 1) -> ImageSet:
    """Read an ``imageset`` file, checked against the kind's contract.

    ``images=False`` leaves ``images`` None (metadata and labels only); ``keep`` (N,) bool
    reads only those samples, batch by batch, without holding the whole stack in memory.

    One-line :class:`~semtool.errors.UserError` naming the file for: a file of another kind;
    ``images`` not uint8 (N, H, W, 1|3); fewer than ``min_classes`` classes; a label count
    other than N; labels outside ``0..C-1``; ``groups`` / ``visual_groups`` not one entry per
    class. All are checked before any image is read.
    """
    from semtool import store
    from semtool._progress import progress

    name = store.display_name(path)
    with store.open_file(path, "imageset") as f:
        ds = f["images"]
        if ds.ndim != 4 or ds.dtype != np.uint8 or ds.shape[3] not in (1, 3):
            raise UserError(f"{name}: 'images' must be uint8 (N, H, W, 1|3), got {ds.dtype} {ds.shape}")
        classes = store.read_strings(f["classes"])
        labels = f["labels"][...].astype(np.int64)
        if len(classes) < min_classes:
            raise UserError(f"{name}: {len(classes)} class(es); at least {min_classes} are needed")
        if labels.shape != (ds.shape[0],):
            raise UserError(f"{name}: {labels.shape[0]} labels for {ds.shape[0]} images")
        if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
            raise UserError(f"{name}: labels outside 0..{len(classes) - 1}")
        for key in ("groups", "visual_groups"):
            if key in f and f[key].shape != (len(classes),):
                raise UserError(f"{name}: '{key}' must hold one group index per class")
        mask = None if keep is None else np.asarray(keep, bool)
        if mask is not None and len(mask) != len(labels):
            raise ValueError("keep must have one entry per sample")
        imgs = None
        if images:
            imgs = np.empty((len(labels) if mask is None else int(mask.sum()), *ds.shape[1:]), np.uint8)
            at = 0
            with progress(len(ds), f"reading {name}", unit="images") as bar:
                for i in range(0, len(ds), _BATCH):
                    m = None if mask is None else mask[i:i + _BATCH]
                    if m is None or m.any():
                        block = ds[i:i + _BATCH] if m is None else ds[i:i + _BATCH][m]
                        imgs[at:at + len(block)] = block
                        at += len(block)
                    bar.advance(min(_BATCH, len(ds) - i))
        sel = slice(None) if mask is None else mask
        return ImageSet(
            images=imgs, labels=labels[sel], classes=classes, synsets=_strings(f, "synsets"),
            groups=f["groups"][...] if "groups" in f else None, group_names=_strings(f, "group_names"),
            visual_groups=f["visual_groups"][...] if "visual_groups" in f else None,
            visual_group_names=_strings(f, "visual_group_names"),
            coarse_labels=f["coarse_labels"][...][sel] if "coarse_labels" in f else None,
            coarse_classes=_strings(f, "coarse_classes"),
            source=str(f.attrs.get("source", "")), split=str(f.attrs.get("split", "")), path=name,
        )


def write_imageset(path: str | os.PathLike, data: ImageSet, *, force: bool = False, command: str,
                   parameters: dict[str, Any], inputs: Sequence[str | os.PathLike] = ()) -> None:
    """Write ``data`` as an ``imageset`` file (atomically, with provenance), images chunked+gzip.

    ``data.images`` may be any uint8 (N, H, W, C) stack that slices into arrays (a
    :class:`semtool.data.folder.ImageFiles` decodes only the slice being written).
    """
    from semtool import store
    from semtool._progress import progress

    n, h, w, c = data.images.shape
    with store.create(path, "imageset", force=force, command=command, parameters=parameters, inputs=inputs) as f:
        f.attrs["source"] = data.source
        f.attrs["split"] = data.split
        ds = f.create_dataset("images", shape=(n, h, w, c), dtype=np.uint8,
                              chunks=(max(1, min(n, chunk_images(h, w, c))), h, w, c), compression="gzip",
                              compression_opts=4)
        step = max(1, min(_BATCH, _BATCH_BYTES // (h * w * c)))
        with progress(n, f"writing {store.display_name(path)}", unit="images") as bar:
            for i in range(0, n, step):
                ds[i:i + step] = data.images[i:i + step]
                bar.advance(min(step, n - i))
        f.create_dataset("labels", data=data.labels.astype(np.int64))
        store.write_strings(f, "classes", data.classes)
        if data.synsets is not None:
            store.write_strings(f, "synsets", data.synsets)
        for key in ("groups", "visual_groups"):
            arr = getattr(data, key)
            if arr is not None:
                f.create_dataset(key, data=np.asarray(arr, dtype=np.int64))
                store.write_strings(f, f"{key[:-1]}_names", getattr(data, f"{key[:-1]}_names") or [])
        if data.coarse_labels is not None:
            f.create_dataset("coarse_labels", data=data.coarse_labels.astype(np.int64))
            store.write_strings(f, "coarse_classes", data.coarse_classes or [])


def summary(data: ImageSet) -> str:
    """'60000 images of 28×28×1, 10 classes (6000 each)' — for the 'wrote' line."""
    counts = data.counts()
    each = f"{counts[0]} each" if len(counts) and (counts == counts[0]).all() else f"{counts.min()}–{counts.max()} per class"
    _, h, w, c = data.images.shape
    return f"{len(data)} images of {h}×{w}×{c}, {len(data.classes)} classes ({each})"
