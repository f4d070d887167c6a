"""Semantic and spatio-semantic RSMs computed at scale (Wald et al. 2024): the engine.

The maths is :mod:`semtool.measure.rsm` (kernels on matched inner products) and
:mod:`semtool.measure.matching` (the matchers); this module drives them over all N
samples (never block-diagonal): inner products are batched matrix products in torch (CPU
or CUDA), in blocks of pairs so that memory stays bounded, and the assignment loop can be
split over worker processes.

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
from semtool.measure.rsm import PAIR_BLOCK_BYTES, as_sets, check_kernel, kernel_matrix, matcher_quality


def gram(x: np.ndarray, *, device: str = "cpu", rows: int = 1024) -> np.ndarray:
    """Inner products between the rows of x (N, F) -> (N, N) float64, in row blocks."""
    import torch

    dev = resolve_device(device)
    t = torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(len(x), -1), device=dev)
    out = np.empty((len(x), len(x)))
    for a in range(0, len(x), rows):
        out[a:a + rows] = (t[a:a + rows] @ t.T).cpu().numpy()
    return (out + out.T) / 2


def spatio_semantic_rsm(x: np.ndarray, *, kernel: str = "cosine", device: str = "cpu",
                        sigma: float | str | None = None) -> np.ndarray:
    """The usual RSM of flattened layer outputs, K(vec Z_i, vec Z_j) -> (N, N)."""
    z = as_sets(x)
    flat = z.reshape(len(z), -1)
    p = gram(flat, device=device)
    return kernel_matrix(p, np.diag(p).copy(), kernel, sigma=sigma)


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


def semantic_rsm(x: np.ndarray, *, kernel: str = "cosine", matcher: str = "optimal", device: str = "cpu",
                 workers: int = 1, quality_pairs: int = 200, seed: int = 0, sigma: float | str | None = None,
                 on_progress: Callable[[int], None] | None = None) -> SemanticRSM:
    """The permutation-invariant (semantic) RSM over all N samples (Wald et al. 2024).

    x (N, C, H, W) | (N, T, D) -> :class:`SemanticRSM` with ``matrix`` (N, N). One
    matching per pair; the kernel is applied to the matched inner products. For an
    approximate ``matcher`` the fraction of the optimal similarity is measured on
    ``quality_pairs`` random pairs (seeded), when ``optimal`` fits in memory.
    """
    check_kernel(kernel)
    spec = get_matcher(matcher).name
    z = as_sets(x)
    if workers < 1:
        raise UserError(f"workers: expected at least 1, got {workers}", parameter="workers")
    if workers > 1 and device not in ("cpu", "auto"):
        raise UserError(f"workers {workers} runs the matching in CPU processes; use 1 worker with device {device}",
                        parameter="workers")
    workers = min(workers, os.cpu_count() or 1)
    p = matched_inner_products(z, spec, device=device, workers=workers, on_progress=on_progress)
    sq = np.diag(p).copy()
    out = SemanticRSM(kernel_matrix(p, sq, kernel, sigma=sigma), p, sq, spec, kernel)
    if spec != "optimal" and quality_pairs > 0:
        try:
            check_optimal_size(z.shape[1])
        except UserError:
            return out
        out.quality_pairs, out.quality_fraction = matcher_quality(z, p, pairs=quality_pairs, seed=seed)
    return out
