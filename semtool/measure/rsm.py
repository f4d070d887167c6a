"""Representational similarity matrices, spatio-semantic and semantic (Wald et al. 2024).

A sample's layer output is a set Z ∈ ℝ^{S×D} of S spatial (or token) vectors: a
convolutional map (D, H, W) gives S = H·W vectors of D channels, a token sequence (T, D)
gives S = T. Over N samples:

* the *spatio-semantic* RSM compares the flattened maps, K(vec Z_i, vec Z_j);
* the *semantic* RSM first aligns the sets, π* = argmax_π Σ_s ⟨Z_i[s], Z_j[π(s)]⟩
  (:mod:`semtool.measure.matching`), then applies the same kernel to Z_i and Z_j∘π*.

Both reduce to one matrix of (matched) inner products P (N, N) and the squared norms
n_i = ‖Z_i‖²_F, because a permutation leaves norms unchanged:

* ``inner``:  K = P
* ``cosine``: K = P / √(n_i n_j)                       (0 where a map is all zeros)
* ``rbf``:    K = exp(−d² / (2σ²)), d² = n_i + n_j − 2P, σ = √median(d²_{i<j} > 0)
  (the median heuristic over the matrix's own distances; the paper does not state σ).
  The authors' code (TaWald/semantic_rsm, ``sim_func.own_rbf``) takes σ = √(lower median
  of the nonzero d²) + 10⁻³ instead (``sigma="authors"``): the two differ for an even
  number of pairs and by the offset.

so one matching serves every kernel. This module is the pure maths (kernels, the matcher's
quality, retrieval, Jensen–Shannon similarity); computing the RSM over all N samples
(never block-diagonal) in batched torch products on a device, in blocks of pairs, over
worker processes, is :mod:`semtool.analyse.rsm`.

References
----------
Wald, T., Ulrich, C., Köhler, G., Zimmerer, D., Denner, S., Baumgartner, M., Isensee, F.,
Jaini, P., Maier-Hein, K. (2024). Decoupling semantic similarity from spatial alignment
for neural networks. NeurIPS 2024.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from semtool.errors import UserError
from semtool.measure.matching import matched_values

KERNELS = {
    "inner": "inner product ⟨Z_i, Z_j⟩",
    "cosine": "inner product over the Frobenius norms",
    "rbf": "exp(−‖Z_i − Z_j‖² / 2σ²), σ by the median heuristic",
}

# Bytes of S×S float64 inner-product tiles per block of pairs: small blocks waste little on
# the lower triangle of diagonal blocks and stay in cache (measured: 16×16 blocks at S = 49).
PAIR_BLOCK_BYTES = 8 * 1024**2


def as_sets(x: np.ndarray) -> np.ndarray:
    """Per-sample layer outputs as sets of vectors (N, S, D) float64.

    (N, D, H, W) maps -> (N, H·W, D); (N, T, D) tokens stay; (N, D) vectors -> (N, 1, D).
    """
    x = np.asarray(x)
    if x.ndim == 4:
        n, d, h, w = x.shape
        z = x.reshape(n, d, h * w).transpose(0, 2, 1)
    elif x.ndim == 3:
        z = x
    elif x.ndim == 2:
        z = x[:, None, :]
    else:
        raise UserError(f"expected features of shape (N, C, H, W), (N, T, D) or (N, D), got {x.shape}")
    z = np.ascontiguousarray(z, dtype=np.float64)
    if not np.all(np.isfinite(z)):
        raise UserError("the features hold NaN or inf values")
    return z


def median_sigma(d2: np.ndarray) -> float:
    """σ of the median heuristic: √ of the median nonzero squared distance (i < j)."""
    vals = _nonzero_pairs(d2)
    return float(np.sqrt(np.median(vals))) if vals.size else 1.0


def authors_sigma(d2: np.ndarray) -> float:
    """σ as the authors' ``own_rbf``: √(lower median of the nonzero squared distances) + 10⁻³.

    ``torch.median`` returns the lower of the two middle values; over the full matrix each
    pair appears twice, which leaves the lower median of the pairs i < j unchanged.
    """
    vals = np.sort(_nonzero_pairs(d2))
    return float(np.sqrt(vals[(vals.size - 1) // 2])) + 1e-3 if vals.size else 1.0 + 1e-3


def _nonzero_pairs(d2: np.ndarray) -> np.ndarray:
    vals = d2[np.triu_indices(d2.shape[0], k=1)]
    return vals[vals > 0]


SIGMAS = {
    "median": "σ = √median of the nonzero squared distances (the median heuristic)",
    "authors": "σ = √(lower median of the nonzero squared distances) + 10⁻³ (TaWald/semantic_rsm's own_rbf)",
}


def _inner(p: np.ndarray, sq: np.ndarray, sigma: float | None) -> np.ndarray:
    return p.copy()


def _cosine(p: np.ndarray, sq: np.ndarray, sigma: float | None) -> np.ndarray:
    norms = np.sqrt(sq)
    denom = norms[:, None] * norms[None, :]
    return np.divide(p, denom, out=np.zeros_like(p), where=denom > 0)


def _rbf(p: np.ndarray, sq: np.ndarray, sigma: float | str | None) -> np.ndarray:
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * p, 0.0)
    np.fill_diagonal(d2, 0.0)
    if sigma is None or sigma == "median":
        s = median_sigma(d2)
    elif sigma == "authors":
        s = authors_sigma(d2)
    else:
        s = float(sigma)
    return np.exp(-d2 / (2 * s * s))


_KERNEL_FNS: dict[str, Callable[[np.ndarray, np.ndarray, float | None], np.ndarray]] = {
    "inner": _inner, "cosine": _cosine, "rbf": _rbf,
}


def check_kernel(kernel: str) -> None:
    """A UserError unless ``kernel`` names one of :data:`KERNELS`."""
    if kernel not in KERNELS:
        raise UserError(f"kernel: unknown kernel '{kernel}' (choose {', '.join(KERNELS)})", parameter="kernel")


def kernel_matrix(inner: np.ndarray, sq_norms: np.ndarray, kernel: str = "cosine", *,
                  sigma: float | str | None = None) -> np.ndarray:
    """Apply a kernel to (matched) inner products P (N, N) and squared norms (N,) -> (N, N).

    ``sigma`` (rbf only): a number, or a rule of :data:`SIGMAS` (default ``median``).
    """
    check_kernel(kernel)
    if isinstance(sigma, str) and sigma not in SIGMAS:
        raise UserError(f"sigma: expected a number or one of {', '.join(SIGMAS)}, got '{sigma}'", parameter="sigma")
    return _KERNEL_FNS[kernel](np.asarray(inner, dtype=np.float64), np.asarray(sq_norms, dtype=np.float64), sigma)


def matcher_quality(z: np.ndarray, inner: np.ndarray, *, pairs: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An approximate matcher's matched inner product over the optimal one, on sampled pairs.

    z (N, S, D), inner (N, N) from the approximate matcher -> (pairs (P, 2), fraction (P,)).
    A pair whose optimal value is ≤ 0 has no meaningful fraction (NaN).
    """
    from semtool.measure.matching import optimal

    n, s, _ = z.shape
    iu, ju = np.triu_indices(n, k=1)
    if iu.size == 0:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    rng = np.random.default_rng(seed)
    pick = rng.choice(iu.size, size=min(pairs, iu.size), replace=False)
    pick.sort()
    i, j = iu[pick], ju[pick]
    best = np.empty(i.size)
    step = max(1, PAIR_BLOCK_BYTES // (8 * s * s))  # bounded memory for large S
    for q in range(0, i.size, step):
        m = np.matmul(z[i[q:q + step]], z[j[q:q + step]].transpose(0, 2, 1))
        best[q:q + step] = matched_values(m, optimal(m))
    frac = np.divide(inner[i, j], best, out=np.full(best.shape, np.nan), where=best > 0)
    return np.stack([i, j], axis=1).astype(np.int64), frac


# ------------------------------------------------------------------ evaluation
def retrieval(rsm: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Top-1 retrieval and F1@1 of the most similar *other* sample (Wald et al. 2024).

    For every query i whose class has another sample: hit_i = [label(argmax_{j≠i} K_ij)
    = label_i]; top-1 = mean hit; F1@1 = mean 2·P·R/(P + R) with P = hit_i and
    R = hit_i / (n_{c_i} − 1), i.e. 2/n_c for a hit and 0 otherwise.

    Single-label, one retrieved sample: the paper does not spell F1@1 out; semtool takes
    each query's relevant set to be all other samples of its class. The alternative, a
    macro-F1 of the nearest neighbour's label used as a class prediction, is
    ``sklearn.metrics.f1_score(labels, labels[nn], average="macro")``.
    """
    k = np.array(rsm, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(k)
    if n < 2:
        raise UserError("retrieval needs at least 2 samples")
    k[~np.isfinite(k)] = -np.inf
    np.fill_diagonal(k, -np.inf)
    nn = k.argmax(axis=1)
    hit = labels[nn] == labels
    counts = np.bincount(labels)
    valid = counts[labels] > 1
    if not valid.any():
        raise UserError("retrieval needs a class with at least 2 samples")
    f1 = np.where(hit, 2.0 / counts[labels], 0.0)
    return {"top1": float(hit[valid].mean()), "f1_at_1": float(f1[valid].mean()), "queries": int(valid.sum())}


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def js_similarity(probs: np.ndarray, *, rows: int = 256) -> np.ndarray:
    """1 − Jensen–Shannon divergence (base 2, so in [0, 1]) between rows of probs (N, C) -> (N, N)."""
    p = np.asarray(probs, dtype=np.float64)
    n = len(p)
    plogp = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=1)
    out = np.empty((n, n))
    for a in range(0, n, rows):
        m = (p[a:a + rows, None, :] + p[None, :, :]) / 2
        mlogm = np.where(m > 0, m * np.log2(np.where(m > 0, m, 1.0)), 0.0).sum(axis=2)
        # JSD = H(m) − (H(p) + H(q))/2 = (Σ p log p + Σ q log q)/2 − Σ m log m
        jsd = (plogp[a:a + rows, None] + plogp[None, :]) / 2 - mlogm
        out[a:a + rows] = 1.0 - np.clip(jsd, 0.0, 1.0)
    return out


def prediction_correlation(rsm: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Pearson and Spearman correlation between an RSM and the JS similarity of predictions.

    Over the pairs i < j (Wald et al. 2024): how well the representation's similarity
    follows the similarity of the predicted class distributions (N, C).
    """
    from scipy.stats import rankdata

    k = np.asarray(rsm, dtype=np.float64)
    js = js_similarity(probs)
    iu = np.triu_indices(len(k), k=1)
    a, b = k[iu], js[iu]
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return {"pearson": float("nan"), "spearman": float("nan")}
    pearson = float(np.corrcoef(a, b)[0, 1])
    spearman = float(np.corrcoef(rankdata(a), rankdata(b))[0, 1])
    return {"pearson": pearson, "spearman": spearman}
