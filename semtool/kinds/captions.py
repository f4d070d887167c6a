"""The ``captions`` kind: BLIP caption candidates per image, their CLIP scores, the best (SGID)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError


@dataclass
class Captions:
    """A captions file (Li, Xu, Wang 2023): per image the ``best`` caption, its ``best_score``
    s and the guidance scale f(s); ``candidates`` / ``scores`` (N, K) on request; ``labels``,
    ``classes`` and ``images_sha256`` say which images were captioned."""

    path: str
    best: list[str]
    best_score: np.ndarray
    guidance: np.ndarray
    candidates: list[list[str]] | None = None
    scores: np.ndarray | None = None
    labels: np.ndarray | None = None
    classes: list[str] | None = None
    images_sha256: str | None = None

    @classmethod
    def read(cls, path: str | os.PathLike, *, candidates: bool = False) -> "Captions":
        """A finished captions file (an unfinished one is refused); ``candidates=True`` reads them too."""
        name = store.display_name(path)
        with store.open_file(path, "captions") as f:
            if "done" in f and not f["done"][...].all():
                raise UserError(f"{name}: unfinished captions file")
            cand = f["candidates"][...] if candidates else None
            return cls(name, store.read_strings(f["best"]), f["best_score"][...].astype(np.float32),
                       f["guidance"][...].astype(np.float32),
                       None if cand is None else [[c.decode() if isinstance(c, bytes) else str(c) for c in row]
                                                  for row in cand],
                       f["scores"][...].astype(np.float32) if candidates else None,
                       f["labels"][...] if "labels" in f else None,
                       store.read_strings(f["classes"]) if "classes" in f else None,
                       store.read_attr(f, "images_sha256"))

    def write(self, path: str | os.PathLike, *, force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), command: str | None = "caption") -> None:
        """Write every caption at once (``semtool caption`` writes them batch by batch, resumably)."""
        import h5py

        with store.create(path, "captions", force=force, command=command, parameters=parameters,
                          inputs=inputs) as f:
            cand = self.candidates if self.candidates is not None else [[b] for b in self.best]
            f.create_dataset("candidates", data=np.array(cand, dtype=object), dtype=h5py.string_dtype("utf-8"))
            f.create_dataset("scores", data=np.asarray(self.scores if self.scores is not None
                                                       else self.best_score[:, None], dtype=np.float32))
            store.write_strings(f, "best", self.best)
            f.create_dataset("best_score", data=np.asarray(self.best_score, dtype=np.float32))
            f.create_dataset("guidance", data=np.asarray(self.guidance, dtype=np.float32))
            if self.labels is not None:
                f.create_dataset("labels", data=np.asarray(self.labels, dtype=np.int64))
            if self.classes is not None:
                store.write_strings(f, "classes", self.classes)
            if self.images_sha256:
                f.attrs["images_sha256"] = self.images_sha256
