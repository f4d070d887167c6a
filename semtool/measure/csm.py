"""Class Similarity Matrices (Filus et al., Deep Similarity Inspector).

Every function returns a (C, C) float64 array whose rows and columns follow the class
indices of its input. The WordNet CSM lives in :mod:`semtool.semantics.wordnet_csm`
(it needs the WordNet graph); text-embedding CSMs are :func:`cosine_matrix` of
:func:`semtool.semantics.text.embed_texts`.

References
----------
Filus, K., et al. Deep Similarity Inspector: class similarity matrices (NCSM, CCSM,
TNCSM, WordNet CSM), the Similarity Alignment Index, the Index of Decision Mistakes and
the Weight Similarity Indices.
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
    _check_indices(labels, n_classes, "label")
    _check_indices(predictions, n_classes, "prediction")
    conf = np.bincount(labels * n_classes + predictions, minlength=n_classes * n_classes)
    conf = conf.reshape(n_classes, n_classes).astype(np.float64)
    rows = conf.sum(axis=1, keepdims=True)
    m = np.divide(conf, rows, out=np.zeros_like(conf), where=rows > 0)
    if symmetric:
        m = (m + m.T) / 2
    np.fill_diagonal(m, 1.0)
    return m


def _check_indices(idx: np.ndarray, n_classes: int, what: str) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= n_classes):
        raise UserError(f"a {what} index lies outside the {n_classes} classes")


POOLS = {
    "mean": "average over the spatial positions (N, C, H, W) or the tokens (N, T, D)",
    "max": "maximum over the spatial positions or the tokens",
    "flatten": "keep every position or token, one long vector per sample",
    "cls": "the class token, token 0 of (N, T, D) (ViT); refused for a layer without tokens",
}


def check_pool(pool: str) -> None:
    """A UserError unless ``pool`` names one of :data:`POOLS`."""
    if pool not in POOLS:
        raise UserError(f"pool: expected one of {', '.join(POOLS)}, got '{pool}'", parameter="pool")


def pool_features(features: np.ndarray, pool: str = "mean") -> np.ndarray:
    """One vector per sample (N, D') from a layer's output.

    Shapes: (N, D) vectors stay; (N, C, H, W) convolutional maps reduce their spatial axes
    (channels first); (N, T, D) token sequences reduce their token axis 1 (channels last,
    as ViT encoders give them). ``pool``: see :data:`POOLS`.
    """
    f = np.asarray(features)
    check_pool(pool)
    if pool == "cls":
        if f.ndim != 3:
            raise UserError(f"pool 'cls' takes the class token of (N, T, D) token outputs; this layer has shape "
                            f"{f.shape}, without tokens")
        return f[:, 0, :]
    if f.ndim <= 2 or pool == "flatten":
        return f.reshape(f.shape[0], -1)
    axes = (1,) if f.ndim == 3 else tuple(range(2, f.ndim))
    if pool == "mean":
        return f.mean(axis=axes, dtype=np.float64)
    return f.max(axis=axes)


def class_means(features: np.ndarray, labels: np.ndarray, n_classes: int, *, pool: str = "mean") -> np.ndarray:
    """Per-class mean feature vectors (C, D) of features (N, D), maps (N, C, H, W) or tokens (N, T, D).

    Each sample is pooled first (:func:`pool_features`), then mean_c = (1 / N_c) Σ_{n: y_n = c} f_n:
    with ``mean`` pooling a token layer's class mean averages samples and tokens (Filus et al.
    average a layer's features over the class's samples); ``cls`` takes each sample's class
    token instead. A class without samples is an error.
    """
    f = pool_features(features, pool).astype(np.float64, copy=False)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if labels.size != f.shape[0]:
        raise UserError(f"{labels.size} labels but {f.shape[0]} feature rows")
    _check_indices(labels, n_classes, "label")
    counts = np.bincount(labels, minlength=n_classes)
    if np.any(counts == 0):
        raise UserError(f"class {int(np.flatnonzero(counts == 0)[0])} has no samples: its mean is undefined")
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sums = np.add.reduceat(f[order], starts, axis=0)
    return sums / counts[:, None]


def tncsm(features: np.ndarray, labels: np.ndarray, n_classes: int, *, pool: str = "mean") -> np.ndarray:
    """Template-based CSM: cosine between class-mean features of a layer (N, ...) -> (C, C).

    (N, D), (N, C, H, W) and (N, T, D) inputs, pooled as :func:`class_means` says.
    """
    return cosine_matrix(class_means(features, labels, n_classes, pool=pool))


def groups_csm(groups: np.ndarray) -> np.ndarray:
    """Block matrix of a grouping (C,) -> (C, C): 1 inside a group, 0 outside, diagonal 1.

    Classes in no group (index -1) are similar only to themselves.
    """
    g = np.asarray(groups, dtype=np.int64)
    m = ((g[:, None] == g[None, :]) & (g[:, None] >= 0)).astype(np.float64)
    np.fill_diagonal(m, 1.0)
    return m


def check_csm(m: np.ndarray, name: str = "matrix") -> np.ndarray:
    """A CSM (C, C) or stack (E, C, C) as float64, or a UserError naming ``name``.

    Square, at least 2×2 (a 1×1 matrix has nothing off its diagonal), finite.
    """
    m = np.asarray(m, dtype=np.float64)
    if m.ndim not in (2, 3) or m.shape[-1] != m.shape[-2]:
        raise UserError(f"{name}: expected a square (C, C) matrix or an (E, C, C) stack, got shape {m.shape}")
    if m.shape[-1] < 2:
        raise UserError(f"{name}: a {m.shape[-1]}×{m.shape[-1]} matrix has no off-diagonal similarities")
    if m.ndim == 3 and m.shape[0] == 0:
        raise UserError(f"{name}: an empty stack of matrices")
    if not np.all(np.isfinite(m)):
        bad = np.argwhere(~np.isfinite(m))[0]
        raise UserError(f"{name}: NaN or inf at {tuple(int(i) for i in bad)}")
    return m
