"""The ``twovtwo`` kind: 2 vs 2 (and 1 vs 2) results per layer (Dharmaretnam & Fyshe 2018)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError

@dataclass
class TwoVsTwo:
    """A twovtwo file as per-layer arrays (L = number of layers).

    ``accuracy`` (L,), ``null`` (L, N) permutation null or None, ``p_value`` (L,) or None;
    ``p_value_authors`` (L,) the authors' #null > s / N; ``one_vs_two`` {name: (L,) or (L, N)}
    of the 1 vs 2 test when it was run (its group in the file).
    """

    path: str
    layers: list[str]
    accuracy: np.ndarray
    null: np.ndarray | None = None
    p_value: np.ndarray | None = None
    passes: np.ndarray | None = None
    tests: Any = None
    groups: np.ndarray | None = None
    null_count: np.ndarray | None = None
    p_value_authors: np.ndarray | None = None
    concepts: list[str] | None = None
    one_vs_two: dict[str, np.ndarray] = field(default_factory=dict)
    label: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | os.PathLike) -> "TwoVsTwo":
        """Read a twovtwo file; the null and the layer names must follow its accuracies."""
        name = store.display_name(path)
        with store.open_file(path, "twovtwo") as f:
            acc = np.asarray(f["accuracy"][...], dtype=np.float64).reshape(-1)
            layers = store.read_strings(f["layers"]) if "layers" in f else (["all"] if acc.size == 1 else
                                                                             [str(i) for i in range(acc.size)])
            if len(layers) != acc.size:
                raise UserError(f"{name}: {len(layers)} layers but {acc.size} accuracies")
            null = None
            if "null" in f:
                null = np.asarray(f["null"][...], dtype=np.float64)
                if null.ndim == 1:
                    null = null[None, :]
                if null.shape[0] != acc.size:
                    raise UserError(f"{name}: null distribution of shape {null.shape} "
                                    f"does not follow its {acc.size} layers")

            def get(key: str) -> np.ndarray | None:
                return f[key][...] if key in f else None

            p = get("p_value")
            return cls(name, layers, acc, null, None if p is None else np.asarray(p, dtype=np.float64).reshape(-1),
                       get("passes"), get("tests"), get("groups"), get("null_count"), get("p_value_authors"),
                       store.read_strings(f["concepts"]) if "concepts" in f else None,
                       {k: v[...] for k, v in f["one_vs_two"].items()} if "one_vs_two" in f else {},
                       store.read_attr(f, "label"), {k: f.attrs[k] for k in ("permutations", "seed") if k in f.attrs})

    def write(self, path: str | os.PathLike, *, force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), command: str | None = "twovtwo") -> None:
        """Write the per-layer results (and the 1 vs 2 group when present)."""
        with store.create(path, "twovtwo", force=force, command=command, parameters=parameters,
                          inputs=inputs) as f:
            store.write_strings(f, "layers", self.layers)
            if self.concepts is not None:
                store.write_strings(f, "concepts", self.concepts)
            f.create_dataset("accuracy", data=np.asarray(self.accuracy))
            for key in ("passes", "tests", "groups", "null", "p_value", "p_value_authors", "null_count"):
                if getattr(self, key) is not None:
                    f.create_dataset(key, data=getattr(self, key))
            if self.one_vs_two:
                g = f.create_group("one_vs_two")
                for key, value in self.one_vs_two.items():
                    g.create_dataset(key, data=value)
            for k, v in self.attrs.items():
                f.attrs[k] = v
            if self.label:
                f.attrs["label"] = self.label
