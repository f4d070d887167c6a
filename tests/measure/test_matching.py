"""Matchers against brute force over all S! permutations and plain-loop references."""

import itertools

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.measure.matching import (MATCHERS, batch_optimal, get_matcher, greedy, matched_values,
                                      optimal)


def _relu_sets(rng, b, s, d=16):
    """Pairs of ReLU-like feature sets and their inner-product matrices (B, S, S)."""
    zi = np.maximum(rng.normal(size=(b, s, d)), 0)
    zj = np.maximum(rng.normal(size=(b, s, d)), 0)
    return zi, zj, np.matmul(zi, zj.transpose(0, 2, 1))


def _brute_force(m):
    s = m.shape[0]
    return max(sum(m[r, p[r]] for r in range(s)) for p in itertools.permutations(range(s)))


@pytest.mark.parametrize("s", [1, 2, 3, 4, 5, 6])
def test_optimal_equals_brute_force_over_all_permutations(rng, s):
    m = rng.normal(size=(20, s, s))  # signed entries too
    perm = optimal(m)
    for b in range(len(m)):
        assert sorted(perm[b]) == list(range(s))
    np.testing.assert_allclose(matched_values(m, perm), [_brute_force(x) for x in m], rtol=1e-12, atol=1e-12)


def test_batch_optimal_with_k_equal_s_is_optimal(rng):
    zi, zj, m = _relu_sets(rng, 30, 9)
    ri, rj = np.linalg.norm(zi, axis=2), np.linalg.norm(zj, axis=2)
    np.testing.assert_allclose(matched_values(m, batch_optimal(m, ri, rj, k=9)), matched_values(m, optimal(m)),
                               rtol=1e-12)


def test_batch_optimal_solves_each_norm_sorted_block_exactly(rng):
    s, k = 6, 3
    zi, zj, m = _relu_sets(rng, 15, s)
    ri, rj = np.linalg.norm(zi, axis=2), np.linalg.norm(zj, axis=2)
    got = matched_values(m, batch_optimal(m, ri, rj, k=k))
    for b in range(len(m)):
        oi, oj = np.argsort(-ri[b]), np.argsort(-rj[b])
        ref = sum(_brute_force(m[b][np.ix_(oi[q:q + k], oj[q:q + k])]) for q in range(0, s, k))
        assert got[b] == pytest.approx(ref, rel=1e-12)


def _greedy_loop(m):
    """Plain loop: rows by decreasing best entry, each takes its best free column."""
    s = m.shape[0]
    taken, perm = set(), [0] * s
    for r in sorted(range(s), key=lambda r: -m[r].max()):
        c = max((c for c in range(s) if c not in taken), key=lambda c: m[r, c])
        perm[r] = c
        taken.add(c)
    return perm


def test_greedy_equals_a_plain_loop_and_is_a_permutation(rng):
    _, _, m = _relu_sets(rng, 25, 7)
    perm = greedy(m)
    for b in range(len(m)):
        assert perm[b].tolist() == _greedy_loop(m[b])


def test_greedy_reaches_ninety_percent_of_the_optimum_on_relu_features(rng):
    _, _, m = _relu_sets(rng, 200, 49, d=64)
    frac = matched_values(m, greedy(m)) / matched_values(m, optimal(m))
    print(f"greedy / optimal on ReLU features (S=49, D=64): mean {frac.mean():.4f}, min {frac.min():.4f}")
    assert frac.max() <= 1 + 1e-12
    assert frac.mean() >= 0.9


def test_matcher_registry_and_bad_specs():
    assert set(MATCHERS) == {"optimal", "batch-optimal:K", "greedy"}
    assert get_matcher("batch-optimal:16").name == "batch-optimal:16"
    for bad in ("batch-optimal:0", "batch-optimal:x", "batch-optimal", "hungarian"):
        with pytest.raises(UserError):
            get_matcher(bad)
