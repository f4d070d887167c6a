"""What csm / sai / idm / wsi / train exchange beyond the records: reference CSMs and class lists.

The records themselves (:class:`~semtool.kinds.Csm`, :class:`~semtool.kinds.Predictions`)
live in :mod:`semtool.kinds`; ``read_csm``, ``write_csm`` and ``read_predictions`` here are
their one-call forms. This module adds "a csm file -> a reference matrix in a given class
order" (``train --track-against``, ``attack --csm``) and the class-name sources of ``--classes``.
Library code (commands and engines alike import it; it imports no CLI). Every validation
error is one :class:`~semtool.errors.UserError` line naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError
from semtool.kinds import Csm, Grouping, Predictions
from semtool.kinds.predictions import pick_epsilon
from semtool.measure.align import check_unique, take_classes
from semtool.store import HDF5_SIGNATURE

__all__ = ["Csm", "Predictions", "is_hdf5_path", "pick_epsilon", "read_class_info", "read_class_list", "read_csm",
           "read_predictions", "read_reference", "write_csm"]


def read_csm(path: str | os.PathLike) -> Csm:
    """Read and validate a csm file (square, ≥ 2 classes, finite, unique class names): :meth:`Csm.read`."""
    return Csm.read(path)


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
    """Write a csm file: ``matrix`` (C, C), or ``matrices`` (E, C, C) with ``epochs`` (:meth:`Csm.write`)."""
    Csm(str(path), np.asarray(matrix, dtype=np.float64), list(classes), epochs,
        None if synsets is None else list(synsets), source, measure, Grouping.of(groups, group_names)).write(
        path, force=force, parameters=parameters, inputs=inputs, command=command)


# ----------------------------------------------------------------------------- predictions
def read_predictions(path: str | os.PathLike) -> Predictions:
    """Labels, per-ε predicted classes (argmax of the logits when no 'predictions'), classes: :meth:`Predictions.read`."""
    return Predictions.read(path)


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
