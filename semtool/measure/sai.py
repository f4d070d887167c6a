"""The Similarity Alignment Index between two class similarity matrices (Filus et al.).

SAI(A, B): drop the diagonal of both (C, C) matrices (reshape to C × (C−1)), min–max
normalise each globally to [0, 1], then compare them with one measure:

* ``cosine``: <a, b> / (|a| |b|) of the flattened matrices (default; 1 = aligned);
* ``ssim``: structural similarity with scikit-image's defaults (7×7 uniform window,
  K1 = 0.01, K2 = 0.03, data range 1, sample covariance, mean over the valid region);
* ``mse`` / ``mae``: mean squared / absolute difference (0 = aligned).
"""

from __future__ import annotations

from typing import Callable

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


def minmax(x: np.ndarray) -> np.ndarray:
    """Global min–max normalisation to [0, 1]; a constant matrix is an error."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise UserError("the matrix holds NaN or inf values")
    lo, hi = x.min(), x.max()
    if hi == lo:
        raise UserError(f"the matrix is constant off the diagonal ({lo:g}): min–max normalisation is undefined")
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
    a, b = a.reshape(-1), b.reshape(-1)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb))


SAI_MEASURES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "cosine": _cosine,
    "ssim": ssim,
    "mse": lambda a, b: float(np.mean((a - b) ** 2)),
    "mae": lambda a, b: float(np.mean(np.abs(a - b))),
}


def sai(a: np.ndarray, b: np.ndarray, measure: str = "cosine") -> float | np.ndarray:
    """Similarity Alignment Index of two CSMs (C, C); stacks (E, C, C) give (E,) values.

    A stack against one matrix compares every epoch with that matrix; two stacks must
    have the same length.
    """
    if measure not in SAI_MEASURES:
        raise UserError(f"--measure: expected one of {', '.join(SAI_MEASURES)}, got '{measure}'")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape[-2:] != b.shape[-2:]:
        raise UserError(f"matrices of different sizes: {a.shape[-2:]} and {b.shape[-2:]}")
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        raise UserError(f"a stack of {a.shape[0]} matrices against a stack of {b.shape[0]}")
    fn = SAI_MEASURES[measure]
    if a.ndim == 2 and b.ndim == 2:
        return fn(minmax(drop_diagonal(a)), minmax(drop_diagonal(b)))
    aa = a if a.ndim == 3 else np.broadcast_to(a, (b.shape[0],) + a.shape)
    bb = b if b.ndim == 3 else np.broadcast_to(b, (a.shape[0],) + b.shape)
    return np.array([fn(minmax(drop_diagonal(x)), minmax(drop_diagonal(y))) for x, y in zip(aa, bb)])
