"""The ``features`` kind: one dataset per layer ``layers/<name>`` (N, …), labels, classes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError


def layer_names(path: str | os.PathLike) -> list[str]:
    """The layer names of a features file, in file order."""
    with store.open_file(path, "features") as f:
        return list(f["layers"].keys()) if "layers" in f else []


def select_layers(path: str | os.PathLike, spec: str | None) -> list[str]:
    """'all' (or None) -> every layer; 'a,b' -> those, each checked; one line listing the layers otherwise."""
    names = layer_names(path)
    if not names:
        raise UserError(f"{store.display_name(path)}: features file holds no layers")
    if spec is None or spec.strip() == "all":
        return names
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    for w in wanted:
        if w not in names:
            raise UserError(f"{store.display_name(path)}: no layer '{w}' (layers: {', '.join(names)})")
    return wanted


def layer_shape(path: str | os.PathLike, layer: str) -> tuple[int, ...]:
    """The shape of one layer's dataset, read without its data."""
    with store.open_file(path, "features") as f:
        return tuple(f["layers"][layer].shape)


@dataclass
class Features:
    """A features file: ``layers`` {name: (N, …)} in file order, ``labels`` (N,), ``classes`` (C,)."""

    path: str
    layers: dict[str, np.ndarray]
    labels: np.ndarray
    classes: list[str]
    synsets: list[str] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | os.PathLike, layers: str | Sequence[str] | None = None) -> "Features":
        """The layers ``layers`` ('all' or None: every one; 'a,b' or a list: those), checked.

        Each layer has one row per label and finite values (integers are read as float32).
        """
        name = store.display_name(path)
        chosen = select_layers(path, layers if layers is None or isinstance(layers, str) else ",".join(layers))
        with store.open_file(path, "features") as f:
            labels = f["labels"][...].astype(np.int64).reshape(-1)
            classes = store.read_strings(f["classes"])
            synsets = store.read_strings(f["synsets"]) if "synsets" in f else None
            data = {layer: f["layers"][layer][...] for layer in chosen}
            attrs = {k: f.attrs[k] for k in ("pool",) if k in f.attrs}
        for layer, x in data.items():
            if len(x) != len(labels):
                raise UserError(f"{name}: layer '{layer}' has {len(x)} samples but {len(labels)} labels")
            if not np.issubdtype(x.dtype, np.floating):
                data[layer] = x = x.astype(np.float32)
            if not np.all(np.isfinite(x)):
                raise UserError(f"{name}: layer '{layer}' holds NaN or inf features")
        return cls(name, data, labels, classes, synsets, attrs)

    def write(self, path: str | os.PathLike, *, force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), command: str | None = None) -> None:
        """Write every layer as ``layers/<name>``, with labels, classes (and synsets)."""
        with store.create(path, "features", force=force, command=command, parameters=parameters,
                          inputs=inputs) as f:
            for k, v in self.attrs.items():
                f.attrs[k] = v
            for layer, x in self.layers.items():
                f.create_dataset(f"layers/{layer}", data=x)
            f.create_dataset("labels", data=np.asarray(self.labels, dtype=np.int64))
            store.write_strings(f, "classes", self.classes)
            if self.synsets is not None:
                store.write_strings(f, "synsets", self.synsets)


def read_layer(path: str | os.PathLike, layer: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features (N, ...), labels (N,), classes) of one layer of a features file."""
    feats = Features.read(path, [layer])
    return feats.layers[layer], feats.labels, feats.classes
