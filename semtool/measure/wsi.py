"""Weight Similarity Indices on the raw-cosine NCSM (Filus et al., Deep Similarity Inspector).

* Mean WSI: the mean of the strict upper triangle;
* Max WSI: the mean over classes of the mean of that class's off-diagonal similarities at
  or above its own ``quantile`` (default 0.95) quantile;
* Min WSI: likewise at or below its ``1 − quantile`` quantile.
Quantiles are NumPy's default (linear interpolation). Filus et al. do not say over which
values a class's quantile is taken: semtool takes it over the class's C − 1 off-diagonal
similarities (its self-similarity of 1 is no neighbour); the alternative, over the whole
row, would put that 1 into every class's Max WSI.

References
----------
Filus, K., et al. Deep Similarity Inspector: class similarity matrices (NCSM, CCSM,
TNCSM, WordNet CSM), the Similarity Alignment Index, the Index of Decision Mistakes and
the Weight Similarity Indices.
"""

from __future__ import annotations

import numpy as np

from semtool.errors import UserError
from semtool.measure.sai import drop_diagonal


def check_quantile(quantile: float) -> None:
    """A UserError unless 0 < ``quantile`` < 1."""
    if not 0.0 < quantile < 1.0:
        raise UserError(f"quantile must lie in (0, 1), got {quantile:g}", parameter="quantile")


def wsi(csm: np.ndarray, *, quantile: float = 0.95) -> dict[str, float]:
    """Mean / Max / Min Weight Similarity Index of a (C, C) NCSM (Filus et al.).

    mean = mean_{i<j} M[i, j]; max = mean_i mean{M[i, j] : j ≠ i, M[i, j] ≥ Q_i(q)};
    min = mean_i mean{M[i, j] : j ≠ i, M[i, j] ≤ Q_i(1 − q)}, Q_i the row's quantile over
    its C − 1 off-diagonal entries. Returns {"mean": …, "max": …, "min": …}.
    """
    check_quantile(quantile)
    m = np.asarray(csm, dtype=np.float64)
    if not np.all(np.isfinite(m)):
        raise UserError("the CSM holds NaN or inf values")
    off = drop_diagonal(m)  # (C, C-1)
    c = m.shape[0]
    mean = float(m[np.triu_indices(c, k=1)].mean())
    hi_q = np.quantile(off, quantile, axis=1, keepdims=True)
    lo_q = np.quantile(off, 1.0 - quantile, axis=1, keepdims=True)
    hi = np.where(off >= hi_q, off, np.nan)
    lo = np.where(off <= lo_q, off, np.nan)
    return {"mean": mean, "max": float(np.nanmean(hi, axis=1).mean()), "min": float(np.nanmean(lo, axis=1).mean())}
