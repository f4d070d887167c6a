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
    assert res.p_value_authors == np.sum(res.null > res.accuracy) / 200  # one_vs_two_graphs.py's form
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


# ---------------------------------------------------------------- 1 vs 2
# Restated from the authors' code, chrisfosterelli/SemanticsInCNN `one_vs_two_vgg16.py`
# (one image per concept): `correct` = the concepts whose image is correctly classified;
# for every misclassified image, three rows over those concepts — Pearson r of its CNN
# vector with each correct concept's CNN vector, of its true concept's word vector with
# each correct concept's word vector, and of its predicted concept's word vector likewise —
# and it passes iff pearsonr(cnn_row, true_row) > pearsonr(cnn_row, pred_row). The null
# `np.random.shuffle`s the true-class rows and the predicted-class rows (two independent
# shuffles of the mistakes) 1000 times; here each draw is two fresh permutations from the
# seeded generator in semtool's order (a shuffle of a shuffle is again uniform), so the
# null can be compared draw by draw.
def _authors_rows(cnn, words, correct, incorrect, misclassified):
    cnn_rows = np.array([[_pearson(cnn[j], cnn[i]) for j in correct] for i in incorrect])
    true_rows = np.array([[_pearson(words[j], words[i]) for j in correct] for i in incorrect])
    pred_rows = np.array([[_pearson(words[j], words[w]) for j in correct] for w in misclassified])
    return cnn_rows, true_rows, pred_rows


def _authors_passes(cnn_rows, true_rows, pred_rows):
    return np.array([_pearson(x, t) > _pearson(x, p) for x, t, p in zip(cnn_rows, true_rows, pred_rows)])


def _one_per_concept(seed, k=10, wrong=4):
    """A Fashion-MNIST-sized case: 10 concepts, one image each, ``wrong`` of them misclassified."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, 16))
    cnn = centres + 0.8 * rng.normal(size=(k, 16))
    words = centres + 0.8 * rng.normal(size=(k, 16))
    labels = np.arange(k)
    predicted = labels.copy()
    bad = rng.choice(k, size=wrong, replace=False)
    predicted[bad] = (bad + rng.integers(1, k, size=wrong)) % k
    return cnn, words, labels, predicted


@pytest.mark.parametrize("seed", range(6))
def test_one_vs_two_equals_the_authors_rule_item_by_item(seed):
    cnn, words, labels, predicted = _one_per_concept(seed)
    correct = np.flatnonzero(labels == predicted)
    incorrect = np.flatnonzero(labels != predicted)
    rows = _authors_rows(cnn, words, correct, incorrect, predicted[incorrect])
    expected = _authors_passes(*rows)
    res = one_vs_two(cnn, labels, predicted, correlation_matrix(words), permutations=40, seed=seed)
    assert res.tests == res.mistakes == len(incorrect) and res.untestable == 0
    assert res.passes == expected.sum()
    np.testing.assert_array_equal(res.reference, np.full(len(incorrect), len(correct)))
    # The rows-shuffle null, draw by draw.
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(40):
        t, p = rng.permutation(len(incorrect)), rng.permutation(len(incorrect))
        null.append(_authors_passes(rows[0], rows[1][t], rows[2][p]).mean())
    np.testing.assert_allclose(res.null, null)
    # Both p-value forms: semtool's and the authors' (one_vs_two_graphs.py: sum(null > score) / N).
    assert res.p_value == (1 + np.sum(res.null >= res.accuracy)) / 41
    assert res.p_value_authors == np.sum(res.null > res.accuracy) / 40


def test_one_vs_two_seeded_case_paper_rule_and_stricter_variant():
    """The 1 vs 2 passes on one seeded case under both reference sets (numbers in the closing note)."""
    cnn, words, labels, predicted = _one_per_concept(3, wrong=5)
    ws = correlation_matrix(words)
    paper = one_vs_two(cnn, labels, predicted, ws, permutations=0)
    strict = one_vs_two(cnn, labels, predicted, ws, permutations=0, exclude_predicted=True)
    incorrect = np.flatnonzero(labels != predicted)
    correct = np.flatnonzero(labels == predicted)
    passes = 0
    for i in incorrect:  # the stricter variant, one mistake at a time
        keep = [j for j in correct if j not in (labels[i], predicted[i])]
        row = np.array([_pearson(cnn[i], cnn[j]) for j in keep])
        passes += _pearson(row, ws[labels[i], keep]) > _pearson(row, ws[predicted[i], keep]) + TIE_TOLERANCE
    assert strict.passes == passes
    assert paper.passes == _authors_passes(*_authors_rows(cnn, words, correct, incorrect, predicted[incorrect])).sum()
    assert strict.exclude_predicted and not paper.exclude_predicted


def _loop_one_vs_two(feats, labels, predicted, words, *, exclude_predicted=False):
    """Per mistake: reference = concepts with a correctly classified image (mean features)."""
    k = len(words)
    ok = labels == predicted
    refs = [c for c in range(k) if (ok & (labels == c)).any()]
    ref_vecs = {c: feats[ok & (labels == c)].mean(axis=0) for c in refs}
    out = []
    for i in np.flatnonzero(~ok):
        c, w = labels[i], predicted[i]
        keep = [j for j in refs if not (exclude_predicted and j in (c, w))]
        row = np.array([_pearson(feats[i], ref_vecs[j]) for j in keep])
        out.append(_pearson(row, words[c, keep]) > _pearson(row, words[w, keep]) + TIE_TOLERANCE)
    return np.array(out)


@pytest.mark.parametrize("exclude_predicted", [False, True])
def test_one_vs_two_with_several_images_per_concept_equals_a_loop(rng, exclude_predicted):
    k, n = 6, 60
    labels = np.arange(n) % k
    centres = rng.normal(size=(k, 8))
    feats = centres[labels] + rng.normal(size=(n, 8))
    predicted = labels.copy()
    wrong = rng.choice(n, size=12, replace=False)
    predicted[wrong] = (labels[wrong] + rng.integers(1, k, size=12)) % k
    words = correlation_matrix(centres + 0.5 * rng.normal(size=(k, 8)))
    res = one_vs_two(feats, labels, predicted, words, permutations=30, seed=0, null="concepts",
                     exclude_predicted=exclude_predicted)
    assert res.tests == 12
    assert res.passes == _loop_one_vs_two(feats, labels, predicted, words, exclude_predicted=exclude_predicted).sum()
    assert res.p_value == (1 + np.sum(res.null >= res.accuracy)) / 31
    perm = np.random.default_rng(0).permutation(k)  # the concepts null's first draw
    first = _loop_one_vs_two(feats, labels, predicted, words[np.ix_(perm, perm)], exclude_predicted=exclude_predicted)
    assert res.null[0] == pytest.approx(first.mean())


def test_one_vs_two_with_few_reference_concepts_counts_only_testable_mistakes():
    """3 of 10 concepts correctly classified: with c and w excluded, a mistake predicted as one
    of them keeps 2 reference concepts — not testable, and never counted as a failure."""
    cnn, words, labels, _ = _one_per_concept(5)
    predicted = np.array([0, 1, 2, 0, 5, 1, 7, 8, 9, 3])  # 3 → 0 and 5 → 1 land on a reference concept
    correct = np.flatnonzero(labels == predicted)
    assert list(correct) == [0, 1, 2]
    ws = correlation_matrix(words)
    strict = one_vs_two(cnn, labels, predicted, ws, permutations=10, exclude_predicted=True)
    into_ref = np.isin(predicted[labels != predicted], correct)
    assert into_ref.any() and not into_ref.all()
    assert strict.mistakes == 7 and strict.untestable == into_ref.sum() and strict.tests == 7 - into_ref.sum()
    np.testing.assert_array_equal(strict.reference, np.full(strict.tests, 3))
    testable = ~into_ref
    assert strict.passes == _loop_one_vs_two(cnn, labels, predicted, ws, exclude_predicted=True)[testable].sum()
    assert strict.accuracy == strict.passes / strict.tests
    paper = one_vs_two(cnn, labels, predicted, ws, permutations=0)
    assert paper.untestable == 0 and paper.tests == 7
    with pytest.raises(UserError, match="no misclassified image has 4 or more reference concepts"):
        one_vs_two(cnn, labels, predicted, ws, permutations=0, min_reference=4)


def test_one_vs_two_nan_fails_like_two_vs_two_and_drop_constant_leaves_it_out(rng):
    cnn, words, labels, predicted = _one_per_concept(1)
    correct = np.flatnonzero(labels == predicted)
    dead = correct[0]
    cnn[dead] = 0.0  # an all-zero ReLU feature: its reference vector correlates with nothing
    ws = correlation_matrix(words)
    res = one_vs_two(cnn, labels, predicted, ws, permutations=0)
    assert res.passes == 0 and res.nan_tests == res.tests  # every test uses the dead column: NaN fails
    assert list(res.constant) == [dead]
    dropped = one_vs_two(cnn, labels, predicted, ws, permutations=0, drop_constant=True)
    incorrect = np.flatnonzero(labels != predicted)
    rest = correct[1:]
    expected = _authors_passes(*_authors_rows(cnn, words, rest, incorrect, predicted[incorrect]))
    assert dropped.dropped and dropped.passes == expected.sum() and dropped.nan_tests == 0


def test_two_vs_two_names_constant_concepts_and_drop_constant_runs_without_them(rng):
    v = rng.normal(size=(8, 5))
    v[2] = 0.0
    W, I = correlation_matrix(v), correlation_matrix(v + 0.3 * rng.normal(size=(8, 5)))
    res = two_vs_two(W, I, permutations=20)
    assert list(res.constant) == [2] and res.nan_tests == res.tests == 28 and res.passes == 0
    assert np.all(res.null == 0)  # the null collapses with the score
    kept = [0, 1, 3, 4, 5, 6, 7]
    dropped = two_vs_two(W, I, permutations=0, drop_constant=True)
    assert dropped.dropped and dropped.tests == 21
    assert dropped.passes == _loop(W[np.ix_(kept, kept)], I[np.ix_(kept, kept)]).sum()
    assert np.isnan(two_vs_two(W, W, permutations=0).p_value_authors)  # no null, no authors' p


def test_groups_against_one_space_pass_as_the_per_group_solvers():
    """Many image groups against one word space take a grouped path (one relabelling of I per
    permutation): its pass counts equal the per-group solvers', permutation by permutation,
    a constant (NaN) concept included."""
    from semtool.measure.twovtwo import _GroupedTwoVsTwo, _TwoVsTwo, pair_indices

    rng = np.random.default_rng(5)
    k, groups = 9, 12
    words = correlation_matrix(rng.normal(size=(k, 7)))
    ws = [correlation_matrix(rng.normal(size=(k, 11))) for _ in range(groups)]
    ws[3][4, :] = ws[3][:, 4] = np.nan
    a, b = pair_indices(k)
    solvers = [_TwoVsTwo(w, words, a, b) for w in ws]
    grouped = _GroupedTwoVsTwo(solvers)
    for _ in range(40):
        perm = rng.permutation(k)
        np.testing.assert_array_equal(grouped.pass_counts(perm), [s.passes(perm).sum() for s in solvers])
    r = two_vs_two(ws, words, permutations=30, seed=2)
    perms = np.random.default_rng(2)  # the null's own draws: one permutation of k per draw
    null = [np.mean([s.passes(p).sum() for s in solvers]) / a.size
            for p in (perms.permutation(k) for _ in range(30))]
    np.testing.assert_array_equal(r.null, null)
