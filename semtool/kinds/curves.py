"""The ``curves`` kind: series over epochs (``loss``, ``accuracy/…``, ``sai/…``) and CSM snapshots."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError


@dataclass
class Curves:
    """A curves file: ``epochs`` (E,), ``series`` {path: (E,)}, ``snapshots`` {name: (E, C, C)}.

    A series is any 1-D numeric dataset with one value per epoch, at any path outside
    ``snapshots/`` and ``provenance/``.
    """

    path: str
    epochs: np.ndarray
    series: dict[str, np.ndarray] = field(default_factory=dict)
    snapshots: dict[str, np.ndarray] = field(default_factory=dict)
    classes: list[str] | None = None
    label: str | None = None

    @classmethod
    def read(cls, path: str | os.PathLike, *, snapshots: bool | Sequence[str] = True) -> "Curves":
        """Read the series and the CSM snapshot stacks: all, none (``False``) or those named."""
        import h5py

        name = store.display_name(path)
        with store.open_file(path, "curves") as f:
            epochs = np.asarray(f["epochs"][...], dtype=np.float64).reshape(-1)
            series: dict[str, np.ndarray] = {}

            def visit(key: str, obj: Any) -> None:
                if key.startswith(("provenance", "snapshots")) or key == "epochs":
                    return
                if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.dtype.kind in "fiu":
                    values = np.asarray(obj[...], dtype=np.float64)
                    # an all-NaN series (older train runs without --eval wrote them) was never measured
                    if obj.shape[0] == epochs.size and np.isfinite(values).any():
                        series[key] = values

            f.visititems(visit)
            have = f["snapshots"] if "snapshots" in f else {}
            wanted = list(have) if snapshots is True else [k for k in (snapshots or ()) if k in have]
            snaps = {k: np.asarray(have[k][...], dtype=np.float64) for k in wanted}
            classes = store.read_strings(f["classes"]) if "classes" in f else None
            return cls(name, epochs, series, snaps, classes, store.read_attr(f, "label"))

    def require_series(self) -> "Curves":
        """Self, or a UserError when no series has one value per epoch."""
        if not self.series:
            raise UserError(f"{self.path}: 'curves' file holds no series over its {self.epochs.size} epochs")
        return self

    def write(self, path: str | os.PathLike, *, force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), command: str | None = None) -> None:
        """Write the epochs, every series at its path, the snapshots, classes and label."""
        with store.create(path, "curves", force=force, command=command, parameters=parameters,
                          inputs=inputs) as f:
            f.create_dataset("epochs", data=np.asarray(self.epochs, dtype=np.float64))
            for k, v in self.series.items():
                f.create_dataset(k, data=np.asarray(v, dtype=np.float64))
            for k, v in self.snapshots.items():
                f.create_dataset(f"snapshots/{k}", data=np.asarray(v, dtype=np.float64))
            if self.classes is not None:
                store.write_strings(f, "classes", self.classes)
            if self.label:
                f.attrs["label"] = self.label
