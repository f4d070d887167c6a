"""The 2 vs 2 and 1 vs 2 tests between two spaces of the same concepts (Dharmaretnam & Fyshe 2018).

Two spaces of the same k concepts give two k×k similarity matrices W, I (Pearson
correlations between concept vectors, or class similarity matrices used directly). For
every pair of concepts (a, b), take rows a and b of each matrix without columns a and b
and correlate them (Pearson r over the k − 2 remaining columns):

    pass(a, b)  ⇔  r(W_a, I_a) + r(W_b, I_b)  >  r(W_a, I_b) + r(W_b, I_a)

strictly (a tie fails; a NaN, e.g. from a constant row, fails — the authors' code
behaves the same). Accuracy = passes / C(k, 2) (166 concepts → 13,695 tests; chance
0.5). All C(k, 2) tests are computed at once from row sums and one matrix product. Sums
that agree within ``TIE_TOLERANCE`` count as a tie: two routes to the same exact tie must
not pass or fail by a rounding bit.

A constant concept vector (e.g. an all-zero ReLU feature) correlates with nothing: its
row and column are NaN, so every test whose kept columns hold it fails and the null
collapses with the score. :func:`constant_concepts` finds them; ``drop_constant`` runs
without them.

Permutation test: relabel the concepts of one space (the same permutation of rows and
columns of I), N times. The paper gives no p-value formula: semtool reports
p = (1 + #{null ≥ score}) / (1 + N) (never 0; Phipson & Smyth 2010) and, beside it, the
authors' #{null > score} / N (their ``one_vs_two_graphs.py``).

1 vs 2 (the same paper): a misclassified image (true c, predicted w) is correlated with
the reference vectors of every concept that has a correctly classified image; that row
of correlations passes iff it correlates more with c's word-space row than with w's,
over the same reference concepts (w stays among them when it has a correctly classified
image, as in the paper and the authors' ``one_vs_two_vgg16.py``; the stricter
``exclude_predicted`` drops c and w). Its null: the authors shuffle each mistake's
true-class and predicted-class word rows across the mistakes (``null="rows"``);
``null="concepts"`` relabels the word space's concepts as the 2 vs 2 null does.

References
----------
Dharmaretnam, D., Fyshe, A. (2018). The emergence of semantics in neural network
representations of visual information. NAACL-HLT 2018.
Phipson, B., Smyth, G. K. (2010). Permutation p-values should never be zero.
Statistical Applications in Genetics and Molecular Biology 9(1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

    def differences(self, perm: np.ndarray | None = None) -> np.ndarray:
        """(r(W_a, I_a) + r(W_b, I_b)) − (r(W_a, I_b) + r(W_b, I_a)) per pair; NaN where undefined."""
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
            return (r(a, self.wa, a, ia) + r(b, self.wb, b, ib)) - (r(a, self.wa, b, ib) + r(b, self.wb, a, ia))

    def passes(self, perm: np.ndarray | None = None) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return self.differences(perm) > TIE_TOLERANCE


class _GroupedTwoVsTwo:
    """:class:`_TwoVsTwo` for G image groups of W against one I, the usual case (a network's
    features per group against one word space): I's relabelling and its dropped sums are
    computed once per permutation, W's side as stacked (G, …) arrays. The same arithmetic
    as G separate solvers, term by term, so the pass counts are identical."""

    def __init__(self, solvers: list[_TwoVsTwo]):
        first = solvers[0]
        self.a, self.b, self.k, self.n, self.i = first.a, first.b, first.k, first.n, first.i
        self.wx = np.stack([s.w.x for s in solvers])
        self.wa = tuple(np.stack(parts) for parts in zip(*(s.wa for s in solvers)))
        self.wb = tuple(np.stack(parts) for parts in zip(*(s.wb for s in solvers)))

    def pass_counts(self, perm: np.ndarray) -> np.ndarray:
        """Passes of each group (G,) with I relabelled by ``perm``."""
        a, b, n, k = self.a, self.b, self.n, self.k
        A, B = perm[a], perm[b]
        ix = self.i.x[np.ix_(perm, perm)]
        p = np.stack([w @ ix.T for w in self.wx]).reshape(len(self.wx), -1)
        ia = self.i.dropped(A, A, B)
        ib = self.i.dropped(B, A, B)

        def r(w_row, w_stats, i_row, i_stats):
            sx, vx, okx, xa, xb = w_stats
            sy, vy, oky, ya, yb = i_stats
            cov = p[:, w_row * k + i_row] - xa * ya - xb * yb - sx * sy / n
            with np.errstate(invalid="ignore", divide="ignore"):
                out = cov / np.sqrt(vx * vy)
            out[~(okx & oky)] = np.nan
            return out

        with np.errstate(invalid="ignore"):
            d = (r(a, self.wa, a, ia) + r(b, self.wb, b, ib)) - (r(a, self.wa, b, ib) + r(b, self.wb, a, ia))
            return (d > TIE_TOLERANCE).sum(axis=1)


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


def constant_concepts(m: np.ndarray) -> np.ndarray:
    """Indices of the concepts whose row of a similarity matrix (k, k) is all NaN.

    :func:`correlation_matrix` gives a constant concept vector (an all-zero ReLU feature,
    say) a NaN row and column: it correlates with nothing.
    """
    return np.flatnonzero(np.isnan(np.asarray(m, dtype=np.float64)).all(axis=1))


@dataclass
class TestResult:
    """One 2 vs 2 (or 1 vs 2) result: accuracy, pass count, tests and the permutation null.

    ``passes`` is the mean pass count over image groups (an integer with one group);
    ``null`` (N,) the null accuracies; ``null_count`` = #{null ≥ accuracy};
    ``p_value`` = (1 + null_count) / (1 + N); ``p_value_authors`` = #{null > accuracy} / N,
    the authors' form (NaN without permutations). ``constant``: concepts with a constant
    vector (a NaN row) in either space; ``nan_tests``: tests that failed because a
    correlation was undefined (mean over groups); ``dropped``: whether the constant
    concepts were left out (then ``tests`` counts the tests without them).
    """

    accuracy: float
    passes: float
    tests: int
    null: np.ndarray
    null_count: int
    p_value: float
    groups: int = 1
    p_value_authors: float = float("nan")
    constant: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    nan_tests: float = 0.0
    dropped: bool = False


@dataclass
class OneVsTwoResult(TestResult):
    """A 1 vs 2 result: ``tests`` counts the testable mistakes, ``mistakes`` all of them.

    ``reference`` (tests,) holds how many reference concepts each tested mistake used;
    ``untestable`` the mistakes with fewer than the minimum (never counted as failures).
    """

    mistakes: int = 0
    untestable: int = 0
    reference: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    null_kind: str = "rows"
    exclude_predicted: bool = False


def _null_stats(score: float, null: np.ndarray) -> tuple[int, float, float]:
    """#{null ≥ score}, semtool's p = (1 + that) / (1 + N) and the authors' #{null > score} / N."""
    n = null.size
    count = int(np.sum(null >= score - 1e-12))
    authors = float(np.sum(null > score + 1e-12)) / n if n else float("nan")
    return count, (1 + count) / (1 + n), authors


def _permutation_test(score: float, scores_for: Callable[[np.ndarray], float], k: int,
                      permutations: int, seed: int) -> tuple[np.ndarray, int, float, float]:
    rng = np.random.default_rng(seed)
    null = np.empty(permutations)
    for t in range(permutations):
        null[t] = scores_for(rng.permutation(k))
    return (null, *_null_stats(score, null))


def two_vs_two(W: np.ndarray | list[np.ndarray], I: np.ndarray | list[np.ndarray], *, permutations: int = 1000,
               seed: int = 0, drop_constant: bool = False) -> TestResult:
    """The 2 vs 2 test of similarity matrices W and I (k, k), with its permutation test.

    Either side may be a list of matrices, one per image group (one image per concept
    in each); group g of W meets group g of I (or the single matrix of the other side)
    and the pass counts are averaged over groups. The null permutes the concepts of I
    (one shared row/column permutation per draw, the same for all groups).

    A concept with a constant vector (a NaN row, :func:`constant_concepts`) in any matrix
    makes every test whose kept columns hold it fail, as in the authors' code; the
    result names those concepts (``constant``) and counts the tests they decided
    (``nan_tests``). ``drop_constant`` runs without them instead (at least 4 must remain).
    """
    ws = W if isinstance(W, list) else [W]
    is_ = I if isinstance(I, list) else [I]
    g = min(len(ws), len(is_)) if len(ws) > 1 and len(is_) > 1 else max(len(ws), len(is_))
    ws = ws * g if len(ws) == 1 else ws[:g]
    is_ = is_ * g if len(is_) == 1 else is_[:g]
    pairs = [_check_pair(w, i) for w, i in zip(ws, is_)]
    constant = np.unique(np.concatenate([constant_concepts(m) for pair in pairs for m in pair]))
    if drop_constant and constant.size:
        keep = np.setdiff1d(np.arange(pairs[0][0].shape[0]), constant)
        if keep.size < 4:
            raise UserError(f"2 vs 2: only {keep.size} concepts remain without the {constant.size} constant ones "
                            "(at least 4 are needed)")
        pairs = [(w[np.ix_(keep, keep)], i[np.ix_(keep, keep)]) for w, i in pairs]
    k = pairs[0][1].shape[0]
    a, b = pair_indices(k)
    tests = int(a.size)
    solvers = [_TwoVsTwo(w, i, a, b) for w, i in pairs]
    diffs = [s.differences() for s in solvers]
    with np.errstate(invalid="ignore"):
        passes = float(np.mean([(d > TIE_TOLERANCE).sum() for d in diffs]))
    nan_tests = float(np.mean([np.isnan(d).sum() for d in diffs]))

    # Groups against one I: its relabelling once per permutation (the same numbers).
    grouped = (_GroupedTwoVsTwo(solvers) if len(solvers) > 1
               and all(np.array_equal(i, pairs[0][1], equal_nan=True) for _, i in pairs) else None)

    def passes_for(perm: np.ndarray) -> float:
        if grouped is not None:
            return float(np.mean(grouped.pass_counts(perm)))
        return float(np.mean([s.passes(perm).sum() for s in solvers]))

    acc = passes / tests
    null, count, p, authors = _permutation_test(acc, lambda perm: passes_for(perm) / tests, k, permutations, seed)
    return TestResult(acc, passes, tests, null, count, p, len(solvers), authors, constant, nan_tests,
                      bool(drop_constant and constant.size))


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


ONE_VS_TWO_NULLS = {
    "rows": "each mistake's true-class and predicted-class word rows shuffled across the mistakes "
            "(the authors' one_vs_two_vgg16.py, used for the paper's figure)",
    "concepts": "the word space's concepts relabelled (one shared row/column permutation), as the 2 vs 2 null",
}
MIN_REFERENCE = 3  # Pearson r over 2 values is always ±1: 3 is the least that says anything.


def one_vs_two(features: np.ndarray, labels: np.ndarray, predicted: np.ndarray, word_sim: np.ndarray, *,
               exclude_predicted: bool = False, null: str = "rows", min_reference: int = MIN_REFERENCE,
               drop_constant: bool = False, permutations: int = 1000, seed: int = 0) -> OneVsTwoResult:
    """The 1 vs 2 test for misclassified images (Dharmaretnam & Fyshe 2018).

    Parameters
    ----------
    features : (N, F) or (N, …) array, flattened per image (the authors flatten too).
    labels, predicted : (N,) true and predicted concept indices into ``word_sim``.
    word_sim : (k, k) word-space similarities (Pearson correlations of word vectors, or a CSM).
    exclude_predicted : semtool's stricter variant: drop the true class c and the
        predicted class w from each mistake's reference set. By default (the paper: "all
        word vectors for which there was a corresponding correctly classified image", and
        the authors' ``one_vs_two_vgg16.py``) the reference set is every concept with a
        correctly classified image, w included when it has one.
    null : ``rows`` (the authors' null: the mistakes' true-class and predicted-class word
        rows shuffled across the mistakes, two independent permutations per draw) or
        ``concepts`` (the word space's concepts relabelled).
    min_reference : a mistake whose reference set holds fewer concepts cannot be tested:
        it is counted in ``untestable``, never as a failure. No testable mistake is an error.
    drop_constant : leave out concepts with a constant reference vector or word row
        (otherwise their NaN correlations make the tests that use them fail, as in 2 vs 2).

    Returns
    -------
    :class:`OneVsTwoResult`. Reference vectors are the mean features of each concept's
    correctly classified images. A mistake's row x_j = r(image, reference_j) over its
    reference concepts j passes iff r(x, word_sim[c]) > r(x, word_sim[w]) over the same
    columns (strict; NaN fails).
    """
    if null not in ONE_VS_TWO_NULLS:
        raise UserError(f"null must be one of {', '.join(ONE_VS_TWO_NULLS)}, got '{null}'")
    if min_reference < 3:
        raise UserError(f"min_reference must be at least 3 (Pearson r over 2 values is ±1), got {min_reference}")
    f = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    ws = np.asarray(word_sim, dtype=np.float64)
    k = ws.shape[0]
    correct = labels == predicted
    wrong = np.flatnonzero(~correct)
    if wrong.size == 0:
        raise UserError("1 vs 2: the predictions hold no misclassified images")
    counts = np.bincount(labels[correct], minlength=k)
    has_ref = counts > 0
    ref = np.zeros((k, f.shape[1]))
    np.add.at(ref, labels[correct], f[correct])
    ref[has_ref] /= counts[has_ref][:, None]
    both = np.concatenate([f[wrong], ref], axis=0)
    corr = correlation_matrix(both)[: wrong.size, wrong.size:]  # (M, k)
    c, w = labels[wrong], predicted[wrong]
    # Constant: a reference vector that correlates with nothing, or a NaN word row.
    constant = np.flatnonzero((has_ref & np.isnan(corr).all(axis=0)) | np.isnan(ws).all(axis=1))
    usable = has_ref.copy()
    rows = np.arange(wrong.size)
    if drop_constant:
        usable[constant] = False
    keep = np.broadcast_to(usable, corr.shape).copy()
    if exclude_predicted:
        keep[rows, c] = False
        keep[rows, w] = False
    n_ref = keep.sum(axis=1)
    testable = n_ref >= min_reference
    if drop_constant:
        testable &= ~np.isin(c, constant) & ~np.isin(w, constant)
    if not testable.any():
        raise UserError(f"1 vs 2: no misclassified image has {min_reference} or more reference concepts "
                        f"({int(has_ref.sum())} of {k} concepts have a correctly classified image"
                        + (", c and w excluded" if exclude_predicted else "") + ")")
    t = np.flatnonzero(testable)
    corr, keep, c, w = corr[t], keep[t], c[t], w[t]

    def passes_for(true_rows: np.ndarray, pred_rows: np.ndarray) -> tuple[float, int]:
        d = _masked_pearson(corr, true_rows, keep) - _masked_pearson(corr, pred_rows, keep)
        with np.errstate(invalid="ignore"):
            return float(np.sum(d > TIE_TOLERANCE)), int(np.isnan(d).sum())

    tests = int(t.size)
    passes, nan_tests = passes_for(ws[c], ws[w])
    acc = passes / tests
    rng = np.random.default_rng(seed)
    null_acc = np.empty(permutations)
    for i in range(permutations):
        if null == "rows":
            null_acc[i] = passes_for(ws[c[rng.permutation(tests)]], ws[w[rng.permutation(tests)]])[0] / tests
        else:
            perm = rng.permutation(k)
            wp = ws[np.ix_(perm, perm)]
            null_acc[i] = passes_for(wp[c], wp[w])[0] / tests
    count, p, authors = _null_stats(acc, null_acc)
    return OneVsTwoResult(acc, passes, tests, null_acc, count, p, 1, authors, constant, float(nan_tests),
                          bool(drop_constant and constant.size), mistakes=int(wrong.size),
                          untestable=int(wrong.size - tests), reference=n_ref[t], null_kind=null,
                          exclude_predicted=exclude_predicted)
