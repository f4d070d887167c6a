"""The 2 vs 2 and 1 vs 2 tests between two spaces of the same concepts (Dharmaretnam & Fyshe 2018).

Two spaces of the same k concepts give two k×k similarity matrices W, I (Pearson
correlations between concept vectors, or class similarity matrices used directly). For
every pair of concepts (a, b), take rows a and b of each matrix without columns a and b
and correlate them (Pearson r over the k − 2 remaining columns):

    pass(a, b)  ⇔  r(W_a, I_a) + r(W_b, I_b)  >  r(W_a, I_b) + r(W_b, I_a)

strictly (a tie fails; a NaN, e.g. from a constant row, fails). Accuracy = passes / C(k, 2)
(166 concepts → 13,695 tests; chance 0.5). All C(k, 2) tests are computed at once from
row sums and one matrix product. Sums that agree within ``TIE_TOLERANCE`` count as a tie:
two routes to the same exact tie must not pass or fail by a rounding bit.

Permutation test: relabel the concepts of one space (the same permutation of rows and
columns of I), N times; p = (1 + #{null ≥ score}) / (1 + N).

1 vs 2 (the same paper): a misclassified image (true c, predicted w) is correlated with
reference vectors of the concepts; that row passes iff it correlates more with c's
word-space row than with w's, over the reference concepts other than c and w.

References
----------
Dharmaretnam, D., Fyshe, A. (2018). The emergence of semantics in neural network
representations of visual information. NAACL-HLT 2018.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from semtool.errors import UserError

TIE_TOLERANCE = 1e-9


def correlation_matrix(vectors: np.ndarray) -> np.ndarray:
    """Pearson correlation between the rows of ``vectors`` (k, D) -> (k, k).

    A constant vector correlates with nothing: its row and column are NaN.
    """
    x = np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)
    x = x - x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1)
    scale = np.abs(np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)).max(axis=1)
    const = norms <= 1e-12 * np.maximum(scale, 1e-300) * np.sqrt(x.shape[1])
    xn = x / np.where(const, 1.0, norms)[:, None]
    r = np.clip(xn @ xn.T, -1.0, 1.0)
    r[const, :] = np.nan
    r[:, const] = np.nan
    return r


def pair_indices(k: int) -> tuple[np.ndarray, np.ndarray]:
    """All pairs a < b of k concepts, (C(k, 2),) each."""
    return np.triu_indices(k, k=1)


def _masked_pearson(x: np.ndarray, y: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Pearson r between rows of x and y (M, k) over the columns where keep (M, k) is True."""
    n = keep.sum(axis=1).astype(np.float64)
    xm = np.where(keep, x, 0.0)
    ym = np.where(keep, y, 0.0)
    mx = xm.sum(axis=1) / n
    my = ym.sum(axis=1) / n
    dx = np.where(keep, x - mx[:, None], 0.0)
    dy = np.where(keep, y - my[:, None], 0.0)
    sxx = (dx * dx).sum(axis=1)
    syy = (dy * dy).sum(axis=1)
    sxy = (dx * dy).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = sxy / np.sqrt(sxx * syy)
    # Constant over the kept columns (zero variance up to rounding): undefined, NaN.
    r[(sxx <= 1e-10 * (xm * xm).sum(axis=1)) | (syy <= 1e-10 * (ym * ym).sum(axis=1))] = np.nan
    return r


class _RowStats:
    """Row statistics of one matrix for Pearson r over 'all columns but a and b'.

    Rows are centred by their mean first (Pearson is shift invariant), which keeps the
    sums' cancellation small. NaN entries are set aside and counted: a test whose kept
    columns hold one is NaN (fails), exactly as the per-pair definition.
    """

    def __init__(self, m: np.ndarray):
        m = np.asarray(m, dtype=np.float64)
        self.nan = np.isnan(m)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(np.where(self.nan.all(axis=1, keepdims=True), 0.0, m), axis=1, keepdims=True)
        self.x = np.where(self.nan, 0.0, m - mean)
        self.nan_count = self.nan.sum(axis=1)
        self.any_nan = bool(self.nan.any())
        self.s = self.x.sum(axis=1)
        self.ss = (self.x * self.x).sum(axis=1)

    def dropped(self, r: np.ndarray, a: np.ndarray, b: np.ndarray):
        """Sum, centred sum of squares and validity of row r without columns a, b (n = k − 2)."""
        k = self.x.shape[0]
        n = k - 2
        ra, rb = r * k + a, r * k + b  # flat indices: faster than 2-D fancy indexing
        xa, xb = self.x.ravel().take(ra), self.x.ravel().take(rb)
        s = self.s.take(r) - xa - xb
        ss = self.ss.take(r) - xa * xa - xb * xb
        var = ss - s * s / n
        # A row constant over the kept columns has zero variance up to rounding.
        ok = var > 1e-10 * ss
        if self.any_nan:
            nan = self.nan.ravel()
            ok &= self.nan_count.take(r) - nan.take(ra) - nan.take(rb) == 0
        return s, var, ok, xa, xb


class _TwoVsTwo:
    """All C(k, 2) tests of a fixed W against any relabelling of I, from sums.

    r(W_r, I_c) over the columns other than a, b needs Σx, Σy, Σx², Σy² (row sums minus
    the two dropped entries) and Σxy = (W Iᵀ)[r, c] minus the two dropped products.
    Relabelling I by π maps row/column a to π(a), so only the cross products change.
    """

    def __init__(self, W: np.ndarray, I: np.ndarray, a: np.ndarray, b: np.ndarray):
        self.k = W.shape[0]
        self.n = self.k - 2
        self.a, self.b = a, b
        self.w, self.i = _RowStats(W), _RowStats(I)
        self.wa = self.w.dropped(a, a, b)  # row a of W without columns a, b
        self.wb = self.w.dropped(b, a, b)

    def passes(self, perm: np.ndarray | None = None) -> np.ndarray:
        a, b, n, k = self.a, self.b, self.n, self.k
        A, B = (a, b) if perm is None else (perm[a], perm[b])
        ix = self.i.x if perm is None else self.i.x[np.ix_(perm, perm)]
        p = (self.w.x @ ix.T).ravel()
        ia = self.i.dropped(A, A, B)
        ib = self.i.dropped(B, A, B)

        def r(w_row, w_stats, i_row, i_stats):
            sx, vx, okx, xa, xb = w_stats
            sy, vy, oky, ya, yb = i_stats
            cov = p.take(w_row * k + i_row) - xa * ya - xb * yb - sx * sy / n
            with np.errstate(invalid="ignore", divide="ignore"):
                out = cov / np.sqrt(vx * vy)
            out[~(okx & oky)] = np.nan
            return out

        with np.errstate(invalid="ignore"):
            d = (r(a, self.wa, a, ia) + r(b, self.wb, b, ib)) - (r(a, self.wa, b, ib) + r(b, self.wb, a, ia))
            return d > TIE_TOLERANCE


def two_vs_two_passes(W: np.ndarray, I: np.ndarray, a: np.ndarray | None = None,
                      b: np.ndarray | None = None) -> np.ndarray:
    """Pass (True) / fail of every 2 vs 2 test between similarity matrices W, I (k, k).

    ``a``, ``b``: the pairs to test (default all a < b) -> (P,) bool.
    """
    W, I = _check_pair(W, I)
    if a is None or b is None:
        a, b = pair_indices(W.shape[0])
    return _TwoVsTwo(W, I, a, b).passes()


def _check_pair(W: np.ndarray, I: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    W = np.asarray(W, dtype=np.float64)
    I = np.asarray(I, dtype=np.float64)
    k = W.shape[0]
    if W.ndim != 2 or W.shape != (k, k) or I.shape != (k, k):
        raise UserError(f"2 vs 2 needs two square matrices of the same size, got {W.shape} and {I.shape}")
    if k < 4:
        raise UserError(f"2 vs 2 needs at least 4 concepts (each test correlates k − 2 ≥ 2 values), got {k}")
    return W, I


@dataclass
class TestResult:
    """One 2 vs 2 (or 1 vs 2) result: accuracy, pass count, tests and the permutation null.

    ``passes`` is the mean pass count over image groups (an integer with one group);
    ``null`` (N,) the null accuracies; ``null_count`` = #{null ≥ accuracy};
    ``p_value`` = (1 + null_count) / (1 + N).
    """

    accuracy: float
    passes: float
    tests: int
    null: np.ndarray
    null_count: int
    p_value: float
    groups: int = 1


def _permutation_test(score: float, scores_for: Callable[[np.ndarray], float], k: int,
                      permutations: int, seed: int) -> tuple[np.ndarray, int, float]:
    rng = np.random.default_rng(seed)
    null = np.empty(permutations)
    for t in range(permutations):
        null[t] = scores_for(rng.permutation(k))
    count = int(np.sum(null >= score - 1e-12))
    return null, count, (1 + count) / (1 + permutations)


def two_vs_two(W: np.ndarray | list[np.ndarray], I: np.ndarray | list[np.ndarray], *, permutations: int = 1000,
               seed: int = 0) -> TestResult:
    """The 2 vs 2 test of similarity matrices W and I (k, k), with its permutation test.

    Either side may be a list of matrices, one per image group (one image per concept
    in each); group g of W meets group g of I (or the single matrix of the other side)
    and the pass counts are averaged over groups. The null permutes the concepts of I
    (one shared row/column permutation per draw, the same for all groups).
    """
    ws = W if isinstance(W, list) else [W]
    is_ = I if isinstance(I, list) else [I]
    g = min(len(ws), len(is_)) if len(ws) > 1 and len(is_) > 1 else max(len(ws), len(is_))
    ws = ws * g if len(ws) == 1 else ws[:g]
    is_ = is_ * g if len(is_) == 1 else is_[:g]
    pairs = [_check_pair(w, i) for w, i in zip(ws, is_)]
    k = pairs[0][1].shape[0]
    a, b = pair_indices(k)
    tests = int(a.size)
    solvers = [_TwoVsTwo(w, i, a, b) for w, i in pairs]

    def passes_for(perm: np.ndarray | None) -> float:
        return float(np.mean([s.passes(perm).sum() for s in solvers]))

    passes = passes_for(None)
    acc = passes / tests
    null, count, p = _permutation_test(acc, lambda perm: passes_for(perm) / tests, k, permutations, seed)
    return TestResult(acc, passes, tests, null, count, p, len(solvers))


def image_groups(labels: np.ndarray, k: int) -> list[np.ndarray]:
    """Split samples into groups holding one image of each of k concepts (Dharmaretnam & Fyshe).

    Group g takes the g-th image (in file order) of every concept; G = the smallest image
    count of any concept, extra images are left out. -> G index arrays (k,).
    """
    labels = np.asarray(labels, dtype=np.int64)
    per = [np.flatnonzero(labels == c) for c in range(k)]
    counts = [len(p) for p in per]
    if min(counts) == 0:
        missing = counts.index(0)
        raise UserError(f"concept {missing} has no images")
    return [np.array([p[g] for p in per]) for g in range(min(counts))]


def one_vs_two(features: np.ndarray, labels: np.ndarray, predicted: np.ndarray, word_sim: np.ndarray, *,
               permutations: int = 1000, seed: int = 0) -> TestResult:
    """The 1 vs 2 test for misclassified images (Dharmaretnam & Fyshe 2018).

    features (N, F) of images with true ``labels`` and ``predicted`` classes (N,) in the
    k concepts of ``word_sim`` (k, k). Reference vectors: the mean features of each
    concept's correctly classified images. For a mistake (true c, predicted w ≠ c), its
    row x_j = r(image, reference_j) over reference concepts j ∉ {c, w} passes iff
    r(x, word_sim[c]) > r(x, word_sim[w]) (strict, NaN fails). The null permutes the word
    space's concepts.
    """
    f = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    k = word_sim.shape[0]
    correct = labels == predicted
    wrong = np.flatnonzero(~correct)
    if wrong.size == 0:
        raise UserError("1 vs 2: the predictions hold no misclassified images")
    has_ref = np.bincount(labels[correct], minlength=k) > 0
    if has_ref.sum() < 3:
        raise UserError("1 vs 2: fewer than 3 concepts have a correctly classified image")
    ref = np.zeros((k, f.shape[1]))
    np.add.at(ref, labels[correct], f[correct])
    ref[has_ref] /= np.bincount(labels[correct], minlength=k)[has_ref][:, None]
    both = np.concatenate([f[wrong], ref], axis=0)
    corr = correlation_matrix(both)[: wrong.size, wrong.size:]  # (M, k)
    c, w = labels[wrong], predicted[wrong]
    keep = np.broadcast_to(has_ref, corr.shape).copy()
    rows = np.arange(wrong.size)
    keep[rows, c] = False
    keep[rows, w] = False
    keep &= np.isfinite(corr)

    def passes_for(ws: np.ndarray) -> float:
        r_true = _masked_pearson(corr, ws[c], keep)
        r_pred = _masked_pearson(corr, ws[w], keep)
        with np.errstate(invalid="ignore"):
            return float(np.sum(r_true - r_pred > TIE_TOLERANCE))

    ws = np.asarray(word_sim, dtype=np.float64)
    tests = int(wrong.size)
    passes = passes_for(ws)
    acc = passes / tests
    null, count, p = _permutation_test(acc, lambda perm: passes_for(ws[np.ix_(perm, perm)]) / tests, k,
                                       permutations, seed)
    return TestResult(acc, passes, tests, null, count, p)
