"""The RSM maths: layouts, retrieval and Jensen–Shannon similarity against plain loops and SciPy."""

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import pearsonr, spearmanr

from semtool.errors import UserError
from semtool.measure.rsm import as_sets, js_similarity, prediction_correlation, retrieval


def test_as_sets_layouts():
    x = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)
    z = as_sets(x)
    assert z.shape == (2, 4, 3)
    np.testing.assert_array_equal(z[1, 3], x[1, :, 1, 1])  # position (1, 1) -> its 3 channels
    assert as_sets(np.zeros((2, 5, 7))).shape == (2, 5, 7)  # tokens
    assert as_sets(np.zeros((2, 7))).shape == (2, 1, 7)
    with pytest.raises(UserError):
        as_sets(np.full((2, 3), np.nan))


def test_retrieval_equals_a_plain_loop(rng):
    n = 15
    labels = rng.integers(0, 4, size=n)
    k = rng.normal(size=(n, n))
    k = (k + k.T) / 2
    hits, f1s = [], []
    for i in range(n):
        same = sum(1 for j in range(n) if labels[j] == labels[i]) - 1
        if same == 0:
            continue
        best = max((j for j in range(n) if j != i), key=lambda j: k[i, j])
        hit = labels[best] == labels[i]
        p, r = float(hit), float(hit) / same
        hits.append(p)
        f1s.append(2 * p * r / (p + r) if hit else 0.0)
    got = retrieval(k, labels)
    assert got["top1"] == pytest.approx(np.mean(hits))
    assert got["f1_at_1"] == pytest.approx(np.mean(f1s))


def test_js_similarity_and_correlation_with_scipy(rng):
    p = rng.dirichlet(np.ones(5), size=8)
    p[0] = [1, 0, 0, 0, 0]  # zeros: 0 log 0 = 0
    ref = np.array([[1 - jensenshannon(a, b, base=2) ** 2 for b in p] for a in p])
    np.testing.assert_allclose(js_similarity(p, rows=3), ref, atol=1e-12)
    k = rng.normal(size=(8, 8))
    k = (k + k.T) / 2
    iu = np.triu_indices(8, 1)
    got = prediction_correlation(k, p)
    assert got["pearson"] == pytest.approx(pearsonr(k[iu], ref[iu])[0])
    assert got["spearman"] == pytest.approx(spearmanr(k[iu], ref[iu])[0])
