"""The vectorised WordNet CSM equals NLTK's path / wup / lch similarity, pair by pair."""

from __future__ import annotations

import random

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.semantics import wordnet as W
from semtool.semantics.wordnet_csm import wordnet_csm

pytestmark = pytest.mark.skipif(not W.where()["available"],
                                reason="no WordNet: apt-get install wordnet-base wordnet-sense-index")
MEASURES = ("path", "wup", "lch")


@pytest.fixture(scope="module")
def wn():
    """NLTK's reader with two pure per-call helpers memoised so the reference loops run fast.

    NLTK rereads the database header for ``get_version`` and redoes the hypernym BFS
    (``Synset._shortest_hypernym_paths``) on every similarity call; both are pure
    functions whose results NLTK only reads, so caching them leaves every value NLTK
    computes unchanged and cuts the ~200,000 reference calls from minutes to seconds.
    """
    from nltk.corpus.reader.wordnet import Synset, WordNetCorpusReader

    paths, get_version = Synset._shortest_hypernym_paths, WordNetCorpusReader.get_version
    cache: dict = {}

    def memo_paths(self, simulate_root):
        key = (self._name, simulate_root)
        if key not in cache:
            cache[key] = paths(self, simulate_root)
        return cache[key]

    def memo_version(self):
        key = ("version", id(self))
        if key not in cache:
            cache[key] = get_version(self)
        return cache[key]

    Synset._shortest_hypernym_paths = memo_paths
    WordNetCorpusReader.get_version = memo_version
    try:
        yield W.wordnet()
    finally:
        Synset._shortest_hypernym_paths, WordNetCorpusReader.get_version = paths, get_version


def _nltk(wn, synsets, measure, pairs):
    f = getattr(wn, f"{measure}_similarity")
    return np.array([f(synsets[i], synsets[j]) for i, j in pairs], dtype=np.float64)


def _all_pairs(n):
    return [(i, j) for i in range(n) for j in range(n)]


@pytest.fixture(scope="module")
def cifar100(wn):
    return [wn.synset(s) for s in W.preset_synsets("cifar100").values()]


@pytest.mark.parametrize("measure", MEASURES)
def test_cifar100_preset_equals_nltk(wn, cifar100, measure):
    m = wordnet_csm(cifar100, measure, reader=wn)
    pairs = _all_pairs(len(cifar100))
    ref = _nltk(wn, cifar100, measure, pairs).reshape(m.shape)
    np.testing.assert_allclose(m, ref, rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def random_nouns(wn):
    """300 distinct noun synsets, seeded: a random sense of a random noun lemma."""
    rs = random.Random(1234)
    lemmas = sorted(wn.all_lemma_names("n"))
    out, seen = [], set()
    while len(out) < 300:
        senses = wn.synsets(rs.choice(lemmas), "n")
        s = senses[rs.randrange(len(senses))]
        if s.name() not in seen:
            seen.add(s.name())
            out.append(s)
    # instance hypernyms, multiple inheritance and the shared root itself
    for name in ("paris.n.01", "chef.n.01", "fireman.n.01", "entity.n.01"):
        if name not in seen:
            out[len(out) - 1 - len(seen) % 7] = wn.synset(name)
            seen.add(name)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("measure", MEASURES)
def test_random_nouns_equal_nltk(wn, random_nouns, measure):
    n = len(random_nouns)
    m = wordnet_csm(random_nouns, measure, reader=wn)
    if measure == "wup":  # NLTK's wup may be asymmetric (subsumer = self if it qualifies): every ordered pair
        pairs = _all_pairs(n)
        np.testing.assert_allclose(m, _nltk(wn, random_nouns, measure, pairs).reshape(n, n), rtol=0, atol=1e-12)
    else:  # path and lch depend on the (symmetric) shortest path only: each unordered pair once
        iu = np.triu_indices(n)
        ref = _nltk(wn, random_nouns, measure, list(zip(*iu)))
        np.testing.assert_allclose(m[iu], ref, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(m, m.T)


def test_non_nouns_use_nltk_fake_root(wn):
    syns = [wn.synset(s) for s in ("run.v.01", "walk.v.01", "be.v.01", "dog.n.01", "good.a.01", "paris.n.01")]
    for measure in ("path", "wup"):
        ref = _nltk(wn, syns, measure, _all_pairs(len(syns))).reshape(len(syns), len(syns))
        np.testing.assert_array_equal(wordnet_csm(syns, measure, reader=wn), ref)
    with pytest.raises(UserError, match="one part of speech"):
        wordnet_csm(syns, "lch", reader=wn)


def test_path_diagonal_is_one_and_unknown_measure(wn, cifar100):
    assert np.all(np.diag(wordnet_csm(cifar100[:10], "path", reader=wn)) == 1.0)
    with pytest.raises(UserError, match="^measure: expected one of") as info:
        wordnet_csm(cifar100[:3], "res", reader=wn)
    assert info.value.parameter == "measure" and info.value.naming("--measure").startswith("--measure: expected")
