"""The ``csm`` kind: a class similarity matrix (C, C) or a stack over epochs (E, C, C)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError
from semtool.kinds._groups import Grouping, read_groupings, write_groupings
from semtool.measure.align import check_unique
from semtool.measure.csm import check_csm


@dataclass
class Csm:
    """A csm file's contents: ``matrix`` (C, C), or a stack (E, C, C) with ``epochs`` (E,).

    ``source`` says what the matrix is (``ncsm``, ``ccsm``, ``tncsm``, ``wordnet``,
    ``groups``, ``text``), ``measure`` how its values were computed.
    """

    path: str
    matrix: np.ndarray
    classes: list[str]
    epochs: np.ndarray | None = None
    synsets: list[str] | None = None
    source: str = ""
    measure: str = ""
    groups: Grouping | None = None
    label: str | None = None

    @property
    def is_stack(self) -> bool:
        return self.matrix.ndim == 3

    @classmethod
    def read(cls, path: str | os.PathLike, *, finite: bool = True) -> "Csm":
        """Read and check a csm file: square, ≥ 2 classes, one name per class, unique names.

        ``finite=False`` lets NaN cells through (a figure draws them grey); every measure
        needs them finite.
        """
        name = store.display_name(path)
        with store.open_file(path, "csm") as f:
            classes = store.read_strings(f["classes"])
            if "matrices" in f:
                m = f["matrices"][...]
                if m.ndim != 3:
                    raise UserError(f"{name}: 'matrices' has shape {m.shape}, expected (E, C, C)")
                epochs = (f["epochs"][...].astype(np.float64).reshape(-1) if "epochs" in f
                          else np.arange(m.shape[0], dtype=np.float64))
                if epochs.shape != (m.shape[0],):
                    raise UserError(f"{name}: {m.shape[0]} matrices but {epochs.size} epochs")
            elif "matrix" in f:
                m, epochs = f["matrix"][...], None
                if m.ndim != 2:
                    raise UserError(f"{name}: 'matrix' has shape {m.shape}, expected (C, C)")
            else:
                raise UserError(f"{name}: 'csm' file holds neither 'matrix' nor 'matrices'")
            synsets = store.read_strings(f["synsets"]) if "synsets" in f else None
            groups = read_groupings(f)["groups"]
            source, measure = store.read_attr(f, "source", ""), store.read_attr(f, "measure", "")
            label = store.read_attr(f, "label")
        # Shape checks always; NaN only when the caller needs finite values.
        check_csm(m if finite else np.nan_to_num(np.asarray(m, dtype=np.float64)), name)
        m = np.asarray(m, dtype=np.float64)
        if len(classes) != m.shape[-1]:
            raise UserError(f"{name}: {len(classes)} class names for a {m.shape[-1]}×{m.shape[-1]} matrix")
        check_unique(classes, name)
        return cls(name, m, classes, epochs, synsets, source, measure, groups, label)

    def write(self, path: str | os.PathLike, *, force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), command: str | None = None) -> None:
        """Write a csm file: ``matrix`` (C, C), or ``matrices`` (E, C, C) with ``epochs``."""
        matrix = np.asarray(self.matrix, dtype=np.float64)
        with store.create(path, "csm", force=force, parameters=parameters, inputs=inputs,
                          command=command or f"csm {self.source}") as f:
            if matrix.ndim == 3:
                f.create_dataset("matrices", data=matrix)
                epochs = self.epochs if self.epochs is not None else np.arange(matrix.shape[0])
                f.create_dataset("epochs", data=np.asarray(epochs, dtype=np.float64))
            else:
                f.create_dataset("matrix", data=matrix)
            store.write_strings(f, "classes", self.classes)
            if self.synsets is not None:
                store.write_strings(f, "synsets", self.synsets)
            write_groupings(f, self.groups)
            f.attrs["source"] = self.source
            f.attrs["measure"] = self.measure
            if self.label:
                f.attrs["label"] = self.label
