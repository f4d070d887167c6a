"""CSMs against plain loops on seeded random data (Filus et al.)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.measure import ccsm, check_csm, class_means, groups_csm, ncsm, tncsm
from tests._helpers import Case, assert_matches_reference, seeded_cases


def _cos_loop(x):
    c = len(x)
    out = np.empty((c, c))
    for i in range(c):
        for j in range(c):
            out[i, j] = sum(a * b for a, b in zip(x[i], x[j])) / (
                math.sqrt(sum(a * a for a in x[i])) * math.sqrt(sum(b * b for b in x[j])))
    return out


def test_ncsm_equals_loop():
    assert_matches_reference(ncsm, lambda w: _cos_loop(w.tolist()), seeded_cases(lambda rng: rng.normal(size=(12, 9))),
                             atol=1e-12, source="cosine of the weight rows in a plain loop")


def test_ncsm_zero_row_is_user_error():
    w = np.ones((3, 4))
    w[1] = 0
    with pytest.raises(UserError, match="row 1"):
        ncsm(w)


def _ccsm_loop(labels, preds, c, symmetric=False):
    ref = np.zeros((c, c))
    for i in range(c):
        rows = [p for l, p in zip(labels, preds) if l == i]
        for j in range(c):
            ref[i, j] = (sum(1 for p in rows if p == j) / len(rows)) if rows else 0.0
    if symmetric:
        ref = (ref + ref.T) / 2
    for i in range(c):
        ref[i, i] = 1.0
    return ref


@pytest.mark.parametrize("symmetric", [False, True])
def test_ccsm_equals_loop(symmetric):
    def make(rng):
        c, n = 7, 400
        labels = rng.integers(0, c, n)
        preds = np.where(rng.random(n) < 0.6, labels, rng.integers(0, c, n))
        labels[labels == 3] = 2  # class 3 has no samples: a zero row
        return Case((labels, preds, c), {"symmetric": symmetric})

    assert_matches_reference(ccsm, _ccsm_loop, seeded_cases(make), atol=1e-15,
                             source="confusion counts, rows normalised, in a plain loop")


def test_ccsm_index_out_of_range():
    with pytest.raises(UserError, match="outside"):
        ccsm(np.array([0, 1]), np.array([0, 5]), 3)


@pytest.mark.parametrize("shape,pool", [((60, 5), "mean"), ((60, 4, 3, 3), "mean"), ((60, 4, 3, 3), "max"),
                                        ((60, 4, 3, 3), "flatten"), ((60, 7, 5), "mean"), ((60, 7, 5), "max"),
                                        ((60, 7, 5), "flatten"), ((60, 7, 5), "cls")])
def test_tncsm_equals_loop(rng, shape, pool):
    """Per shape: (N, D) vectors, (N, C, H, W) maps (channels first), (N, T, D) tokens (channels last)."""
    c = 5
    x = rng.normal(size=shape).astype(np.float32)
    labels = np.arange(shape[0]) % c
    rng.shuffle(labels)
    pooled = []
    for s in x.astype(np.float64):
        if s.ndim == 1:
            pooled.append(s)
        elif s.ndim == 2 and pool != "flatten":  # (T, D): one D-vector per sample from its tokens
            pooled.append({"mean": s.mean(axis=0), "max": s.max(axis=0), "cls": s[0]}[pool])
        elif pool == "mean":
            pooled.append(s.reshape(s.shape[0], -1).mean(axis=1))
        elif pool == "max":
            pooled.append(s.reshape(s.shape[0], -1).max(axis=1))
        else:
            pooled.append(s.reshape(-1))
    means = [np.mean([p for p, l in zip(pooled, labels) if l == k], axis=0) for k in range(c)]
    np.testing.assert_allclose(class_means(x, labels, c, pool=pool), np.array(means), rtol=0, atol=1e-12)
    np.testing.assert_allclose(tncsm(x, labels, c, pool=pool), _cos_loop([m.tolist() for m in means]),
                               rtol=0, atol=1e-12)


def test_token_class_means_average_samples_and_tokens(rng):
    """Class means of (N, T, D) tokens are the mean of every token vector of the class's samples (D,)."""
    x = rng.normal(size=(24, 5, 3))
    labels = np.arange(24) % 4
    got = class_means(x, labels, 4)
    assert got.shape == (4, 3)
    for c in range(4):
        np.testing.assert_allclose(got[c], x[labels == c].reshape(-1, 3).mean(axis=0), atol=1e-12)


@pytest.mark.parametrize("shape", [(10, 6), (10, 4, 3, 3)])
def test_class_token_is_refused_without_tokens(rng, shape):
    with pytest.raises(UserError, match="class token.*without tokens"):
        tncsm(rng.normal(size=shape), np.arange(10) % 5, 5, pool="cls")


def test_class_without_samples():
    with pytest.raises(UserError, match="class 2 has no samples"):
        class_means(np.ones((4, 2)), np.array([0, 1, 0, 1]), 3)


def test_groups_block_matrix():
    g = np.array([0, 1, 0, -1, 1])
    ref = np.array([[1.0 if (i == j or (g[i] == g[j] and g[i] >= 0)) else 0.0 for j in range(5)] for i in range(5)])
    np.testing.assert_array_equal(groups_csm(g), ref)


@pytest.mark.parametrize("bad,msg", [(np.ones((3, 4)), "square"), (np.ones((1, 1)), "1×1"),
                                     (np.array([[1.0, np.nan], [0, 1]]), "NaN"),
                                     (np.array([[1.0, np.inf], [0, 1]]), "NaN or inf")])
def test_check_csm_rejects(bad, msg):
    with pytest.raises(UserError, match=msg):
        check_csm(bad, "x.h5")
