"""Matching classes by name between files: index arrays only, no I/O.

Two CSMs (or a CSM and a predictions file) describe the same classes only if their names
agree; the order may differ. :func:`align` gives, for a reference order, where each class
sits in the other file, so matrices can be reordered with :func:`take_classes`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from semtool.errors import UserError


def check_unique(classes: Sequence[str], name: str) -> None:
    """Duplicate class names make matching by name ambiguous: an error naming them."""
    seen: set[str] = set()
    dup = [c for c in classes if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    if dup:
        shown = ", ".join(sorted(set(dup))[:5])
        raise UserError(f"{name}: duplicate class names ({shown})")


def _list(names: Sequence[str], n: int = 5) -> str:
    names = list(names)
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def align(ref: Sequence[str], other: Sequence[str], *, intersect: bool = False,
          names: tuple[str, str] = ("A", "B")) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Indices matching ``other``'s classes to ``ref``'s order.

    Returns ``(idx_ref, idx_other, classes)`` with ``ref[idx_ref[k]] == other[idx_other[k]]
    == classes[k]``, in ``ref``'s order. Without ``intersect`` both must hold the same set
    of names (any order); with it, the shared names are kept (at least 2).
    """
    check_unique(ref, names[0])
    check_unique(other, names[1])
    pos = {c: i for i, c in enumerate(other)}
    shared = [c for c in ref if c in pos]
    if not intersect:
        missing = [c for c in ref if c not in pos]
        extra = [c for c in other if c not in set(ref)]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"lacks {_list(missing)}")
            if extra:
                parts.append(f"has extra {_list(extra)}")
            raise UserError(f"{names[1]}: classes differ from {names[0]}'s ({'; '.join(parts)}); "
                            "intersect=True compares the shared classes", parameter="intersect")
    if len(shared) < 2:
        raise UserError(f"{names[1]}: shares {len(shared)} class name(s) with {names[0]}; at least 2 are needed")
    ref_pos = {c: i for i, c in enumerate(ref)}
    idx_ref = np.array([ref_pos[c] for c in shared], dtype=np.int64)
    idx_other = np.array([pos[c] for c in shared], dtype=np.int64)
    return idx_ref, idx_other, shared


def check_same_classes(expected: Sequence[str], found: Sequence[str], what: str, against: str) -> None:
    """UserError unless two class lists are identical (names and order): a model's output
    units, or a training set's labels, mean nothing for another class order."""
    if list(expected) != list(found):
        missing = [c for c in expected if c not in found]
        extra = [c for c in found if c not in expected]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing[:3])}")
        if extra:
            detail.append(f"extra {', '.join(extra[:3])}")
        if not detail:
            detail.append("same names in a different order")
        raise UserError(f"{what}: its {len(found)} classes differ from {against}'s {len(expected)} ({'; '.join(detail)})")


def align_many(class_lists: Sequence[Sequence[str]], *, intersect: bool = False,
               names: Sequence[str] | None = None) -> tuple[list[np.ndarray], list[str]]:
    """Indices putting every list into the first one's order (shared names with ``intersect``)."""
    names = list(names) if names is not None else [f"input {i + 1}" for i in range(len(class_lists))]
    ref = list(class_lists[0])
    check_unique(ref, names[0])
    if intersect:
        keep = set(ref)
        for cl in class_lists[1:]:
            keep &= set(cl)
        ref = [c for c in ref if c in keep]
    out = []
    for cl, nm in zip(class_lists, names):
        _, idx, shared = align(ref, cl, intersect=intersect, names=(names[0], nm))
        out.append(idx)
    return out, ref


def take_classes(m: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows and columns ``idx`` of a (C, C) matrix or (E, C, C) stack."""
    m = np.asarray(m)
    return m[..., idx, :][..., :, idx]


def is_identity(idx: np.ndarray, n: int) -> bool:
    return len(idx) == n and bool(np.all(idx == np.arange(n)))
