"""The ``hybrids`` kind: images made toward other classes (MagicMix, SGID, mixup, CutMix)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError


@dataclass
class Hybrids:
    """A hybrids file: ``images`` (N, H, W, C) uint8, each made from an image of class
    ``base_labels`` toward class ``target_labels`` (indices into ``classes``), from image
    ``source_index`` of the imageset; ``attrs`` method, factor, model."""

    path: str
    images: np.ndarray
    base_labels: np.ndarray
    target_labels: np.ndarray
    source_index: np.ndarray
    classes: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | os.PathLike) -> "Hybrids":
        """The finished hybrids of a file (an unfinished generator file: its done rows), labels checked."""
        name = store.display_name(path)
        with store.open_file(path, "hybrids") as f:
            classes = store.read_strings(f["classes"])
            keep = f["done"][...].astype(bool) if "done" in f else np.ones(len(f["base_labels"]), bool)
            base = f["base_labels"][...].astype(np.int64)[keep]
            target = f["target_labels"][...].astype(np.int64)[keep]
            source = f["source_index"][...].astype(np.int64)[keep]
            images = f["images"][...][keep]
            attrs = {k: f.attrs[k] for k in ("method", "factor", "model") if k in f.attrs}
        for arr in (base, target):
            if arr.size and (arr.min() < 0 or arr.max() >= len(classes)):
                raise UserError(f"{name}: hybrid labels outside its {len(classes)} classes")
        return cls(name, images, base, target, source, classes, attrs)

    def write(self, path: str | os.PathLike, *, force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), command: str | None = "mix") -> None:
        """Write every hybrid at once (the generators write theirs batch by batch, resumably)."""
        with store.create(path, "hybrids", force=force, command=command, parameters=parameters,
                          inputs=inputs) as f:
            f.create_dataset("images", data=np.asarray(self.images, dtype=np.uint8), compression="gzip")
            for key in ("base_labels", "target_labels", "source_index"):
                f.create_dataset(key, data=np.asarray(getattr(self, key), dtype=np.int64))
            store.write_strings(f, "classes", self.classes)
            for k, v in self.attrs.items():
                f.attrs[k] = v
