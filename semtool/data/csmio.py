"""Reading and writing what csm / sai / idm / wsi / train exchange: csm files, predictions, class lists.

One place for "a csm file -> (matrix or stack, classes, epochs)", "a csm file -> a reference
matrix in a given class order" (``train --track-against``, ``attack --csm``), "a predictions
file -> (labels, predictions per ε, classes, ε)", and the class-name sources of ``--classes``.
Library code (commands and engines alike import it; it imports no CLI). Every validation
error is one :class:`~semtool.errors.UserError` line naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError
from semtool.measure.align import check_unique, take_classes
from semtool.measure.csm import check_csm
from semtool.store._io import HDF5_SIGNATURE


@dataclass
class Csm:
    """A csm file's contents: ``matrix`` (C, C) or a stack (E, C, C) with ``epochs``."""

    path: str
    matrix: np.ndarray
    classes: list[str]
    epochs: np.ndarray | None = None
    synsets: list[str] | None = None
    source: str = ""
    measure: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_stack(self) -> bool:
        return self.matrix.ndim == 3


def read_csm(path: str | os.PathLike) -> Csm:
    """Read and validate a csm file (square, ≥ 2 classes, finite, unique class names)."""
    name = store.display_name(path)
    with store.open_file(path, "csm") as f:
        classes = store.read_strings(f["classes"])
        if "matrices" in f:
            m = f["matrices"][...]
            if m.ndim != 3:
                raise UserError(f"{name}: 'matrices' has shape {m.shape}, expected (E, C, C)")
            epochs = f["epochs"][...].astype(np.float64) if "epochs" in f else np.arange(m.shape[0], dtype=np.float64)
            if epochs.shape != (m.shape[0],):
                raise UserError(f"{name}: {m.shape[0]} matrices but {epochs.size} epochs")
        elif "matrix" in f:
            m, epochs = f["matrix"][...], None
            if m.ndim != 2:
                raise UserError(f"{name}: 'matrix' has shape {m.shape}, expected (C, C)")
        else:
            raise UserError(f"{name}: 'csm' file holds neither 'matrix' nor 'matrices'")
        synsets = store.read_strings(f["synsets"]) if "synsets" in f else None
        extra = {}
        for key in ("groups", "group_names"):
            if key in f:
                extra[key] = f[key][...] if key == "groups" else store.read_strings(f[key])
        source = str(f.attrs.get("source", ""))
        measure = str(f.attrs.get("measure", ""))
    m = check_csm(m, name)
    if len(classes) != m.shape[-1]:
        raise UserError(f"{name}: {len(classes)} class names for a {m.shape[-1]}×{m.shape[-1]} matrix")
    check_unique(classes, name)
    return Csm(name, m, classes, epochs, synsets, source, measure, extra)


def read_aligned(a_path: str | os.PathLike, b_path: str | os.PathLike, *, intersect: bool = False
                 ) -> tuple[Csm, Csm, np.ndarray, np.ndarray, list[str]]:
    """Two csm files with B's classes in A's order (``intersect``: only the shared ones):
    (A, B, A's matrix, B's matrix, classes) -- what ``sai`` compares."""
    from semtool.measure.align import align

    a, b = read_csm(a_path), read_csm(b_path)
    ia, ib, classes = align(a.classes, b.classes, intersect=intersect, names=(a.path, b.path))
    return a, b, take_classes(a.matrix, ia), take_classes(b.matrix, ib), classes


def read_reference(path: str | os.PathLike, classes: Sequence[str], *,
                   option: str = "--track-against") -> tuple[str, np.ndarray]:
    """A csm file's single matrix reordered to ``classes`` (matched by name), and its name (the stem).

    The file may hold more classes than ``classes`` (the extra rows and columns are dropped),
    not fewer; a stack of matrices is refused (``option`` names the option in that message).
    """
    ref = read_csm(path)
    if ref.is_stack:
        raise UserError(f"{ref.path}: {option} needs a csm file with one 'matrix', not a stack")
    pos = {c: i for i, c in enumerate(ref.classes)}
    missing = [c for c in classes if c not in pos]
    if missing:
        raise UserError(f"{ref.path}: lacks training classes {', '.join(missing[:5])}"
                        + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""))
    idx = np.array([pos[c] for c in classes], dtype=np.int64)
    return Path(str(path)).stem, take_classes(ref.matrix, idx)


def write_csm(path: str | os.PathLike, matrix: np.ndarray, classes: Sequence[str], *, source: str,
              measure: str, epochs: np.ndarray | None = None, synsets: Sequence[str] | None = None,
              groups: Sequence[int] | None = None, group_names: Sequence[str] | None = None,
              force: bool = False, parameters: dict[str, Any] | None = None,
              inputs: Sequence[str | os.PathLike] = (), command: str | None = None) -> None:
    """Write a csm file: ``matrix`` (C, C), or ``matrices`` (E, C, C) with ``epochs``."""
    matrix = np.asarray(matrix, dtype=np.float64)
    with store.create(path, "csm", force=force, parameters=parameters, inputs=inputs,
                      command=command or f"csm {source}") as f:
        if matrix.ndim == 3:
            f.create_dataset("matrices", data=matrix)
            f.create_dataset("epochs", data=np.asarray(epochs, dtype=np.float64))
        else:
            f.create_dataset("matrix", data=matrix)
        store.write_strings(f, "classes", classes)
        if synsets is not None:
            store.write_strings(f, "synsets", synsets)
        if groups is not None:
            f.create_dataset("groups", data=np.asarray(groups, dtype=np.int64))
        if group_names is not None:
            store.write_strings(f, "group_names", group_names)
        f.attrs["source"] = source
        f.attrs["measure"] = measure


# ----------------------------------------------------------------------------- predictions
@dataclass
class Predictions:
    """A predictions file: ``predicted`` (E, N) int64 (E = 1 without an ε axis)."""

    path: str
    labels: np.ndarray
    predicted: np.ndarray
    classes: list[str]
    epsilons: np.ndarray | None
    extra: dict[str, Any] = field(default_factory=dict)


def read_predictions(path: str | os.PathLike) -> Predictions:
    """Labels, per-ε predicted classes (argmax of the logits when no 'predictions'), classes."""
    name = store.display_name(path)
    with store.open_file(path, "predictions") as f:
        classes = store.read_strings(f["classes"])
        labels = f["labels"][...].astype(np.int64).reshape(-1)
        eps = f["epsilons"][...].astype(np.float64).reshape(-1) if "epsilons" in f else None
        if "predictions" in f:
            pred = f["predictions"][...].astype(np.int64)
        elif "logits" in f:
            logits = f["logits"][...]
            if logits.shape[-1] != len(classes):
                raise UserError(f"{name}: logits for {logits.shape[-1]} classes, {len(classes)} class names")
            pred = logits.argmax(axis=-1).astype(np.int64)
        else:
            raise UserError(f"{name}: 'predictions' file holds neither 'predictions' nor 'logits'")
        extra = {}
        for key in ("groups", "group_names", "visual_groups", "visual_group_names"):
            if key in f:
                extra[key] = f[key][...] if key.endswith("groups") else store.read_strings(f[key])
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
    return Predictions(name, labels, pred, classes, eps, extra)


def pick_epsilon(p: Predictions, epsilon: float | None) -> int:
    """Row of ``p.predicted`` for ``--epsilon``: default the clean one (ε = 0) or the only one."""
    if p.epsilons is None:
        if epsilon is not None:
            raise UserError(f"--epsilon: {p.path} has no ε axis (clean predictions only)")
        return 0
    have = ", ".join(f"{e:g}" for e in p.epsilons)
    if epsilon is None:
        if p.epsilons.size == 1:
            return 0
        zero = np.flatnonzero(p.epsilons == 0)
        if zero.size:
            return int(zero[0])
        raise UserError(f"{p.path}: holds several ε ({have}); choose one with --epsilon")
    hit = np.flatnonzero(np.isclose(p.epsilons, epsilon, rtol=1e-9, atol=1e-12))
    if not hit.size:
        raise UserError(f"--epsilon: {p.path} has no ε = {epsilon:g} (it has {have})")
    return int(hit[0])


# ----------------------------------------------------------------------------- class lists
def read_class_list(path: str | os.PathLike) -> list[str]:
    """Class names from a text file (one per line, '#' comments) or any semtool file with ``classes``;
    ``'-'`` reads either from stdin."""
    p = Path(path)
    stdin = str(path) == "-"
    if not stdin and not p.is_file():
        raise UserError(f"{p}: no such file")
    raw = store.read_stdin() if stdin else None
    if (raw[:8] == HDF5_SIGNATURE) if stdin else _is_hdf5(p):
        with store.open_file(path) as f:
            if "classes" not in f:
                raise UserError(f"{store.display_name(path)}: a '{f.attrs['semtool_kind']}' file holds no class "
                                "names; give an imageset, csm, predictions or features file, or a text file "
                                "with one name per line")
            names = store.read_strings(f["classes"])
    else:
        try:
            text = raw.decode("utf-8") if stdin else p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UserError(f"{store.display_name(path)}: neither an HDF5 file nor UTF-8 text with one class "
                            "name per line") from None
        names = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
        names = [n for n in names if n]
    if len(names) < 2:
        raise UserError(f"{store.display_name(path)}: {len(names)} class name(s); at least 2 are needed")
    check_unique(names, store.display_name(path))
    return names


def read_class_info(path: str | os.PathLike, kinds: Sequence[str]) -> dict[str, Any]:
    """classes, and synsets / groups / visual groups when present, of a semtool file."""
    out: dict[str, Any] = {}
    name = store.display_name(path)
    with store.open_file(path, tuple(kinds)) as f:
        out["kind"] = str(f.attrs["semtool_kind"])
        out["classes"] = store.read_strings(f["classes"])
        for key in ("synsets", "group_names", "visual_group_names"):
            if key in f:
                out[key] = store.read_strings(f[key])
        for key in ("groups", "visual_groups"):
            if key in f:
                out[key] = f[key][...].astype(np.int64)
    check_unique(out["classes"], name)
    return out


def _is_hdf5(p: Path) -> bool:
    with open(p, "rb") as fh:
        return fh.read(8) == HDF5_SIGNATURE


def is_hdf5_path(path: str | os.PathLike) -> bool:
    p = Path(path)
    return str(path) == "-" or (p.is_file() and _is_hdf5(p))
