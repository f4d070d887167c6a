"""SAI and SSIM against scikit-image and plain loops (Filus et al.; Wang et al. 2004)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.measure import drop_diagonal, minmax, normalised, pairwise_sai, sai, ssim
from tests._helpers import Case, assert_matches_reference, seeded_cases


def _norm_loop(m):
    c = len(m)
    off = [[m[i][j] for j in range(c) if j != i] for i in range(c)]
    flat = [v for r in off for v in r]
    lo, hi = min(flat), max(flat)
    return [[(v - lo) / (hi - lo) for v in r] for r in off]


def _measure_loop(a, b, measure):
    fa = [v for r in a for v in r]
    fb = [v for r in b for v in r]
    if measure == "cosine":
        return sum(x * y for x, y in zip(fa, fb)) / math.sqrt(sum(x * x for x in fa) * sum(y * y for y in fb))
    if measure == "mse":
        return sum((x - y) ** 2 for x, y in zip(fa, fb)) / len(fa)
    return sum(abs(x - y) for x, y in zip(fa, fb)) / len(fa)


def _sai_loop(a, b, measure):
    return _measure_loop(_norm_loop(a.tolist()), _norm_loop(b.tolist()), measure)


@pytest.mark.parametrize("measure", ["cosine", "mse", "mae"])
def test_sai_equals_loop(measure):
    cases = seeded_cases(lambda rng: Case((rng.normal(size=(9, 9)), rng.random((9, 9)), measure)))
    assert_matches_reference(sai, _sai_loop, cases, atol=1e-12, source="a plain loop over the off-diagonal")


def test_drop_diagonal_and_minmax(rng):
    m = rng.normal(size=(6, 6))
    np.testing.assert_allclose(minmax(drop_diagonal(m)), np.array(_norm_loop(m.tolist())), atol=1e-15)


def _structured(c, rng):
    g = np.arange(c) // 4
    m = (g[:, None] == g[None, :]).astype(float) + 0.1 * rng.random((c, c))
    return m + np.linspace(0, 1, c)[None, :]


def _ssim_case(kind, rng, c=23):
    if kind == "random":
        return rng.random((c, c)), rng.random((c, c))
    if kind == "structured":
        return _structured(c, rng), _structured(c, rng).T
    a = rng.random((c, c))
    return a, a.copy()


@pytest.mark.parametrize("kind", ["random", "structured", "same"])
def test_ssim_equals_skimage(rng, kind):
    structural_similarity = pytest.importorskip("skimage.metrics").structural_similarity
    a, b = _ssim_case(kind, rng)
    na, nb = minmax(drop_diagonal(a)), minmax(drop_diagonal(b))
    # DESIGN.md: scikit-image defaults (7×7 uniform window, K1 0.01, K2 0.03), data range 1
    ref = structural_similarity(na, nb, data_range=1.0)
    assert ssim(na, nb) == pytest.approx(ref, abs=1e-10)
    assert sai(a, b, "ssim") == pytest.approx(ref, abs=1e-10)


@pytest.mark.parametrize("kind", ["random", "structured", "same"])
def test_gaussian_window_ssim_equals_skimage_gaussian_weights(rng, kind):
    """Wang et al.'s window: scikit-image with gaussian_weights=True (σ 1.5, 11×11) and population covariance."""
    structural_similarity = pytest.importorskip("skimage.metrics").structural_similarity
    a, b = _ssim_case(kind, rng)
    na, nb = minmax(drop_diagonal(a)), minmax(drop_diagonal(b))
    ref = structural_similarity(na, nb, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    assert ssim(na, nb, window="gaussian") == pytest.approx(ref, abs=1e-10)
    assert sai(a, b, "ssim", ssim_window="gaussian") == pytest.approx(ref, abs=1e-10)
    if kind != "same":
        assert abs(ssim(na, nb) - ref) > 1e-4  # the default window gives another number
    with pytest.raises(UserError, match="12 classes"):
        sai(a[:11, :11], b[:11, :11], "ssim", ssim_window="gaussian")


def test_ssim_needs_eight_classes(rng):
    with pytest.raises(UserError, match="8 classes"):
        sai(rng.random((7, 7)), rng.random((7, 7)), "ssim")


def test_permuted_copy_is_exactly_one(rng):
    from semtool.measure import align, take_classes

    c = 30
    a = rng.random((c, c))
    names = [f"class{i}" for i in range(c)]
    p = rng.permutation(c)
    b, b_names = take_classes(a, p), [names[i] for i in p]
    ia, ib, _ = align(names, b_names)
    assert sai(take_classes(a, ia), take_classes(b, ib), "cosine") == 1.0


def test_stacks_give_curves(rng):
    a = rng.random((4, 9, 9))
    b = rng.random((9, 9))
    np.testing.assert_allclose(sai(a, b), [sai(x, b) for x in a], atol=0)
    np.testing.assert_allclose(sai(a, a[::-1]), [sai(x, y) for x, y in zip(a, a[::-1])], atol=0)
    with pytest.raises(UserError, match="stack of 3"):
        sai(a, a[:3])


def test_constant_matrix_says_so():
    with pytest.raises(UserError, match="constant"):
        sai(np.eye(4), np.random.default_rng(1).random((4, 4)), names=("eye.h5", "b.h5"))


@pytest.mark.parametrize("measure", ["cosine", "mse", "mae", "ssim"])
def test_pairwise_equals_pairs(rng, measure):
    mats = [rng.random((10, 10)) for _ in range(5)]
    normed = [normalised(m) for m in mats]
    ref = np.array([[sai(x, y, measure) for y in mats] for x in mats])
    np.testing.assert_allclose(pairwise_sai(normed, measure), ref, rtol=0, atol=1e-12)
    if measure == "ssim":
        big = [rng.random((13, 13)) for _ in range(3)]
        ref = np.array([[sai(x, y, "ssim", ssim_window="gaussian") for y in big] for x in big])
        np.testing.assert_allclose(pairwise_sai([normalised(m) for m in big], "ssim", ssim_window="gaussian"), ref,
                                   rtol=0, atol=1e-12)
