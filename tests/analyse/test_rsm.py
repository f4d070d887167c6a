"""Spatio-semantic and semantic RSMs over all samples against rsatoolbox, SciPy and per-pair loops."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from semtool.analyse.rsm import semantic_rsm, spatio_semantic_rsm
from semtool.measure.rsm import as_sets


def _maps(rng, n=8, c=5, h=3, w=4):
    return np.maximum(rng.normal(size=(n, c, h, w)), 0) + 0.05


def _authors_loop(x, kernel):
    """The authors' scheme: per pair, cost matrix, linear_sum_assignment, kernel (plain loop)."""
    z = as_sets(x)
    n = len(z)
    inner = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            cols = linear_sum_assignment(-(z[i] @ z[j].T))[1]
            inner[i, j] = np.sum(z[i] * z[j][cols])
    sq = np.array([np.sum(zi * zi) for zi in z])
    if kernel == "inner":
        return inner
    if kernel == "cosine":
        return inner / np.sqrt(np.outer(sq, sq))
    d2 = np.array([[sq[i] + sq[j] - 2 * inner[i, j] for j in range(n)] for i in range(n)])
    d2 = np.maximum(d2, 0)
    np.fill_diagonal(d2, 0)
    sigma = np.sqrt(np.median([d2[i, j] for i in range(n) for j in range(i + 1, n) if d2[i, j] > 0]))
    return np.exp(-d2 / (2 * sigma**2))


@pytest.mark.parametrize("kernel", ["inner", "cosine", "rbf"])
def test_semantic_rsm_equals_the_authors_per_pair_loop(rng, kernel):
    x = _maps(rng)
    got = semantic_rsm(x, kernel=kernel).matrix
    np.testing.assert_allclose(got, _authors_loop(x, kernel), rtol=1e-10, atol=1e-12)


def test_circular_shift_is_semantically_identical_but_not_spatio_semantically(rng):
    base = _maps(rng, n=1, c=6, h=5, w=5)[0]
    shifted = np.roll(base, shift=(2, 1), axis=(1, 2))
    x = np.stack([base, shifted])
    assert semantic_rsm(x, kernel="cosine").matrix[0, 1] == pytest.approx(1.0, abs=1e-12)
    assert spatio_semantic_rsm(x, kernel="cosine")[0, 1] < 0.99


def test_cosine_kernel_is_inner_product_over_frobenius_norms(rng):
    x = _maps(rng)
    flat = x.reshape(len(x), -1)
    ref = flat @ flat.T / np.outer(np.linalg.norm(flat, axis=1), np.linalg.norm(flat, axis=1))
    np.testing.assert_allclose(spatio_semantic_rsm(x, kernel="cosine"), ref, rtol=1e-12)
    sem = semantic_rsm(x, kernel="inner")
    norms = np.sqrt(np.einsum("nsd,nsd->n", as_sets(x), as_sets(x)))
    np.testing.assert_allclose(semantic_rsm(x, kernel="cosine").matrix, sem.matrix / np.outer(norms, norms),
                               rtol=1e-12)


def test_spatio_semantic_rsm_matches_rsatoolbox_rdms(rng):
    rsatoolbox = pytest.importorskip("rsatoolbox", reason="rsatoolbox (test-only reference) is not installed")
    x = rng.normal(size=(7, 4, 3, 3))
    flat = x.reshape(len(x), -1)
    centred = flat - flat.mean(axis=1, keepdims=True)
    data = rsatoolbox.data.Dataset(flat)
    corr = rsatoolbox.rdm.calc_rdm(data, method="correlation").get_matrices()[0]
    np.testing.assert_allclose(1 - spatio_semantic_rsm(centred, kernel="cosine"), corr, atol=1e-12)
    eucl = rsatoolbox.rdm.calc_rdm(data, method="euclidean").get_matrices()[0]  # mean squared difference
    inner = spatio_semantic_rsm(flat, kernel="inner")
    d2 = np.diag(inner)[:, None] + np.diag(inner)[None, :] - 2 * inner
    np.testing.assert_allclose(d2 / flat.shape[1], eucl, atol=1e-10)


def test_rbf_uses_the_median_heuristic(rng):
    x = rng.normal(size=(9, 12))
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1)
    sigma = np.sqrt(np.median(d2[np.triu_indices(9, 1)]))
    np.testing.assert_allclose(spatio_semantic_rsm(x, kernel="rbf"), np.exp(-d2 / (2 * sigma**2)), rtol=1e-10)


def test_approximate_matchers_record_their_fraction_of_the_optimum(rng):
    x = _maps(rng, n=10, c=8, h=4, w=4)
    opt = semantic_rsm(x, kernel="inner")
    assert opt.quality_fraction.size == 0
    for spec in ("greedy", "batch-optimal:4"):
        res = semantic_rsm(x, kernel="inner", matcher=spec, quality_pairs=20, seed=1)
        i, j = res.quality_pairs.T
        np.testing.assert_allclose(res.quality_fraction, res.inner[i, j] / opt.inner[i, j], rtol=1e-12)
        assert np.all(res.quality_fraction <= 1 + 1e-12)
        assert np.all(res.inner <= opt.inner + 1e-9)


def test_worker_processes_give_the_same_matrix(rng):
    x = _maps(rng, n=12)
    one = semantic_rsm(x, kernel="cosine", matcher="batch-optimal:3").matrix
    two = semantic_rsm(x, kernel="cosine", matcher="batch-optimal:3", workers=2).matrix
    np.testing.assert_allclose(one, two, rtol=1e-12)


@pytest.mark.parametrize("spec, k", [("batch-optimal:3", 3), ("batch-optimal:5", 5), ("greedy", None)])
def test_semantic_rsm_approximate_matchers_equal_the_matcher_on_each_pair(rng, spec, k):
    """The RSM's fast path (only the K×K blocks of norm-sorted products) equals the matcher applied per pair."""
    from semtool.measure.matching import batch_optimal, greedy, matched_values

    x = _maps(rng, n=7, c=5, h=3, w=4)  # S = 12: blocks 3·4 or 5, 5, 2
    z = as_sets(x)
    got = semantic_rsm(x, kernel="inner", matcher=spec, quality_pairs=0).inner
    norms = np.linalg.norm(z, axis=2)
    for i in range(7):
        for j in range(i + 1, 7):
            m = (z[i] @ z[j].T)[None]
            perm = greedy(m) if k is None else batch_optimal(m, norms[i][None], norms[j][None], k=k)
            assert got[i, j] == pytest.approx(matched_values(m, perm)[0], rel=1e-12)


def test_rbf_authors_sigma_equals_their_own_rbf(rng):
    """Restated from TaWald/semantic_rsm `src/srsm/core/sim_func.py` (own_rbf): squared distances over all
    n×n pairs, σ = √torch.median(nonzero) + 1e-3 (torch.median is the lower median), K = exp(−½ d²/σ²)."""
    torch = pytest.importorskip("torch")
    x = rng.normal(size=(8, 12))  # 28 pairs: an even count, where the lower median differs from the median
    t = torch.from_numpy(x)
    dist = torch.sum((t[:, None, :] - t[None, :, :]) ** 2, dim=-1)
    sigma = torch.sqrt(torch.median(dist[dist != 0])) + 1e-3
    ref = torch.exp(-0.5 * (dist / sigma**2)).numpy()
    np.testing.assert_allclose(spatio_semantic_rsm(x, kernel="rbf", sigma="authors"), ref, rtol=1e-10, atol=1e-12)
    assert not np.allclose(spatio_semantic_rsm(x, kernel="rbf"), ref, rtol=1e-6)  # the default differs


@pytest.mark.parametrize("layout", ["maps", "tokens", "vectors"])
def test_each_layout_gives_its_vectors_to_the_matching(rng, layout):
    """(N, C, H, W) maps, (N, T, D) tokens and (N, D) vectors: the same sets of D-vectors give the same RSMs."""
    z = np.maximum(rng.normal(size=(6, 4, 5)), 0) + 0.05  # (N, S, D) sets
    if layout == "vectors":
        z = z[:, :1]
    x = {"maps": z.transpose(0, 2, 1).reshape(6, 5, z.shape[1], 1), "tokens": z, "vectors": z[:, 0]}[layout]
    np.testing.assert_allclose(semantic_rsm(x, kernel="cosine").matrix, _authors_loop(z, "cosine"), atol=1e-12)
    shuffled = z[:, rng.permutation(z.shape[1])]  # a set has no order: the semantic RSM ignores it
    np.testing.assert_allclose(semantic_rsm(shuffled, kernel="inner").matrix, semantic_rsm(x, kernel="inner").matrix,
                               atol=1e-10)
    flat = z.reshape(6, -1)
    np.testing.assert_allclose(spatio_semantic_rsm(x, kernel="inner"), flat @ flat.T, atol=1e-10)
