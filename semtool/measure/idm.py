"""IDM, the Inverse Dissimilarity Metric (Filus et al., Deep Similarity Inspector).

DM is the Dissimilarity Metric of one prediction. A correct prediction has DM = 0. A mistake (true c, predicted w) has DM = r / (C − 1),
r the 1-based rank of w among the other C − 1 classes sorted by decreasing similarity
to c in the CSM (ties share their average rank). IDM = 1 − mean DM over all samples
(``errors_only``: over mistakes only). 1 means every mistake went to the most similar
class; network-based with an NCSM, WordNet-based with the WordNet CSM.

References
----------
Filus, K., et al. Deep Similarity Inspector: class similarity matrices (NCSM, CCSM,
TNCSM, WordNet CSM), the Similarity Alignment Index, the Index of Decision Mistakes and
the Weight Similarity Indices.
"""

from __future__ import annotations

import numpy as np

from semtool.errors import UserError


def _rank_table(csm: np.ndarray) -> np.ndarray:
    """R[c, w]: average 1-based rank of w among classes != c by decreasing csm[c]."""
    c = csm.shape[0]
    ranks = np.zeros((c, c))
    for t in range(c):
        others = np.delete(np.arange(c), t)
        key = np.sort(-csm[t, others])
        v = -csm[t, others]
        below = np.searchsorted(key, v, side="left")
        upto = np.searchsorted(key, v, side="right")
        ranks[t, others] = below + (upto - below + 1) / 2.0
    return ranks


def dissimilarity_metric(labels: np.ndarray, predictions: np.ndarray, csm: np.ndarray) -> np.ndarray:
    """DM, the Dissimilarity Metric, per sample (Filus et al.): 0 if correct, else r / (C − 1).

    Parameters
    ----------
    labels, predictions : (N,) int class indices into ``csm``.
    csm : (C, C) reference similarities (row = true class).

    Returns
    -------
    (N,) float64; r is the average 1-based rank of the predicted class among the C − 1
    other classes by decreasing ``csm[true]``.
    """
    csm = np.asarray(csm, dtype=np.float64)
    if csm.ndim != 2 or csm.shape[0] != csm.shape[1] or csm.shape[0] < 2:
        raise UserError(f"expected a square CSM of at least 2 classes, got shape {csm.shape}")
    if not np.all(np.isfinite(csm)):
        raise UserError("the CSM holds NaN or inf values")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    predictions = np.asarray(predictions, dtype=np.int64).reshape(-1)
    if labels.shape != predictions.shape:
        raise UserError(f"{labels.size} labels but {predictions.size} predictions")
    n = csm.shape[0]
    for name, arr in (("label", labels), ("prediction", predictions)):
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            raise UserError(f"a {name} index lies outside the CSM's {n} classes")
    ranks = _rank_table(csm)
    dm = ranks[labels, predictions] / (n - 1)
    dm[labels == predictions] = 0.0
    return dm


def idm(labels: np.ndarray, predictions: np.ndarray, csm: np.ndarray, *, errors_only: bool = False) -> float:
    """IDM, the Inverse Dissimilarity Metric (Filus et al.): IDM = 1 − mean DM over the N samples.

    ``errors_only`` averages over the mistakes only (NaN when there are none).
    labels, predictions (N,) int; csm (C, C).
    """
    dm = dissimilarity_metric(labels, predictions, csm)
    if errors_only:
        wrong = np.asarray(labels).reshape(-1) != np.asarray(predictions).reshape(-1)
        if not wrong.any():
            return float("nan")
        dm = dm[wrong]
    if dm.size == 0:
        return float("nan")
    return float(1.0 - dm.mean())


# The name this function had before it took the paper's: kept so that scripts keep working.
decision_margins = dissimilarity_metric
