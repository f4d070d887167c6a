"""Set matchers for semantic RSMs: the permutation aligning two sets of spatial vectors.

Wald et al. (2024), "Decoupling semantic similarity from spatial alignment for neural
networks": a sample's layer output is a set Z ∈ ℝ^{S×D}; two samples are compared after
the permutation π that maximises the matched inner product

    π* = argmax_π Σ_s ⟨Z_i[s], Z_j[π(s)]⟩,

a linear assignment problem on the S×S inner-product matrix M = Z_i Z_jᵀ.

Every matcher takes a batch of such matrices ``M`` (B, S, S) and the vector norms of both
sets ``row_norms``, ``col_norms`` (B, S), and returns the column matched to each row,
``perm`` (B, S) int64 (row s ↔ column ``perm[b, s]``). :data:`MATCHERS` is the registry
(the choices of ``semtool rsm --matcher``); :func:`get_matcher` parses ``'batch-optimal:16'``.

* ``optimal``: SciPy's ``linear_sum_assignment`` per pair (exact).
* ``batch-optimal:K``: sort both sets by vector norm, solve consecutive blocks of K
  exactly (the authors' "shifted window" approximation; K = S is exact).
* ``greedy``: rows in decreasing order of their best entry, each takes its best free
  column (vectorised over the batch; the authors' version sorts the wrong axis).

References
----------
Wald, T., Ulrich, C., Köhler, G., Zimmerer, D., Denner, S., Baumgartner, M., Isensee, F.,
Jaini, P., Maier-Hein, K. (2024). Decoupling semantic similarity from spatial alignment
for neural networks. NeurIPS 2024.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from semtool.errors import UserError

# One S×S float64 cost matrix plus its reduced copy and SciPy's working memory must fit.
OPTIMAL_MEMORY_BYTES = 2 * 1024**3


def matched_values(m: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Σ_s M[b, s, perm[b, s]] for every b: (B, S, S), (B, S) -> (B,)."""
    return np.take_along_axis(m, perm[:, :, None], axis=2)[:, :, 0].sum(axis=1)


def _reduced_costs(m: np.ndarray) -> np.ndarray:
    """Cost −M minus its column and row minima (B, S, S), all entries ≥ 0.

    Subtracting per-row and per-column constants changes every assignment's cost by the
    same amount, so the optimum is unchanged; SciPy's shortest-augmenting-path solver
    then finds many rows' zero columns free at once (about 1.5× faster on ReLU features).
    """
    c = -np.asarray(m, dtype=np.float64)
    c -= c.min(axis=1, keepdims=True)
    c -= c.min(axis=2, keepdims=True)
    return c


def check_optimal_size(s: int, memory_bytes: int = OPTIMAL_MEMORY_BYTES) -> None:
    """Refuse S×S problems whose matrices would not fit ``memory_bytes``."""
    need = 3 * 8 * s * s
    if need > memory_bytes:
        raise UserError(
            f"matcher optimal: S = {s} vectors per sample needs {need / 1024**3:.1f} GiB per pair "
            f"(bound {memory_bytes / 1024**3:.0f} GiB); use batch-optimal:K (e.g. batch-optimal:256)",
            parameter="matcher")


def optimal(m: np.ndarray, row_norms: np.ndarray | None = None, col_norms: np.ndarray | None = None) -> np.ndarray:
    """The exact maximum-inner-product matching per pair (``linear_sum_assignment``).

    M (B, S, S) -> perm (B, S). The batch's cost matrices are reduced in one vectorised
    step; the loop body is a single SciPy call.
    """
    m = np.asarray(m, dtype=np.float64)
    check_optimal_size(m.shape[1])
    return _assign(_reduced_costs(m))


def _assign(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost assignment of every (S, S) matrix of a batch: one SciPy call each."""
    from scipy.optimize import linear_sum_assignment

    b, s, _ = cost.shape
    perm = np.empty((b, s), dtype=np.int64)
    for k in range(b):
        perm[k] = linear_sum_assignment(cost[k])[1]
    return perm


def optimal_values(m: np.ndarray) -> np.ndarray:
    """max_π Σ_s M[b, s, π(s)] for every b (B,), overwriting ``m`` (B, S, S) float64.

    The same matching as :func:`optimal` with no copy of the batch: the cost −M is
    reduced in place and the value restored from the subtracted row and column minima
    (Σ_s C'[s, π(s)] = −Σ_s M[s, π(s)] − Σ col. minima − Σ row minima for any π).
    """
    check_optimal_size(m.shape[1])
    np.negative(m, out=m)
    col = m.min(axis=1, keepdims=True)
    m -= col
    row = m.min(axis=2, keepdims=True)
    m -= row
    reduced = matched_values(m, _assign(m))
    return -(reduced + col.sum(axis=(1, 2)) + row.sum(axis=(1, 2)))


def norm_order(norms: np.ndarray) -> np.ndarray:
    """Indices of each set sorted by decreasing vector norm (B, S) (stable on ties)."""
    return np.argsort(-np.asarray(norms), axis=1, kind="stable")


def batch_optimal(m: np.ndarray, row_norms: np.ndarray, col_norms: np.ndarray, *, k: int) -> np.ndarray:
    """Sort both sets by vector norm and match consecutive blocks of ``k`` exactly.

    Wald et al. (2024), the "batch-optimal" approximation: the largest vectors of one set
    are matched only among the largest of the other. Exact for k ≥ S.
    """
    from scipy.optimize import linear_sum_assignment

    if k < 1:
        raise UserError(f"k must be at least 1 (the block size of batch-optimal:K), got {k}", parameter="k")
    m = np.asarray(m, dtype=np.float64)
    b, s, _ = m.shape
    ro = norm_order(row_norms)
    co = norm_order(col_norms)
    perm = np.empty((b, s), dtype=np.int64)
    ar = np.arange(b)[:, None, None]
    for start in range(0, s, k):
        rows = ro[:, start:start + k]
        cols = co[:, start:start + k]
        block = m[ar, rows[:, :, None], cols[:, None, :]]  # (B, k, k)
        if block.shape[1] == 1:
            perm[np.arange(b), rows[:, 0]] = cols[:, 0]
            continue
        cost = _reduced_costs(block)
        for q in range(b):
            perm[q, rows[q]] = cols[q, linear_sum_assignment(cost[q])[1]]
    return perm


def greedy(m: np.ndarray, row_norms: np.ndarray | None = None, col_norms: np.ndarray | None = None) -> np.ndarray:
    """A row-wise greedy matching: rows by decreasing best entry, each takes its best free column.

    Vectorised over the batch: S steps of (B, S) array operations.
    """
    m = np.asarray(m, dtype=np.float64)
    b, s, _ = m.shape
    order = np.argsort(-m.max(axis=2), axis=1, kind="stable")
    taken = np.zeros((b, s), dtype=bool)
    perm = np.empty((b, s), dtype=np.int64)
    ar = np.arange(b)
    for t in range(s):
        r = order[:, t]
        vals = np.where(taken, -np.inf, m[ar, r, :])
        c = vals.argmax(axis=1)
        perm[ar, r] = c
        taken[ar, c] = True
    return perm


@dataclass(frozen=True)
class Matcher:
    """A named matcher: ``fn(M, row_norms, col_norms) -> perm``; ``exact`` when optimal.

    ``block`` is K for batch-optimal:K (callers that hold the vectors can then compute
    only the K×K diagonal blocks of the norm-sorted products), else None.
    """

    name: str
    fn: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    exact: bool
    help: str
    block: int | None = None

    def __call__(self, m: np.ndarray, row_norms: np.ndarray, col_norms: np.ndarray) -> np.ndarray:
        return self.fn(m, row_norms, col_norms)


MATCHERS: dict[str, str] = {
    "optimal": "exact linear assignment (SciPy) on the S×S inner-product matrix",
    "batch-optimal:K": "sort both sets by vector norm, solve blocks of K exactly",
    "greedy": "rows by decreasing best entry, each takes its best free column",
}


def get_matcher(spec: str) -> Matcher:
    """'optimal' | 'greedy' | 'batch-optimal:K' -> a :class:`Matcher`."""
    spec = spec.strip()
    if spec == "optimal":
        return Matcher("optimal", optimal, True, MATCHERS["optimal"])
    if spec == "greedy":
        return Matcher("greedy", greedy, False, MATCHERS["greedy"])
    if spec.startswith("batch-optimal"):
        _, _, k_text = spec.partition(":")
        try:
            k = int(k_text)
        except ValueError:
            raise UserError(f"matcher {spec}: expected batch-optimal:K with an integer block size K",
                            parameter="matcher") from None
        if k < 1:
            raise UserError(f"matcher {spec}: the block size K must be at least 1", parameter="matcher")
        return Matcher(f"batch-optimal:{k}", lambda m, r, c: batch_optimal(m, r, c, k=k), False,
                       MATCHERS["batch-optimal:K"], block=k)
    raise UserError(f"matcher: unknown matcher '{spec}' (choose {', '.join(MATCHERS)})", parameter="matcher")
