"""The ``predictions`` kind: labels and predicted classes, clean or per L2 PGD radius ε."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError
from semtool.kinds._rows import RowFile
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

    ``with CleanPredictionsWriter(path, n, labels=…, classes=…) as w: w.add(start, logits)``;
    ``resume`` as :class:`semtool.kinds.features.FeaturesWriter`'s.
    """

    def __init__(self, path: str | os.PathLike, n: int, *, labels: np.ndarray, classes: Sequence[str],
                 synsets: Sequence[str] | None = None, groups: Grouping | None = None,
                 visual_groups: Grouping | None = None, force: bool = False,
                 parameters: dict[str, Any] | None = None, inputs: Sequence[str | os.PathLike] = (),
                 command: str | None = "features", resume: bool | None = None) -> None:
        self.rows = RowFile(path, "predictions", n, resume=resume, force=force, command=command,
                            parameters=parameters, inputs=inputs)
        self.n = n
        self._meta = (labels, list(classes), synsets, groups, visual_groups)

    def __enter__(self) -> "CleanPredictionsWriter":
        self.f = self.rows.open()
        if self.rows.resume is not None and self.rows.fresh:
            self._write_fixed()  # in the partial file from the start: it must be whole when resumed
        return self

    def _write_fixed(self) -> None:
        labels, classes, synsets, groups, visual_groups = self._meta
        self.f.create_dataset("labels", data=np.asarray(labels))
        store.write_strings(self.f, "classes", classes)
        if synsets is not None:
            store.write_strings(self.f, "synsets", synsets)
        write_groupings(self.f, groups, visual_groups)

    def __exit__(self, *exc: Any) -> Any:
        if exc[0] is None and self.rows.resume is None:
            self._write_fixed()
        return self.rows.close(exc)

    def done(self) -> np.ndarray:
        """(N,) bool: the rows an interrupted run finished (all False for a new file)."""
        return self.rows.done()

    def mark_done(self, start: int, stop: int) -> None:
        self.rows.mark_done(start, stop)

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


class AttackPredictionsWriter:
    """A predictions file with an ε axis (``semtool attack -o``) written batch by batch.

    Holds what :meth:`Predictions.write` writes for an attack (labels, classes, epsilons,
    logits (E, N, C), predictions (E, N), targets (N,) when targeted, groupings, synsets),
    filled by :meth:`add` one batch of rows at a time through a partial file that
    ``--resume`` continues (``resume`` False/True, :mod:`semtool.kinds._rows`). With each
    batch it keeps the attack's random generator state, so a resumed run draws what an
    uninterrupted one would: two slots (``generator_state`` (2, L) and ``generator_rows``
    (2,)), the older one overwritten, so the state that belongs to the rows the ``done`` mask
    vouches for survives a kill between the two flushes.
    """

    def __init__(self, path: str | os.PathLike, *, labels: np.ndarray, classes: Sequence[str],
                 epsilons: Sequence[float], targeted: bool, batch_size: int, synsets: Sequence[str] | None = None,
                 groups: Grouping | None = None, visual_groups: Grouping | None = None, force: bool = False,
                 resume: bool = False, parameters: dict[str, Any] | None = None,
                 inputs: Sequence[str | os.PathLike] = (), command: str | None = "attack",
                 attrs: dict[str, Any] | None = None) -> None:
        self.path = path
        self.n = len(labels)
        self.rows = RowFile(path, "predictions", self.n, resume=resume, force=force, command=command,
                            parameters=parameters, inputs=inputs,
                            bookkeeping=("generator_state", "generator_rows"))
        self._meta = (np.asarray(labels, dtype=np.int64), list(classes), np.asarray(epsilons, dtype=np.float64),
                      None if synsets is None else list(synsets), groups, visual_groups, dict(attrs or {}))
        self.targeted, self.batch_size = targeted, batch_size

    def block(self, path: str | os.PathLike, start: int, stop: int, *, resume: bool,
              force: bool) -> "AttackPredictionsWriter":
        """A writer of rows ``start:stop`` into ``path``, with this one's classes, options and
        provenance (a torchrun rank's part, or the whole file that rank 0 combines the parts into)."""
        labels, classes, epsilons, synsets, groups, visual_groups, attrs = self._meta
        rows = self.rows
        return AttackPredictionsWriter(path, labels=labels[start:stop], classes=classes, epsilons=epsilons,
                                       targeted=self.targeted, batch_size=self.batch_size, synsets=synsets,
                                       groups=groups, visual_groups=visual_groups, force=force, resume=resume,
                                       parameters=rows.parameters, inputs=rows.inputs, command=rows.command,
                                       attrs=attrs)

    @property
    def resume(self) -> bool:
        return bool(self.rows.resume)

    @property
    def force(self) -> bool:
        return self.rows.force

    def __enter__(self) -> "AttackPredictionsWriter":
        self.f = f = self.rows.open()
        if not self.rows.fresh:
            return self
        labels, classes, epsilons, synsets, groups, visual_groups, attrs = self._meta
        e, n, c = len(epsilons), self.n, len(classes)
        f.create_dataset("labels", data=labels)
        store.write_strings(f, "classes", classes)
        f.create_dataset("epsilons", data=epsilons)
        rows = max(1, min(self.batch_size, n, (1 << 18) // max(1, 4 * c)))  # chunks up to 256 KiB
        f.create_dataset("logits", shape=(e, n, c), dtype=np.float32, chunks=(1, rows, max(c, 1)),
                         compression="gzip")
        f.create_dataset("predictions", shape=(e, n), dtype=np.int64, chunks=(e, rows))
        if self.targeted:
            f.create_dataset("targets", shape=(n,), dtype=np.int64)
        write_groupings(f, groups, visual_groups)
        if synsets is not None:
            store.write_strings(f, "synsets", synsets)
        for k, v in attrs.items():
            f.attrs[k] = v
        f.create_dataset("generator_rows", data=np.full(2, -1, dtype=np.int64))
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self.rows.close(exc)

    def first_undone(self) -> int:
        """The first row an interrupted run did not finish (rows are done in order); 0 for a new file."""
        todo = np.flatnonzero(~self.rows.done())
        return int(todo[0]) if todo.size else self.n

    def generator_state(self, rows_done: int) -> np.ndarray | None:
        """The generator's state after the first ``rows_done`` rows (None at 0: a fresh generator)."""
        if rows_done == 0:
            return None
        hit = np.flatnonzero(self.f["generator_rows"][...] == rows_done)
        if not hit.size:
            raise UserError(f"{self.rows.partial}: holds no random generator state for its {rows_done} finished "
                            "rows (damaged); use --force to start over")
        return self.f["generator_state"][int(hit[0])]

    def add(self, start: int, logits: np.ndarray, targets: np.ndarray | None,
            generator_state: np.ndarray | None) -> None:
        """Rows ``start …`` of every ε: logits (E, B, C), their argmax, the targets (B,), and
        the generator's state after them (None: rows copied from finished files, which need
        none); then the ``done`` mask that vouches for them."""
        f = self.f
        stop = start + logits.shape[1]
        f["logits"][:, start:stop] = logits
        f["predictions"][:, start:stop] = logits.argmax(-1)
        if targets is not None:
            f["targets"][start:stop] = targets
        if generator_state is None:
            self.rows.mark_done(start, stop)
            return
        if "generator_state" not in f:
            f.create_dataset("generator_state", shape=(2, generator_state.size), dtype=np.uint8)
        slots = f["generator_rows"][...]
        slot = int(np.argmin(slots))  # the older one
        f["generator_state"][slot] = generator_state
        slots[slot] = stop
        f["generator_rows"][...] = slots
        self.rows.mark_done(start, stop)
