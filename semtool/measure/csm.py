"""Class Similarity Matrices (Filus et al., Deep Similarity Inspector).

Every function returns a (C, C) float64 array whose rows and columns follow the class
indices of its input.
"""

from __future__ import annotations

import numpy as np

from semtool.errors import UserError


def cosine_matrix(x: np.ndarray) -> np.ndarray:
    """Cosine similarity between the rows of ``x`` (C, D) -> (C, C).

    A zero row has no direction: that is a user-visible error, not a silent NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise UserError(f"expected a 2-D (classes, dims) array, got shape {x.shape}")
    norms = np.linalg.norm(x, axis=1)
    if np.any(norms == 0):
        bad = int(np.flatnonzero(norms == 0)[0])
        raise UserError(f"row {bad} is all zeros: its cosine similarity is undefined")
    xn = x / norms[:, None]
    m = xn @ xn.T
    np.clip(m, -1.0, 1.0, out=m)
    return m


def ncsm(weights: np.ndarray) -> np.ndarray:
    """Network CSM: raw cosine between the class templates (rows) of the final layer.

    NCSM[i, j] = <w_i, w_j> / (|w_i| |w_j|) for the classifier weight matrix W (C, D);
    the bias is not used (Filus et al.).
    """
    return cosine_matrix(weights)


def ccsm(labels: np.ndarray, predictions: np.ndarray, n_classes: int, *, symmetric: bool = False) -> np.ndarray:
    """Confusion CSM: the confusion matrix with rows normalised to sum 1, diagonal 1.

    CCSM[i, j] = #{true i, predicted j} / #{true i} for i != j (a class with no samples
    has a zero row); CCSM[i, i] = 1. ``symmetric`` averages it with its transpose
    (the raw CCSM may be asymmetric). Every comparison drops the diagonal anyway.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    predictions = np.asarray(predictions, dtype=np.int64).reshape(-1)
    if labels.shape != predictions.shape:
        raise UserError(f"{labels.size} labels but {predictions.size} predictions")
    conf = np.bincount(labels * n_classes + predictions, minlength=n_classes * n_classes)
    conf = conf.reshape(n_classes, n_classes).astype(np.float64)
    rows = conf.sum(axis=1, keepdims=True)
    m = np.divide(conf, rows, out=np.zeros_like(conf), where=rows > 0)
    if symmetric:
        m = (m + m.T) / 2
    np.fill_diagonal(m, 1.0)
    return m


def class_means(features: np.ndarray, labels: np.ndarray, n_classes: int, *, pool: str = "mean") -> np.ndarray:
    """Per-class mean feature vectors (C, D); spatial maps (N, C, H, W) are pooled first."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim > 2:
        axes = tuple(range(2, f.ndim))
        if pool == "mean":
            f = f.mean(axis=axes)
        elif pool == "max":
            f = f.max(axis=axes)
        elif pool == "flatten":
            f = f.reshape(f.shape[0], -1)
        else:
            raise UserError(f"--pool: expected mean, max or flatten, got '{pool}'")
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    if np.any(counts == 0):
        raise UserError(f"class {int(np.flatnonzero(counts == 0)[0])} has no samples: its mean is undefined")
    sums = np.zeros((n_classes, f.shape[1]))
    np.add.at(sums, labels, f)
    return sums / counts[:, None]


def tncsm(features: np.ndarray, labels: np.ndarray, n_classes: int, *, pool: str = "mean") -> np.ndarray:
    """Template-based CSM: cosine between class-mean features of a layer (N, ...) -> (C, C)."""
    return cosine_matrix(class_means(features, labels, n_classes, pool=pool))


def groups_csm(groups: np.ndarray) -> np.ndarray:
    """Block matrix of a grouping (C,) -> (C, C): 1 inside a group, 0 outside, diagonal 1.

    Classes in no group (index -1) are similar only to themselves.
    """
    g = np.asarray(groups, dtype=np.int64)
    m = ((g[:, None] == g[None, :]) & (g[:, None] >= 0)).astype(np.float64)
    np.fill_diagonal(m, 1.0)
    return m
