"""The Similarity Alignment Index between two class similarity matrices (Filus et al.).

SAI(A, B): drop the diagonal of both (C, C) matrices (reshape to C × (C−1)), min–max
normalise each globally to [0, 1], then compare them with one measure:

* ``cosine``: <a, b> / (|a| |b|) of the flattened matrices (default; 1 = aligned);
* ``ssim``: structural similarity with scikit-image's defaults (7×7 uniform window,
  K1 = 0.01, K2 = 0.03, data range 1, sample covariance, mean over the valid region);
* ``mse`` / ``mae``: mean squared / absolute difference (0 = aligned).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from semtool.errors import UserError


def drop_diagonal(m: np.ndarray) -> np.ndarray:
    """(…, C, C) -> (…, C, C−1): each row without its diagonal element."""
    m = np.asarray(m, dtype=np.float64)
    c = m.shape[-1]
    if m.ndim < 2 or m.shape[-2] != c:
        raise UserError(f"expected a square matrix, got shape {m.shape}")
    if c < 2:
        raise UserError(f"a {c}×{c} matrix has no off-diagonal elements to compare")
    mask = ~np.eye(c, dtype=bool)
    return m[..., mask].reshape(*m.shape[:-2], c, c - 1)


def minmax(x: np.ndarray, *, name: str = "the matrix") -> np.ndarray:
    """Global min–max normalisation to [0, 1]: (x − min x) / (max x − min x).

    A constant matrix has no range: an error naming ``name``.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise UserError(f"{name}: holds NaN or inf values")
    lo, hi = x.min(), x.max()
    if hi == lo:
        raise UserError(f"{name}: constant off the diagonal ({lo:g}), so min–max normalisation is undefined")
    return (x - lo) / (hi - lo)


def _box_mean_valid(x: np.ndarray, w: int) -> np.ndarray:
    """Mean over every w×w window lying fully inside x (an integral image)."""
    s = np.zeros((x.shape[0] + 1, x.shape[1] + 1))
    s[1:, 1:] = x.cumsum(0).cumsum(1)
    return (s[w:, w:] - s[:-w, w:] - s[w:, :-w] + s[:-w, :-w]) / (w * w)


def ssim(a: np.ndarray, b: np.ndarray, *, win_size: int = 7, k1: float = 0.01, k2: float = 0.03,
         data_range: float = 1.0) -> float:
    """Mean structural similarity (Wang et al. 2004) exactly as scikit-image computes it.

    ``skimage.metrics.structural_similarity(a, b, data_range=1)``: uniform win_size²
    window, sample covariance (N/(N−1)), mean over the region not touched by padding.
    Only windows fully inside the image count, so no padding is needed here.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if min(a.shape) < win_size:
        raise UserError(f"SSIM needs matrices of at least {win_size}×{win_size} off the diagonal "
                        f"(≥ {win_size + 1} classes); got {a.shape[0]}×{a.shape[1]}")
    n = win_size * win_size
    cov_norm = n / (n - 1)
    ux, uy = _box_mean_valid(a, win_size), _box_mean_valid(b, win_size)
    uxx, uyy, uxy = _box_mean_valid(a * a, win_size), _box_mean_valid(b * b, win_size), _box_mean_valid(a * b, win_size)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux ** 2 + uy ** 2 + c1) * (vx + vy + c2))
    return float(s.mean())


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    # <a, b> / sqrt(<a, a> <b, b>): exactly 1 for identical inputs (sqrt(fl(x²)) == x)
    a, b = a.reshape(-1), b.reshape(-1)
    return float((a @ b) / np.sqrt((a @ a) * (b @ b)))


SAI_MEASURES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "cosine": _cosine,
    "ssim": ssim,
    "mse": lambda a, b: float(np.mean((a - b) ** 2)),
    "mae": lambda a, b: float(np.mean(np.abs(a - b))),
}


def sai(a: np.ndarray, b: np.ndarray, measure: str = "cosine", *,
        names: tuple[str, str] = ("A", "B")) -> float | np.ndarray:
    """Similarity Alignment Index of two CSMs (Filus et al.).

    SAI(A, B) = m(N(A'), N(B')), A' the (C, C−1) matrix without its diagonal, N the global
    min–max normalisation and m one of :data:`SAI_MEASURES`.

    Parameters
    ----------
    a, b : (C, C) or (E, C, C) arrays, rows/columns in the same class order.
        A stack against one matrix compares every epoch with it; two stacks must have
        the same length E.
    measure : "cosine" | "ssim" | "mse" | "mae"
    names : how errors name the two inputs (file names from the CLI).

    Returns
    -------
    float, or (E,) float64 for stacks.
    """
    if measure not in SAI_MEASURES:
        raise UserError(f"--measure: expected one of {', '.join(SAI_MEASURES)}, got '{measure}'")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape[-2:] != b.shape[-2:]:
        raise UserError(f"{names[1]}: a {b.shape[-1]}-class matrix against {names[0]}'s {a.shape[-1]} classes")
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        raise UserError(f"{names[1]}: a stack of {b.shape[0]} matrices against {names[0]}'s stack of {a.shape[0]}")
    fn = SAI_MEASURES[measure]
    na, nb = normalised(a, name=names[0]), normalised(b, name=names[1])
    if na.ndim == 2 and nb.ndim == 2:
        return fn(na, nb)
    aa = na if na.ndim == 3 else np.broadcast_to(na, (nb.shape[0],) + na.shape)
    bb = nb if nb.ndim == 3 else np.broadcast_to(nb, (na.shape[0],) + nb.shape)
    return np.array([fn(x, y) for x, y in zip(aa, bb)])


def normalised(m: np.ndarray, *, name: str = "the matrix") -> np.ndarray:
    """(C, C) -> (C, C−1) without the diagonal, min–max normalised; stacks per matrix.

    What SAI compares; ``sai --all-pairs`` computes it once per file.
    """
    off = drop_diagonal(m)
    if off.ndim == 2:
        return minmax(off, name=name)
    return np.stack([minmax(x, name=f"{name} (matrix {e})") for e, x in enumerate(off)])


def sai_normalised(na: np.ndarray, nb: np.ndarray, measure: str = "cosine") -> float:
    """SAI of two already :func:`normalised` (C, C−1) matrices."""
    return SAI_MEASURES[measure](na, nb)


def pairwise_sai(normed: Sequence[np.ndarray], measure: str = "cosine") -> np.ndarray:
    """SAI of every pair of :func:`normalised` (C, C−1) matrices -> (F, F) float64.

    Cosine, MSE and MAE on all pairs at once (one matrix product for cosine); SSIM per pair.
    """
    if measure not in SAI_MEASURES:
        raise UserError(f"--measure: expected one of {', '.join(SAI_MEASURES)}, got '{measure}'")
    x = np.stack([np.asarray(m, dtype=np.float64).reshape(-1) for m in normed])
    f = x.shape[0]
    if measure == "cosine":
        g = x @ x.T
        d = np.diag(g).copy()
        return g / np.sqrt(d[:, None] * d[None, :])
    out = np.empty((f, f))
    if measure in ("mse", "mae"):
        power = 2 if measure == "mse" else 1
        for i in range(f):
            d = np.abs(x[i:] - x[i]) ** power
            out[i, i:] = out[i:, i] = d.mean(axis=1)
        return out
    for i in range(f):
        for j in range(i, f):
            out[i, j] = out[j, i] = SAI_MEASURES[measure](normed[i], normed[j])
    return out


def sai_null(a: np.ndarray, b: np.ndarray, measure: str = "cosine", *, permutations: int = 100,
             seed: int = 0) -> np.ndarray:
    """SAI of ``a`` against ``b`` with B's classes shuffled: the chance level of :func:`sai`.

    Each draw relabels B's classes by one permutation π (rows and columns together,
    B[π][:, π]) and computes SAI(A, B_π): what SAI reads when the two matrices share the
    value distribution but no class structure. Min–max normalised matrices are non-negative,
    so this level is well above 0 for the cosine; compare a SAI with it, not with 0.

    Parameters
    ----------
    a, b : (C, C) arrays in the same class order.
    permutations : number of draws.
    seed : seeds numpy's default generator.

    Returns
    -------
    (permutations,) float64
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    rng = np.random.default_rng(seed)
    fn = SAI_MEASURES[measure]
    na = normalised(a)
    out = np.empty(permutations)
    for i in range(permutations):
        p = rng.permutation(b.shape[0])
        out[i] = fn(na, normalised(b[np.ix_(p, p)]))
    return out
