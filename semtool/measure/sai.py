"""The Similarity Alignment Index between two class similarity matrices (Filus et al.).

SAI(A, B): drop the diagonal of both (C, C) matrices (reshape to C × (C−1)), min–max
normalise each globally to [0, 1], then compare them with one measure:

* ``cosine``: <a, b> / (|a| |b|) of the flattened matrices (default; 1 = aligned);
* ``ssim``: structural similarity with scikit-image's defaults (7×7 uniform window,
  K1 = 0.01, K2 = 0.03, data range 1, sample covariance, mean over the valid region).
  Filus et al. do not state the window; ``ssim_window="gaussian"`` takes Wang et al.'s
  (2004) 11×11 Gaussian window of σ 1.5 with population covariance (scikit-image's
  ``gaussian_weights=True, use_sample_covariance=False``; ≥ 12 classes);
* ``mse`` / ``mae``: mean squared / absolute difference (0 = aligned).

References
----------
Filus, K., et al. Deep Similarity Inspector: class similarity matrices (NCSM, CCSM,
TNCSM, WordNet CSM), the Similarity Alignment Index, the Index of Decision Mistakes and
the Weight Similarity Indices.
Wang, Z., Bovik, A. C., Sheikh, H. R., Simoncelli, E. P. (2004). Image quality
assessment: from error visibility to structural similarity. IEEE Transactions on Image
Processing 13(4), 600–612 (SSIM).
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


def _gaussian_mean_valid(x: np.ndarray, sigma: float, radius: int) -> np.ndarray:
    """Gaussian-weighted mean over every (2r+1)² window fully inside x (weights sum to 1)."""
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * t * t / (sigma * sigma))
    k /= k.sum()
    rows = np.lib.stride_tricks.sliding_window_view(x, k.size, axis=0) @ k
    return np.lib.stride_tricks.sliding_window_view(rows, k.size, axis=1) @ k


SSIM_WINDOWS = {
    "uniform": "scikit-image's default: 7×7 uniform window, sample covariance",
    "gaussian": "Wang et al. (2004): 11×11 Gaussian window, σ 1.5, population covariance",
}


def ssim(a: np.ndarray, b: np.ndarray, *, win_size: int = 7, k1: float = 0.01, k2: float = 0.03,
         data_range: float = 1.0, window: str = "uniform") -> float:
    """Mean structural similarity (Wang et al. 2004) exactly as scikit-image computes it.

    ``window="uniform"``: ``skimage.metrics.structural_similarity(a, b, data_range=1)``,
    a uniform win_size² window, sample covariance (N/(N−1)). ``window="gaussian"``: as
    ``structural_similarity(a, b, data_range=1, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False)``, Wang et al.'s 11×11 window (σ 1.5, truncated at 3.5σ),
    and ``win_size`` is not used. Either way the mean is over the region not touched by
    padding: only windows fully inside the image count, so no padding is needed here.
    """
    if window not in SSIM_WINDOWS:
        raise UserError(f"ssim window: expected one of {', '.join(SSIM_WINDOWS)}, got '{window}'")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if window == "gaussian":
        sigma, radius = 1.5, int(3.5 * 1.5 + 0.5)
        win_size = 2 * radius + 1

        def mean(x: np.ndarray) -> np.ndarray:
            return _gaussian_mean_valid(x, sigma, radius)
        cov_norm = 1.0
    else:
        def mean(x: np.ndarray) -> np.ndarray:
            return _box_mean_valid(x, win_size)
        cov_norm = win_size * win_size / (win_size * win_size - 1)
    if min(a.shape) < win_size:
        raise UserError(f"SSIM needs matrices of at least {win_size}×{win_size} off the diagonal "
                        f"(≥ {win_size + 1} classes); got {a.shape[0]}×{a.shape[1]}")
    ux, uy = mean(a), mean(b)
    uxx, uyy, uxy = mean(a * a), mean(b * b), mean(a * b)
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


def check_measure(measure: str) -> None:
    """A UserError unless ``measure`` names one of :data:`SAI_MEASURES`."""
    if measure not in SAI_MEASURES:
        raise UserError(f"measure: expected one of {', '.join(SAI_MEASURES)}, got '{measure}'", parameter="measure")


def _measure_fn(measure: str, ssim_window: str) -> Callable[[np.ndarray, np.ndarray], float]:
    check_measure(measure)
    if ssim_window not in SSIM_WINDOWS:
        raise UserError(f"ssim_window: expected one of {', '.join(SSIM_WINDOWS)}, got '{ssim_window}'",
                        parameter="ssim_window")
    if measure == "ssim" and ssim_window != "uniform":
        return lambda x, y: ssim(x, y, window=ssim_window)
    return SAI_MEASURES[measure]


def sai(a: np.ndarray, b: np.ndarray, measure: str = "cosine", *,
        names: tuple[str, str] = ("A", "B"), ssim_window: str = "uniform") -> float | np.ndarray:
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
    ssim_window : "uniform" (scikit-image's default) or "gaussian" (Wang et al. 2004), see :data:`SSIM_WINDOWS`.

    Returns
    -------
    float, or (E,) float64 for stacks.
    """
    fn = _measure_fn(measure, ssim_window)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape[-2:] != b.shape[-2:]:
        raise UserError(f"{names[1]}: a {b.shape[-1]}-class matrix against {names[0]}'s {a.shape[-1]} classes")
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        raise UserError(f"{names[1]}: a stack of {b.shape[0]} matrices against {names[0]}'s stack of {a.shape[0]}")
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


def sai_normalised(na: np.ndarray, nb: np.ndarray, measure: str = "cosine", *, ssim_window: str = "uniform") -> float:
    """SAI of two already :func:`normalised` (C, C−1) matrices."""
    return _measure_fn(measure, ssim_window)(na, nb)


def pairwise_sai(normed: Sequence[np.ndarray], measure: str = "cosine", *, ssim_window: str = "uniform") -> np.ndarray:
    """SAI of every pair of :func:`normalised` (C, C−1) matrices -> (F, F) float64.

    Cosine, MSE and MAE on all pairs at once (one matrix product for cosine); SSIM per pair.
    """
    fn = _measure_fn(measure, ssim_window)
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
            out[i, j] = out[j, i] = fn(normed[i], normed[j])
    return out
