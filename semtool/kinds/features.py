"""The ``features`` kind: one dataset per layer ``layers/<name>`` (N, …), labels, classes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError
from semtool.kinds._rows import RowFile

#: The pixel-level baseline layer's name (``features --layers pixels``): flattened images, never pooled.
PIXELS = "pixels"


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
            attrs = {k: f.attrs[k] for k in ("pool", "class_token") if k in f.attrs}
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
            f.create_group("layers", track_order=True)  # file order = the layers' order
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


def pick_layer(path: str | os.PathLike, layer: str | None) -> str:
    """``layer`` of a features file (checked), or its only layer when None."""
    names = layer_names(path)
    name = store.display_name(path)
    if not names:
        raise UserError(f"{name}: features file holds no layers")
    if layer is None:
        if len(names) != 1:
            raise UserError(f"layer: {name} holds {len(names)} layers ({', '.join(names[:8])}); choose one",
                            parameter="layer")
        return names[0]
    if layer not in names:
        raise UserError(f"{name}: no layer '{layer}' (layers: {', '.join(names)})")
    return layer


class FeaturesWriter:
    """A features file written batch by batch (``semtool features``): :meth:`add` each batch's layers.

    Open it with ``with FeaturesWriter(path, n, labels=…, classes=…) as w``; each layer's
    dataset (N, …) is created, chunked, at its first batch. ``resume=None`` writes the file
    atomically at the end; ``resume`` False/True writes it through a partial file that
    ``--resume`` continues (:mod:`semtool.kinds._rows`): :meth:`done` gives the rows an
    interrupted run finished, :meth:`mark_done` vouches for rows written.
    """

    def __init__(self, path: str | os.PathLike, n: int, *, labels: np.ndarray, classes: Sequence[str],
                 synsets: Sequence[str] | None = None, pool: str = "mean", batch_size: int = 64,
                 force: bool = False, parameters: dict[str, Any] | None = None,
                 inputs: Sequence[str | os.PathLike] = (), command: str | None = "features",
                 class_token: bool | None = None, resume: bool | None = None) -> None:
        self.rows = RowFile(path, "features", n, resume=resume, force=force, command=command,
                            parameters=parameters, inputs=inputs)
        self.n, self.pool, self.batch_size = n, pool, batch_size
        self.class_token = class_token  # whether the network prepends one (what `csm tncsm --pool cls` checks)
        self._meta = (labels, list(classes), None if synsets is None else list(synsets))

    def __enter__(self) -> "FeaturesWriter":
        self.f = self.rows.open()
        if not self.rows.fresh:
            return self
        labels, classes, synsets = self._meta
        self.f.attrs["pool"] = self.pool
        if self.class_token is not None:
            self.f.attrs["class_token"] = self.class_token
        self.f.create_group("layers", track_order=True)  # file order = the order chosen (pixels first)
        self.f.create_dataset("labels", data=np.asarray(labels))
        store.write_strings(self.f, "classes", classes)
        if synsets is not None:
            store.write_strings(self.f, "synsets", synsets)
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self.rows.close(exc)

    def done(self) -> np.ndarray:
        """(N,) bool: the rows an interrupted run finished (all False for a new file)."""
        return self.rows.done()

    def mark_done(self, start: int, stop: int) -> None:
        self.rows.mark_done(start, stop)

    def add(self, start: int, layers: dict[str, np.ndarray]) -> None:
        """Rows ``start …`` of each layer."""
        for name, arr in layers.items():
            key = f"layers/{name}"
            if key not in self.f:
                rows = max(1, min(self.batch_size, self.n, (1 << 20) // max(1, arr[0].nbytes)))
                ds = self.f.create_dataset(key, shape=(self.n,) + arr.shape[1:], dtype=arr.dtype,
                                           chunks=(rows,) + arr.shape[1:])
                ds.attrs["pool"] = "flatten" if name == PIXELS else self.pool
            self.f[key][start:start + arr.shape[0]] = arr
