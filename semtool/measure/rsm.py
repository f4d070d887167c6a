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
  (the median heuristic over the matrix's own distances)

so one matching serves every kernel. The RSM covers all N samples (never block-diagonal);
inner products are batched matrix products in torch (CPU or CUDA), in blocks of pairs so
that memory stays bounded, and the assignment loop can be split over worker processes.

References
----------
Wald, T., Ulrich, C., Köhler, G., Zimmerer, D., Denner, S., Baumgartner, M., Isensee, F.,
Jaini, P., Maier-Hein, K. (2024). Decoupling semantic similarity from spatial alignment
for neural networks. NeurIPS 2024.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from semtool._runtime import resolve_device
from semtool.errors import UserError
from semtool.measure.matching import check_optimal_size, get_matcher, matched_values

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
    iu = np.triu_indices(d2.shape[0], k=1)
    vals = d2[iu]
    vals = vals[vals > 0]
    return float(np.sqrt(np.median(vals))) if vals.size else 1.0


def _inner(p: np.ndarray, sq: np.ndarray, sigma: float | None) -> np.ndarray:
    return p.copy()


def _cosine(p: np.ndarray, sq: np.ndarray, sigma: float | None) -> np.ndarray:
    norms = np.sqrt(sq)
    denom = norms[:, None] * norms[None, :]
    return np.divide(p, denom, out=np.zeros_like(p), where=denom > 0)


def _rbf(p: np.ndarray, sq: np.ndarray, sigma: float | None) -> np.ndarray:
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * p, 0.0)
    np.fill_diagonal(d2, 0.0)
    s = median_sigma(d2) if sigma is None else float(sigma)
    return np.exp(-d2 / (2 * s * s))


_KERNEL_FNS: dict[str, Callable[[np.ndarray, np.ndarray, float | None], np.ndarray]] = {
    "inner": _inner, "cosine": _cosine, "rbf": _rbf,
}


def kernel_matrix(inner: np.ndarray, sq_norms: np.ndarray, kernel: str = "cosine", *,
                  sigma: float | None = None) -> np.ndarray:
    """Apply a kernel to (matched) inner products P (N, N) and squared norms (N,) -> (N, N)."""
    if kernel not in _KERNEL_FNS:
        raise UserError(f"--kernel: unknown kernel '{kernel}' (choose {', '.join(KERNELS)})")
    return _KERNEL_FNS[kernel](np.asarray(inner, dtype=np.float64), np.asarray(sq_norms, dtype=np.float64), sigma)


def gram(x: np.ndarray, *, device: str = "cpu", rows: int = 1024) -> np.ndarray:
    """Inner products between the rows of x (N, F) -> (N, N) float64, in row blocks."""
    import torch

    dev = resolve_device(device)
    t = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(len(x), -1), device=dev)
    out = np.empty((len(x), len(x)))
    for a in range(0, len(x), rows):
        out[a:a + rows] = (t[a:a + rows] @ t.T).cpu().numpy()
    return (out + out.T) / 2


def spatio_semantic_rsm(x: np.ndarray, *, kernel: str = "cosine", device: str = "cpu") -> np.ndarray:
    """The usual RSM of flattened layer outputs, K(vec Z_i, vec Z_j) -> (N, N)."""
    z = as_sets(x)
    flat = z.reshape(len(z), -1)
    p = gram(flat, device=device)
    return kernel_matrix(p, np.diag(p).copy(), kernel)


@dataclass
class SemanticRSM:
    """A semantic RSM and what produced it.

    ``matrix`` (N, N) the kernel values; ``inner`` (N, N) the matched inner products;
    ``sq_norms`` (N,); ``quality_pairs`` (P, 2) and ``quality_fraction`` (P,): for an
    approximate matcher, its matched inner product as a fraction of the optimal one on a
    random sample of pairs (empty for ``optimal``).
    """

    matrix: np.ndarray
    inner: np.ndarray
    sq_norms: np.ndarray
    matcher: str
    kernel: str
    quality_pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    quality_fraction: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _block_size(s: int) -> int:
    """Samples per side of a block of pairs whose S×S matrices fit PAIR_BLOCK_BYTES."""
    per_pair = 8 * s * s
    return max(1, int(np.sqrt(PAIR_BLOCK_BYTES / per_pair)))


def _upper_blocks(n: int, bs: int) -> list[tuple[int, int, int, int]]:
    return [(a, min(a + bs, n), c, min(c + bs, n)) for a in range(0, n, bs) for c in range(a, n, bs)]


def _pairs_in_block(a: int, b: int, c: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Local (row, column) indices of the pairs i < j inside a block."""
    ii, jj = np.meshgrid(np.arange(a, b), np.arange(c, d), indexing="ij")
    keep = ii < jj
    return (ii[keep] - a), (jj[keep] - c)


def _block_values(zt, zst, norms: np.ndarray, block: tuple[int, int, int, int], spec: str) -> np.ndarray:
    """Matched inner products of the pairs i < j inside one block of rows × columns.

    zt (N, S, D) torch tensor; zst the same with each set sorted by decreasing vector
    norm (used by batch-optimal:K, which then needs only the K×K diagonal blocks of
    the sorted products: S·K instead of S² inner products per pair).
    """
    import torch

    from semtool.measure.matching import optimal_values

    a, b, c, d = block
    li, lj = _pairs_in_block(a, b, c, d)
    if li.size == 0:
        return np.zeros(0)
    ti = torch.as_tensor(li, device=zt.device)
    tj = torch.as_tensor(lj, device=zt.device)
    matcher = get_matcher(spec)

    def products(src, lo: int, hi: int) -> np.ndarray:
        # One GEMM (rows of block a:b) × (rows of block c:d), then the pairs' S×S tiles.
        left = src[a:b, lo:hi].reshape(-1, src.shape[2])
        right = src[c:d, lo:hi].reshape(-1, src.shape[2])
        s = min(hi, src.shape[1]) - lo
        m = (left @ right.T).view(b - a, s, d - c, s).permute(0, 2, 1, 3)
        return np.ascontiguousarray(m[ti, tj].cpu().numpy(), dtype=np.float64)

    if matcher.exact:
        return optimal_values(products(zt, 0, zt.shape[1]))
    if matcher.block is None:
        m = products(zt, 0, zt.shape[1])
        return matched_values(m, matcher(m, norms[a + li], norms[c + lj]))
    total = np.zeros(li.size)
    for lo in range(0, zt.shape[1], matcher.block):
        m = products(zst, lo, lo + matcher.block)
        total += m[:, 0, 0] if m.shape[1] == 1 else optimal_values(m)
    return total


# Worker state for the process pool: set once per worker by the initializer.
_W: dict = {}


def _worker_init(z: np.ndarray, zs: np.ndarray, norms: np.ndarray, spec: str) -> None:
    import torch

    torch.set_num_threads(1)
    _W.update(zt=torch.as_tensor(z), zst=torch.as_tensor(zs), norms=norms, spec=spec)


def _worker_block(block: tuple[int, int, int, int]) -> tuple[tuple[int, int, int, int], np.ndarray]:
    return block, _block_values(_W["zt"], _W["zst"], _W["norms"], block, _W["spec"])


def matched_inner_products(x: np.ndarray, matcher: str = "optimal", *, device: str = "cpu",
                           workers: int = 1, on_progress: Callable[[int], None] | None = None) -> np.ndarray:
    """P[i, j] = max_π Σ_s ⟨Z_i[s], Z_j[π(s)]⟩ (or the approximate matcher's value) -> (N, N).

    Only pairs i < j are matched (P is symmetric; P[i, i] = ‖Z_i‖², the identity being
    optimal). Blocks of pairs: their S×S matrices come from one batched product (torch
    on ``device``); with ``workers > 1`` worker processes (one thread each, on the CPU)
    take blocks of pairs in turn.
    """
    import torch

    from semtool.measure.matching import norm_order

    z = x if (isinstance(x, np.ndarray) and x.ndim == 3 and x.dtype == np.float64) else as_sets(x)
    n, s, _ = z.shape
    spec = get_matcher(matcher).name
    if spec == "optimal":
        check_optimal_size(s)
    norms = np.linalg.norm(z, axis=2)
    # batch-optimal works on each set sorted by vector norm; the others need no copy.
    zs = np.ascontiguousarray(z[np.arange(n)[:, None], norm_order(norms)]) if get_matcher(spec).block else z
    p = np.zeros((n, n))
    p[np.arange(n), np.arange(n)] = (z * z).sum(axis=(1, 2))

    def store_block(block, vals):
        a, b, c, d = block
        li, lj = _pairs_in_block(a, b, c, d)
        p[a + li, c + lj] = vals
        p[c + lj, a + li] = vals
        if on_progress is not None:
            on_progress(int(li.size))

    if workers > 1:
        import concurrent.futures as cf
        import multiprocessing as mp

        # Small blocks so that the workers share the load evenly.
        small = _upper_blocks(n, max(1, min(_block_size(s), 16)))
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                    initializer=_worker_init, initargs=(z, zs, norms, spec)) as ex:
            for block, vals in ex.map(_worker_block, small, chunksize=1):
                store_block(block, vals)
        return p

    dev = resolve_device(device)
    zt, zst = torch.as_tensor(z, device=dev), torch.as_tensor(zs, device=dev)
    for block in _upper_blocks(n, _block_size(s)):
        store_block(block, _block_values(zt, zst, norms, block, spec))
    return p


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


def semantic_rsm(x: np.ndarray, *, kernel: str = "cosine", matcher: str = "optimal", device: str = "cpu",
                 workers: int = 1, quality_pairs: int = 200, seed: int = 0,
                 on_progress: Callable[[int], None] | None = None) -> SemanticRSM:
    """The permutation-invariant (semantic) RSM over all N samples (Wald et al. 2024).

    x (N, C, H, W) | (N, T, D) -> :class:`SemanticRSM` with ``matrix`` (N, N). One
    matching per pair; the kernel is applied to the matched inner products. For an
    approximate ``matcher`` the fraction of the optimal similarity is measured on
    ``quality_pairs`` random pairs (seeded), when ``optimal`` fits in memory.
    """
    if kernel not in KERNELS:
        raise UserError(f"--kernel: unknown kernel '{kernel}' (choose {', '.join(KERNELS)})")
    spec = get_matcher(matcher).name
    z = as_sets(x)
    if workers < 1:
        raise UserError(f"--workers: expected at least 1, got {workers}")
    if workers > 1 and device not in ("cpu", "auto"):
        raise UserError(f"--workers {workers} runs the matching in CPU processes; use --workers 1 with --device {device}")
    workers = min(workers, os.cpu_count() or 1)
    p = matched_inner_products(z, spec, device=device, workers=workers, on_progress=on_progress)
    sq = np.diag(p).copy()
    out = SemanticRSM(kernel_matrix(p, sq, kernel), p, sq, spec, kernel)
    if spec != "optimal" and quality_pairs > 0:
        try:
            check_optimal_size(z.shape[1])
        except UserError:
            return out
        out.quality_pairs, out.quality_fraction = matcher_quality(z, p, pairs=quality_pairs, seed=seed)
    return out


# ------------------------------------------------------------------ evaluation
def retrieval(rsm: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Top-1 retrieval and F1@1 of the most similar *other* sample (Wald et al. 2024).

    For every query i whose class has another sample: hit_i = [label(argmax_{j≠i} K_ij)
    = label_i]; top-1 = mean hit; F1@1 = mean 2·P·R/(P + R) with P = hit_i and
    R = hit_i / (n_{c_i} − 1), i.e. 2/n_c for a hit and 0 otherwise.
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


def retrieval_chance(labels: np.ndarray) -> float:
    """Top-1 retrieval of a random neighbour: Σ_c n_c (n_c − 1) / (N (N − 1)), the chance
    that a uniformly drawn other sample shares the query's class."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    n = labels.size
    if n < 2:
        return float("nan")
    counts = np.bincount(labels).astype(np.float64)
    return float(np.sum(counts * (counts - 1)) / (n * (n - 1)))


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
