"""Chance levels of the card: SAI with shuffled classes, IDM of random mistakes, retrieval of a random neighbour."""

from __future__ import annotations

import itertools

import numpy as np

from semtool.measure.idm import idm, idm_chance
from semtool.measure.rsm import retrieval_chance
from semtool.measure.sai import sai, sai_null


def test_sai_null_is_sai_of_the_relabelled_matrix(rng):
    a, b = rng.random((9, 9)), rng.random((9, 9))
    null = sai_null(a, b, "cosine", permutations=5, seed=3)
    gen = np.random.default_rng(3)  # the same draws, by a plain loop over semtool.measure.sai.sai
    ref = []
    for _ in range(5):
        p = gen.permutation(9)
        ref.append(sai(a, b[np.ix_(p, p)], "cosine"))
    np.testing.assert_allclose(null, ref, rtol=0, atol=1e-12)
    assert sai_null(a, a, "ssim", permutations=50, seed=0).mean() < sai(a, a, "ssim") == 1.0


def test_idm_chance_is_the_mean_over_every_wrong_class():
    csm = np.random.default_rng(1).random((6, 6))
    csm = (csm + csm.T) / 2  # distinct off-diagonal values: no ties
    c = len(csm)
    # every (true, predicted ≠ true) pair once: the uniform random mistake, enumerated
    pairs = [(t, p) for t, p in itertools.product(range(c), range(c)) if t != p]
    labels, preds = np.array(pairs).T
    assert idm(labels, preds, csm, errors_only=True) == idm_chance(c)
    # half the samples correct: 1 − 0.5 · E[DM | mistake]
    labels2 = np.concatenate([labels, labels])
    preds2 = np.concatenate([preds, labels])
    assert abs(idm(labels2, preds2, csm) - idm_chance(c, accuracy=0.5)) < 1e-12


def test_retrieval_chance_counts_same_class_pairs():
    labels = np.array([0, 0, 0, 1, 1, 2])
    n = len(labels)
    same = sum(labels[i] == labels[j] for i in range(n) for j in range(n) if i != j)
    assert retrieval_chance(labels) == same / (n * (n - 1))
