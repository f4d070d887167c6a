"""The ``predictions`` kind: labels and predicted classes, clean or per L2 PGD radius ε."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError
from semtool.kinds._groups import Grouping, read_groupings, write_groupings
from semtool.measure.align import check_unique


@dataclass
class Predictions:
    """A predictions file: ``predicted`` (E, N) int64 (E = 1 without an ε axis).

    ``logits`` (N, C) or (E, N, C) are read on request (``Predictions.read(path,
    logits=True)``); ``groups`` / ``visual_groups`` are the classes' semantic and visual
    superclasses when the file has them.
    """

    path: str
    labels: np.ndarray
    predicted: np.ndarray
    classes: list[str]
    epsilons: np.ndarray | None = None
    groups: Grouping | None = None
    visual_groups: Grouping | None = None
    synsets: list[str] | None = None
    logits: np.ndarray | None = None
    label: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    #: a targeted attack's target class per ε and image (E, N), when the file has them
    targets: np.ndarray | None = None

    @classmethod
    def read(cls, path: str | os.PathLike, *, logits: bool = False) -> "Predictions":
        """Labels, per-ε predicted classes (argmax of the logits when no 'predictions'), classes, checked."""
        name = store.display_name(path)
        with store.open_file(path, "predictions") as f:
            classes = store.read_strings(f["classes"])
            labels = f["labels"][...].astype(np.int64).reshape(-1)
            eps = f["epsilons"][...].astype(np.float64).reshape(-1) if "epsilons" in f else None
            raw = f["logits"][...] if "logits" in f and (logits or "predictions" not in f) else None
            if raw is not None and raw.shape[-1] != len(classes):
                raise UserError(f"{name}: logits for {raw.shape[-1]} classes, {len(classes)} class names")
            if "predictions" in f:
                pred = f["predictions"][...].astype(np.int64)
            elif raw is not None:
                pred = raw.argmax(axis=-1).astype(np.int64)
            else:
                raise UserError(f"{name}: 'predictions' file holds neither 'predictions' nor 'logits'")
            groupings = read_groupings(f, len(classes), name)
            synsets = store.read_strings(f["synsets"]) if "synsets" in f else None
            label = store.read_attr(f, "label")
            targets = f["targets"][...].astype(np.int64) if "targets" in f else None
        if pred.ndim == 1:
            pred = pred[None, :]
        if pred.ndim != 2 or pred.shape[1] != labels.size:
            raise UserError(f"{name}: predictions of shape {pred.shape} for {labels.size} labels")
        if eps is not None and eps.size != pred.shape[0]:
            raise UserError(f"{name}: {eps.size} epsilons but {pred.shape[0]} rows of predictions")
        c = len(classes)
        for what, arr in (("label", labels), ("prediction", pred)):
            if arr.size and (arr.min() < 0 or arr.max() >= c):
                raise UserError(f"{name}: a {what} lies outside its {c} classes")
        check_unique(classes, name)
        return cls(name, labels, pred, classes, eps, groupings["groups"], groupings["visual_groups"], synsets,
                   raw if logits else None, label, targets=targets)

    def write(self, path: str | os.PathLike, *, force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), command: str | None = None) -> None:
        """Write labels, classes, predictions (and logits, ε, groupings, synsets when present).

        Predictions of one clean pass (E = 1, no ε axis) are written as (N,).
        """
        with store.create(path, "predictions", force=force, command=command, parameters=parameters,
                          inputs=inputs) as f:
            f.create_dataset("labels", data=np.asarray(self.labels, dtype=np.int64))
            store.write_strings(f, "classes", self.classes)
            pred = np.asarray(self.predicted, dtype=np.int64)
            if self.epsilons is not None:
                f.create_dataset("epsilons", data=np.asarray(self.epsilons, dtype=np.float64))
            elif pred.ndim == 2 and pred.shape[0] == 1:
                pred = pred[0]
            if self.logits is not None:
                f.create_dataset("logits", data=self.logits, chunks=True, compression="gzip")
            f.create_dataset("predictions", data=pred)
            if self.targets is not None:
                f.create_dataset("targets", data=np.asarray(self.targets, dtype=np.int64))
            write_groupings(f, self.groups, self.visual_groups)
            if self.synsets is not None:
                store.write_strings(f, "synsets", self.synsets)
            for k, v in self.attrs.items():
                f.attrs[k] = v
            if self.label:
                f.attrs["label"] = self.label


def pick_epsilon(p: Predictions, epsilon: float | None) -> int:
    """Row of ``p.predicted`` for ``--eps``: default the clean one (ε = 0) or the only one."""
    if p.epsilons is None:
        if epsilon is not None:
            raise UserError(f"--eps: {p.path} has no ε axis (clean predictions only)")
        return 0
    have = ", ".join(f"{e:g}" for e in p.epsilons)
    if epsilon is None:
        if p.epsilons.size == 1:
            return 0
        zero = np.flatnonzero(p.epsilons == 0)
        if zero.size:
            return int(zero[0])
        raise UserError(f"{p.path}: holds several ε ({have}); choose one with --eps")
    hit = np.flatnonzero(np.isclose(p.epsilons, epsilon, rtol=1e-9, atol=1e-12))
    if not hit.size:
        raise UserError(f"--eps: {p.path} has no ε = {epsilon:g} (it has {have})")
    return int(hit[0])


class CleanPredictionsWriter:
    """A clean predictions file written batch by batch: logits, softmax probabilities, argmax.

    ``with CleanPredictionsWriter(path, n, labels=…, classes=…) as w: w.add(start, logits)``.
    """

    def __init__(self, path: str | os.PathLike, n: int, *, labels: np.ndarray, classes: Sequence[str],
                 synsets: Sequence[str] | None = None, groups: Grouping | None = None,
                 visual_groups: Grouping | None = None, force: bool = False,
                 parameters: dict[str, Any] | None = None, inputs: Sequence[str | os.PathLike] = (),
                 command: str | None = "features") -> None:
        self._create = store.create(path, "predictions", force=force, command=command, parameters=parameters,
                                    inputs=inputs)
        self.n = n
        self._meta = (labels, list(classes), synsets, groups, visual_groups)

    def __enter__(self) -> "CleanPredictionsWriter":
        self.f = self._create.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        if exc[0] is None:
            labels, classes, synsets, groups, visual_groups = self._meta
            self.f.create_dataset("labels", data=np.asarray(labels))
            store.write_strings(self.f, "classes", classes)
            if synsets is not None:
                store.write_strings(self.f, "synsets", synsets)
            write_groupings(self.f, groups, visual_groups)
        return self._create.__exit__(*exc)

    def add(self, start: int, logits: np.ndarray) -> None:
        """One batch of logits (B, C): stored with their softmax and argmax."""
        f = self.f
        if "logits" not in f:
            c = logits.shape[1]
            f.create_dataset("logits", shape=(self.n, c), dtype=np.float32)
            f.create_dataset("probabilities", shape=(self.n, c), dtype=np.float32)
            f.create_dataset("predictions", shape=(self.n,), dtype=np.int64)
        z = logits - logits.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        stop = start + len(logits)
        f["logits"][start:stop] = logits
        f["probabilities"][start:stop] = p
        f["predictions"][start:stop] = logits.argmax(1)
