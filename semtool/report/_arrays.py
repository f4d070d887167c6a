"""Array helpers of the figures: colour scales, class orders, matching classes by name.

Plain functions on arrays, tested on their own; the normalisation and the matching are
:mod:`semtool.measure`'s (what SAI compares, how files' classes are aligned).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def offdiag_limits(matrices: Sequence[np.ndarray]) -> tuple[float, float]:
    """One colour scale (vmin, vmax) for all matrices: the range of their finite off-diagonal values.

    The diagonal (self-similarity, 1 by construction) is left out, as every CSM comparison
    leaves it out, so that it does not wash out the structure. (0, 1) when nothing is finite.
    """
    vals = []
    for m in matrices:
        m = np.asarray(m, dtype=np.float64)
        off = m[~np.eye(m.shape[0], dtype=bool)] if m.ndim == 2 and m.shape[0] == m.shape[1] else m.ravel()
        off = off[np.isfinite(off)]
        if off.size:
            vals.append((off.min(), off.max()))
    if not vals:
        return 0.0, 1.0
    lo, hi = min(v[0] for v in vals), max(v[1] for v in vals)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    return float(lo), float(hi)


def minmax_offdiag(m: np.ndarray) -> np.ndarray:
    """Min–max normalise the off-diagonal values to [0, 1] (what SAI compares); diagonal NaN.

    The normalisation is :func:`semtool.measure.sai.minmax` on the finite off-diagonal
    values; a figure still draws what SAI refuses: NaN cells stay NaN (drawn grey) and a
    constant (or all-NaN) off-diagonal maps to 0.
    """
    from semtool.measure.sai import minmax

    m = np.asarray(m, dtype=np.float64).copy()
    np.fill_diagonal(m, np.nan)
    finite = np.isfinite(m)
    if not finite.any() or m[finite].max() == m[finite].min():
        return np.where(np.isnan(m), np.nan, 0.0)
    out = np.full_like(m, np.nan)
    out[finite] = minmax(m[finite])
    return out


def boundaries(sorted_keys: np.ndarray) -> list[int]:
    """Positions where a sorted key changes (where a new group or label begins)."""
    return [int(i) for i in np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1]


def group_order(groups: Sequence[int]) -> tuple[np.ndarray, list[int]]:
    """Classes sorted by group (stable; group −1 last) and where each new group starts.

    Returns ``(order, starts)``: ``order`` (C,) indexes the classes; ``starts`` are the
    positions in ``order`` where a group begins (the first, 0, included).
    """
    g = np.asarray(groups, dtype=np.int64).reshape(-1)
    key = np.where(g < 0, np.iinfo(np.int64).max, g)
    order = np.argsort(key, kind="stable")
    return order, [0] + boundaries(key[order])


def cluster_order(matrix: np.ndarray) -> np.ndarray:
    """Leaf order of average-linkage clustering on 1 − similarity: similar classes adjacent.

    The matrix is symmetrised ((S + Sᵀ)/2, a CCSM may be asymmetric), its off-diagonal
    values min–max normalised to [0, 1] and turned into distances 1 − s (NaN: distance 1);
    SciPy's ``linkage(method="average", optimal_ordering=True)`` then orders the leaves.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    s = np.asarray(matrix, dtype=np.float64)
    c = s.shape[0]
    if c < 3:
        return np.arange(c)
    s = (s + s.T) / 2.0
    n = minmax_offdiag(s)
    d = 1.0 - np.nan_to_num(n, nan=0.0)
    np.fill_diagonal(d, 0.0)
    z = linkage(squareform(d, checks=False), method="average", optimal_ordering=True)
    return leaves_list(z)


def match_classes(reference: Sequence[str], classes: Sequence[str], name: str) -> np.ndarray:
    """Indices into ``classes`` that put them in the order of ``reference`` (by name)."""
    from semtool.measure.align import align

    _, idx, _ = align(reference, classes, names=("the first file", name))
    return idx
