"""The ``embeddings`` kind: one vector per concept, ``vectors`` (k, D) and ``concepts`` (k,)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError


@dataclass
class Embeddings:
    """An embeddings file: ``vectors`` (k, D) float32, ``concepts`` (k,), ``source`` and its settings."""

    path: str
    vectors: np.ndarray
    concepts: list[str]
    source: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    #: For vectors read from a word-vector file: the file's word each concept matched
    #: (``a + b`` for a mean of words) and how (exact / case-folded / mean).
    matched: list[str] | None = None
    match: list[str] | None = None

    @classmethod
    def read(cls, path: str | os.PathLike) -> "Embeddings":
        """Read an embeddings file: one finite vector per concept."""
        name = store.display_name(path)
        with store.open_file(path, "embeddings") as f:
            concepts = store.read_strings(f["concepts"])
            vectors = f["vectors"][...]
            source = store.read_attr(f, "source", "")
            matched = store.read_strings(f["matched"]) if "matched" in f else None
            match = store.read_strings(f["match"]) if "match" in f else None
            attrs = {k: f.attrs[k] for k in f.attrs if k not in ("source",) and not k.startswith("semtool_")
                     and k not in ("creator", "created_at")}
        if vectors.ndim != 2 or len(vectors) != len(concepts):
            raise UserError(f"{name}: vectors of shape {vectors.shape} for {len(concepts)} concepts")
        if not np.all(np.isfinite(vectors)):
            raise UserError(f"{name}: the embedding vectors hold NaN or inf values")
        return cls(name, vectors, concepts, source, attrs, matched, match)

    def write(self, path: str | os.PathLike, *, force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), command: str | None = "embed") -> None:
        """Write the vectors (float32), the concepts and the attributes."""
        with store.create(path, "embeddings", force=force, command=command, parameters=parameters,
                          inputs=inputs) as f:
            f.create_dataset("vectors", data=np.asarray(self.vectors).astype("float32"))
            store.write_strings(f, "concepts", self.concepts)
            for key in ("matched", "match"):
                if getattr(self, key) is not None:
                    store.write_strings(f, key, getattr(self, key))
            f.attrs["source"] = self.source
            for k, v in self.attrs.items():
                f.attrs[k] = v
