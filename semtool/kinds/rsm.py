"""The ``rsm`` kind: a representational similarity matrix (N, N) over labelled samples."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError


@dataclass
class Rsm:
    """An rsm file: ``matrix`` (N, N), ``labels`` (N,), and how it was made.

    ``semantic`` says whether the samples' sets were matched first (Wald et al. 2024);
    ``quality_pairs`` (P, 2) / ``quality_fraction`` (P,) an approximate matcher's fraction
    of the optimum; ``evaluation`` the retrieval and correlation figures.
    """

    path: str
    matrix: np.ndarray
    labels: np.ndarray
    classes: list[str] | None = None
    indices: np.ndarray | None = None
    layer: str | None = None
    kernel: str | None = None
    matcher: str | None = None
    semantic: bool = False
    label: str | None = None
    quality_pairs: np.ndarray | None = None
    quality_fraction: np.ndarray | None = None
    evaluation: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | os.PathLike) -> "Rsm":
        """Read an rsm file; the matrix must be square with one row per label."""
        name = store.display_name(path)
        with store.open_file(path, "rsm") as f:
            m = np.asarray(f["matrix"][...], dtype=np.float64)
            labels = np.asarray(f["labels"][...]).reshape(-1).astype(np.int64)
            if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != labels.size:
                raise UserError(f"{name}: matrix of shape {m.shape} does not match its {labels.size} labels")
            classes = store.read_strings(f["classes"]) if "classes" in f else None
            matcher = store.read_attr(f, "matcher")
            semantic = f.attrs.get("semantic")
            if semantic is None:  # no explicit flag: a matcher means the semantic RSM
                semantic = (matcher or "").lower() not in ("", "none", "spatial", "spatio-semantic")
            quality = f.get("matcher_quality")
            return cls(name, m, labels, classes, f["indices"][...] if "indices" in f else None,
                       store.read_attr(f, "layer"), store.read_attr(f, "kernel"), matcher, bool(semantic),
                       store.read_attr(f, "label"),
                       quality["pairs"][...] if quality is not None else None,
                       quality["fraction"][...] if quality is not None else None,
                       {k[len("eval_"):]: f.attrs[k] for k in f.attrs if k.startswith("eval_")})

    def write(self, path: str | os.PathLike, *, force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), command: str | None = "rsm") -> None:
        """Write the matrix, labels (sample indices, classes) and attributes layer / kernel / matcher."""
        with store.create(path, "rsm", force=force, command=command, parameters=parameters, inputs=inputs) as f:
            f.create_dataset("matrix", data=np.asarray(self.matrix, dtype=np.float64))
            f.create_dataset("labels", data=np.asarray(self.labels, dtype=np.int64))
            if self.indices is not None:
                f.create_dataset("indices", data=self.indices)
            if self.classes is not None:
                store.write_strings(f, "classes", self.classes)
            for key in ("layer", "kernel", "matcher", "label"):
                if getattr(self, key) is not None:
                    f.attrs[key] = getattr(self, key)
            f.attrs["semantic"] = self.semantic
            if self.quality_fraction is not None and self.quality_fraction.size:
                g = f.create_group("matcher_quality")
                g.create_dataset("pairs", data=self.quality_pairs)
                g.create_dataset("fraction", data=self.quality_fraction)
            for k, v in self.evaluation.items():
                f.attrs[f"eval_{k}"] = v
