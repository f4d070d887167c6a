"""2 vs 2 and 1 vs 2 tests against per-pair (per-image) loops written here."""

import itertools

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.measure.twovtwo import (TIE_TOLERANCE, correlation_matrix, image_groups, one_vs_two, two_vs_two,
                                     two_vs_two_passes)


def _pearson(x, y):
    """Pearson r; undefined (NaN) for a constant vector."""
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    return np.corrcoef(x, y)[0, 1]


def _loop(W, I):
    """The definition, one pair at a time: strict '>' (ties within TIE_TOLERANCE fail), NaN fails."""
    k = len(W)
    out = []
    for a, b in itertools.combinations(range(k), 2):
        keep = [j for j in range(k) if j not in (a, b)]

        def r(x, y):
            return _pearson(x[keep], y[keep])

        out.append(r(W[a], I[a]) + r(W[b], I[b]) > r(W[a], I[b]) + r(W[b], I[a]) + TIE_TOLERANCE)
    return np.array(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pass_counts_equal_a_per_pair_loop_with_ties_and_a_constant_row(seed):
    rng = np.random.default_rng(seed)
    k = 14
    a = rng.normal(size=(k, 6))
    b = a + rng.normal(size=(k, 6))
    b[3] = b[5]  # identical concepts in B: the pair (3, 5) is an exact tie
    W, I = correlation_matrix(a), correlation_matrix(b)
    W[7] = 0.3  # a constant row (a csm-like input): its tests are NaN and fail
    W[7, 7] = 1.0
    got = two_vs_two_passes(W, I)
    ref = _loop(W, I)
    np.testing.assert_array_equal(got, ref)
    pair = list(itertools.combinations(range(k), 2)).index((3, 5))
    assert not got[pair]
    perm = rng.permutation(k)  # the permutation test's relabelled I, too
    from semtool.measure.twovtwo import _TwoVsTwo, pair_indices

    np.testing.assert_array_equal(_TwoVsTwo(W, I, *pair_indices(k)).passes(perm), _loop(W, I[np.ix_(perm, perm)]))


def test_constant_concept_vector_fails_every_test_touching_it(rng):
    v = rng.normal(size=(6, 5))
    v[2] = 4.0
    W = correlation_matrix(v)
    assert np.isnan(W[2]).all() and np.isnan(W[:, 2]).all()
    np.testing.assert_array_equal(two_vs_two_passes(W, correlation_matrix(rng.normal(size=(6, 5)))),
                                  np.zeros(15, bool))


def test_a_space_against_itself_scores_one(rng):
    W = correlation_matrix(rng.normal(size=(25, 10)))
    res = two_vs_two(W, W, permutations=50, seed=0)
    assert res.accuracy == 1.0
    assert res.p_value == pytest.approx(1 / 51)


def test_166_concepts_give_13695_tests(rng):
    W = correlation_matrix(rng.normal(size=(166, 8)))
    res = two_vs_two(W, correlation_matrix(rng.normal(size=(166, 8))), permutations=0)
    assert res.tests == 13_695


def test_random_relabelling_scores_chance():
    """Mean over seeds within 0.5 ± 3σ, σ² ≤ 1/4n: an accuracy in [0, 1] has at most the binomial variance 1/4."""
    n = 300
    accs = []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        W = correlation_matrix(rng.normal(size=(12, 6)))
        perm = rng.permutation(12)
        accs.append(two_vs_two_passes(W, W[np.ix_(perm, perm)]).mean())
    assert abs(np.mean(accs) - 0.5) <= 3 * np.sqrt(0.25 / n)


def test_permutation_p_value_formula_and_null(rng):
    x = rng.normal(size=(15, 6))
    W, I = correlation_matrix(x), correlation_matrix(x + 2 * rng.normal(size=(15, 6)))
    res = two_vs_two(W, I, permutations=200, seed=3)
    assert res.null.shape == (200,)
    assert res.null_count == int(np.sum(res.null >= res.accuracy))
    assert res.p_value == (1 + res.null_count) / 201
    assert abs(res.null.mean() - 0.5) <= 3 * np.sqrt(0.25 / 200)
    again = two_vs_two(W, I, permutations=200, seed=3)
    np.testing.assert_array_equal(res.null, again.null)


def test_group_average_over_images(rng):
    k, per = 6, 3
    labels = np.repeat(np.arange(k), per)[rng.permutation(k * per)]
    feats = rng.normal(size=(k * per, 9))
    groups = image_groups(labels, k)
    assert len(groups) == per
    for g in groups:
        np.testing.assert_array_equal(labels[g], np.arange(k))
    I = correlation_matrix(rng.normal(size=(k, 4)))
    ws = [correlation_matrix(feats[g]) for g in groups]
    res = two_vs_two(ws, I, permutations=0)
    assert res.passes == pytest.approx(np.mean([_loop(w, I).sum() for w in ws]))
    assert res.groups == per


def test_fewer_than_four_concepts_is_a_user_error(rng):
    W = correlation_matrix(rng.normal(size=(3, 5)))
    with pytest.raises(UserError, match="at least 4"):
        two_vs_two(W, W)


def test_one_vs_two_equals_a_per_image_loop(rng):
    k, n = 6, 60
    labels = np.arange(n) % k
    centres = rng.normal(size=(k, 8))
    feats = centres[labels] + rng.normal(size=(n, 8))
    predicted = labels.copy()
    wrong = rng.choice(n, size=12, replace=False)
    predicted[wrong] = (labels[wrong] + rng.integers(1, k, size=12)) % k
    words = correlation_matrix(centres + 0.5 * rng.normal(size=(k, 8)))
    res = one_vs_two(feats, labels, predicted, words, permutations=30, seed=0)
    ok = labels == predicted
    ref_vecs = np.array([feats[ok & (labels == c)].mean(axis=0) for c in range(k)])
    passes = 0
    for i in np.flatnonzero(~ok):
        c, w = labels[i], predicted[i]
        keep = [j for j in range(k) if j not in (c, w)]
        row = np.array([_pearson(feats[i], ref_vecs[j]) for j in keep])
        passes += _pearson(row, words[c, keep]) > _pearson(row, words[w, keep]) + TIE_TOLERANCE
    assert res.tests == 12
    assert res.passes == passes
    assert res.p_value == (1 + np.sum(res.null >= res.accuracy)) / 31
