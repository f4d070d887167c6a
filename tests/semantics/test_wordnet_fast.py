"""The lazy WordNet reader and the lch depth read exactly what NLTK's eager reader reads."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest

from semtool.semantics import _wordnet_fast as F
from semtool.semantics import wordnet as W
from semtool.semantics.wordnet_csm import taxonomy_depth, wordnet_csm

pytestmark = pytest.mark.skipif(not W.where()["available"],
                                reason="no WordNet: apt-get install wordnet-base wordnet-sense-index")


def _fresh_lazy(root):
    with pytest.warns(UserWarning, match="multilingual"):  # no OMW reader given
        return F.LazyWordNetReader(root, None)


@pytest.fixture(scope="module")
def root():
    return W.wordnet().root


@pytest.fixture(scope="module")
def plain(root):
    """NLTK's own reader on the same folder, every index built at start (the reference)."""
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    with pytest.warns(UserWarning, match="multilingual"):
        return WordNetCorpusReader(root, None)


def test_wordnet_is_the_lazy_reader_and_starts_without_the_indices(root):
    wn = W.wordnet()
    assert isinstance(wn, F.LazyWordNetReader)
    fresh = _fresh_lazy(root)
    assert dict.__len__(fresh._lemma_pos_offset_map) == 0
    assert fresh.__dict__["_satellites"] is F._DEFERRED and fresh.__dict__["_map30"] is F._DEFERRED
    assert fresh.synset("dog.n.01").name() == "dog.n.01"
    assert fresh.__dict__["_satellites"] is F._DEFERRED  # a noun lookup reads no adjective data


def test_index_files_are_sorted_for_the_binary_search(root):
    """The binary search relies on each index.* file being sorted by lemma (bytes)."""
    for suffix in ("noun", "verb", "adj", "adv"):
        with open(root.join(f"index.{suffix}").path, "rb") as fh:
            keys = [F._lemma_key(line) for line in fh]
        assert keys == sorted(keys), suffix


def test_lemma_lookups_equal_nltks_map(root, plain):
    lazy = _fresh_lazy(root)
    index = lazy._lemma_pos_offset_map
    index.LOOKUPS_BEFORE_FULL_LOAD = 10**9  # stay lazy for the whole comparison
    full = plain._lemma_pos_offset_map
    names = list(full)
    rs = random.Random(7)
    sample = rs.sample(names, 1500) + names[:3] + names[-3:]
    sample += [n for n in names if "a" in full[n]][:200]  # adjectives: the 's' entries
    sample += [n for n in names if "'" in n or "." in n or "-" in n][:50]
    for name in sample:
        assert name in index, name
        assert index[name] == full[name], name
    for missing in ("nosuch_lemma", "Dog", "dog cat", "", "zzzzzz", "\u00e9t\u00e9", 3):
        assert missing not in index
        assert index.get(missing) is None
    assert index["nosuch_lemma"] == {} and "nosuch_lemma" in index  # as NLTK's defaultdict(dict)
    assert not index._complete


def test_whole_map_operations_load_nltks_map_in_nltks_order(root, plain):
    lazy = _fresh_lazy(root)
    index = lazy._lemma_pos_offset_map
    assert index["dog"] == plain._lemma_pos_offset_map["dog"]
    assert index["not_a_lemma"] == {}
    names = list(lazy.all_lemma_names())
    assert index._complete
    assert names == list(plain._lemma_pos_offset_map) + ["not_a_lemma"]
    assert len(index) == len(names)
    assert sorted(lazy.all_lemma_names("n")) == sorted(plain.all_lemma_names("n"))


def test_many_lookups_switch_to_the_full_map(root, plain):
    lazy = _fresh_lazy(root)
    index = lazy._lemma_pos_offset_map
    index.LOOKUPS_BEFORE_FULL_LOAD = 5
    for name in ("dog", "cat", "good", "run", "quickly", "house", "tree"):
        assert index[name] == plain._lemma_pos_offset_map[name]
    assert index._complete and dict.__len__(index) == len(plain._lemma_pos_offset_map)
    assert index["nosuch"] == {}


def test_deferred_satellites_and_map30_equal_nltks(root, plain):
    lazy = _fresh_lazy(root)
    # per-synset satellite test, before the full scan has run
    index = lazy._lemma_pos_offset_map
    for name in ("good", "bad", "big", "red", "happy", "quick"):
        assert index[name]["s"] == plain._lemma_pos_offset_map[name]["s"], name
    assert lazy.__dict__["_satellites"] is F._DEFERRED
    assert lazy.satellite_offsets == plain.satellite_offsets
    assert lazy.map30 == plain.map30
    assert lazy.nomap == plain.nomap


def test_synsets_and_words_equal_nltks(root, plain):
    lazy = _fresh_lazy(root)
    names = list(W.preset_synsets("cifar100").values()) + ["good.s.06", "good.a.01", "run.v.01", "quickly.r.01"]
    for name in names:
        a, b = lazy.synset(name), plain.synset(name)
        assert (a.name(), a.offset(), a.pos(), a.definition(), a.lemma_names()) == \
               (b.name(), b.offset(), b.pos(), b.definition(), b.lemma_names())
        assert [s.name() for s in a.hypernym_paths()[0]] == [s.name() for s in b.hypernym_paths()[0]]
        assert a.max_depth() == b.max_depth() and a.min_depth() == b.min_depth()
    for word, pos in (("dogs", None), ("better", "a"), ("ran", "v"), ("churches", "n"), ("hardrock", "r")):
        assert [s.name() for s in lazy.synsets(word, pos)] == [s.name() for s in plain.synsets(word, pos)]
        assert lazy.morphy(word, pos) == plain.morphy(word, pos)
    assert lazy.synset_from_pos_and_offset("n", 2084071).name() == "dog.n.01"
    assert lazy.get_version() == plain.get_version() == "3.0"


def test_wordnet_csm_equals_with_nltks_own_reader(root, plain):
    lazy = _fresh_lazy(root)
    names = list(W.preset_synsets("cifar100").values())
    for measure in ("path", "wup", "lch"):
        a = wordnet_csm([lazy.synset(n) for n in names], measure, reader=lazy)
        b = wordnet_csm([plain.synset(n) for n in names], measure, reader=plain)
        np.testing.assert_array_equal(a, b)


def test_data_file_depth_equals_nltks_compute_max_depth(root, plain):
    """The one-pass depth equals NLTK's _compute_max_depth (every synset built) per part of speech."""
    for pos, suffix in (("n", "noun"), ("v", "verb"), ("a", "adj"), ("s", "adj"), ("r", "adv")):
        ours = F.max_depth(root.join(f"data.{suffix}").path, pos)
        assert ours == plain._compute_max_depth(pos, False), pos
    assert plain._compute_max_depth("n", False) == 19  # WordNet 3.0: NLTK's wordnet.doctest lch values use 2·20


def test_taxonomy_depth_seeds_nltks_cache_and_its_lch(root, tmp_path, monkeypatch):
    monkeypatch.setenv("SEMTOOL_CACHE_DIR", str(tmp_path))
    lazy = _fresh_lazy(root)
    assert taxonomy_depth(lazy, "n", True) == 20 and taxonomy_depth(lazy, "n", False) == 19
    assert lazy._max_depth == {("n", True): 20, ("n", False): 19}
    # NLTK's own lch now divides by the same depth without building every synset
    dog, cat = lazy.synset("dog.n.01"), lazy.synset("cat.n.01")
    assert dog.lch_similarity(cat) == pytest.approx(2.0281482472922856)  # NLTK's wordnet.doctest
    cache = json.loads((tmp_path / F.CACHE_NAME).read_text())
    assert cache["schema"] == F.CACHE_SCHEMA and list(cache["depths"].values()) == [19]


# ---------------------------------------------------------------- the cache, on a small database
def _line(offset: int, word: str, ss_type: str, pointers) -> str:
    ptrs = " ".join(f"{sym} {off:08d} {pos} {st}" for sym, off, pos, st in pointers)
    return f"{offset:08d} 03 {ss_type} 01 {word} 0 {len(pointers):03d} {ptrs} | gloss\n"


def _data_file(path, rows) -> None:
    """A data.<pos> in WordNet's layout: a licence header, then lines whose offset is their byte position.

    ``rows``: (word, synset type, [(pointer symbol, target word, target pos, source/target)]).
    """
    text, offsets = "  1 licence header  \n", {}
    for word, ss_type, parents in rows:
        offsets[word] = len(text.encode())
        text += _line(offsets[word], word, ss_type, [(sym, offsets[p], pos, st) for sym, p, pos, st in parents])
    path.write_text(text)


TINY = [  # root <- animal <- dog ; root <- thing ; dog --@i--> thing (instance hypernym)
    ("root", "n", []),
    ("animal", "n", [("@", "root", "n", "0000")]),
    ("thing", "n", [("@", "root", "n", "0000")]),
    ("dog", "n", [("@", "animal", "n", "0000"), ("@i", "thing", "n", "0000"), ("@", "root", "n", "0102")]),
]


def test_max_depth_of_a_small_database(tmp_path):
    data = tmp_path / "data.noun"
    _data_file(data, TINY)
    assert F.max_depth(data, "n") == 2
    _data_file(data, TINY[:3])
    assert F.max_depth(data, "n") == 1
    _data_file(data, [("a", "n", []), ("b", "n", [("@", "a", "v", "0000")])])
    assert F.max_depth(data, "n") is None  # a hypernym in another file: NLTK decides
    data.write_text("  1 header\nnot a data line\n")
    assert F.max_depth(data, "n") is None
    adj = tmp_path / "data.adj"
    _data_file(adj, [("good", "a", []), ("fine", "s", [])])
    assert F.max_depth(adj, "s") == 0 and F.max_depth(adj, "a") == 0


def test_cache_is_used_then_invalidated_by_a_changed_file(tmp_path, monkeypatch):
    data, cache = tmp_path / "data.noun", tmp_path / "cache" / F.CACHE_NAME
    _data_file(data, TINY)
    assert F.cached_max_depth(data, "n", cache) == 2
    stored = json.loads(cache.read_text())
    assert stored["schema"] == F.CACHE_SCHEMA and list(stored["depths"].values()) == [2]
    calls = []
    real = F.max_depth
    monkeypatch.setattr(F, "max_depth", lambda p, pos: calls.append(pos) or real(p, pos))
    assert F.cached_max_depth(data, "n", cache) == 2 and calls == []  # from the cache
    st = data.stat()
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # same bytes, new mtime: a new key
    assert F.cached_max_depth(data, "n", cache) == 2 and calls == ["n"]
    _data_file(data, TINY[:3])  # edited database: new size
    assert F.cached_max_depth(data, "n", cache) == 1 and calls == ["n", "n"]
    assert list(json.loads(cache.read_text())["depths"].values()) == [1]  # the stale entry is gone
    verbs = tmp_path / "data.verb"
    _data_file(verbs, [(w, "v", [(sym, p, "v", st) for sym, p, _, st in ps]) for w, _, ps in TINY])
    assert F.cached_max_depth(verbs, "v", cache) == 2  # another file and part of speech: its own entry
    assert len(json.loads(cache.read_text())["depths"]) == 2


@pytest.mark.parametrize("content", [
    "{not json", "", "[1, 2]", '{"schema": 999, "depths": {}}', '{"schema": 1, "depths": []}',
    "\x00\xff garbage",
])
def test_corrupt_cache_falls_back_and_is_rewritten(tmp_path, content):
    data, cache = tmp_path / "data.noun", tmp_path / F.CACHE_NAME
    _data_file(data, TINY)
    cache.write_text(content, encoding="utf-8", errors="surrogateescape")
    assert F.cached_max_depth(data, "n", cache) == 2
    assert json.loads(cache.read_text())["schema"] == F.CACHE_SCHEMA


def test_wrong_values_in_the_cache_are_ignored(tmp_path):
    data, cache = tmp_path / "data.noun", tmp_path / F.CACHE_NAME
    _data_file(data, TINY)
    key = F._cache_key(str(data), "n")
    for bad in ("7", -1, True, None, 1.5):
        cache.write_text(json.dumps({"schema": F.CACHE_SCHEMA, "depths": {key: bad}}))
        assert F.cached_max_depth(data, "n", cache) == 2


def test_unwritable_cache_still_answers(tmp_path):
    data = tmp_path / "data.noun"
    _data_file(data, TINY)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert F.cached_max_depth(data, "n", blocker / F.CACHE_NAME) == 2  # parent is a file
    (tmp_path / "dir.json").mkdir()
    assert F.cached_max_depth(data, "n", tmp_path / "dir.json") == 2  # the cache path is a folder
    assert F.cached_max_depth(data, "n", None) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.noun", "dir.json", "file"]  # no temp files left
    assert list((tmp_path / "dir.json").iterdir()) == []


def test_zipped_corpus_uses_nltks_loader(monkeypatch):
    import nltk
    from nltk.data import ZipFilePathPointer

    monkeypatch.setattr(nltk.data, "find", lambda name: object.__new__(ZipFilePathPointer))
    assert W._open_lazy() is None


def test_an_nltk_whose_internals_differ_gets_nltks_own_reader(monkeypatch):
    """If the lazy reader cannot start (NLTK changed its private loaders), wordnet()
    falls back to nltk.corpus.wordnet and still answers."""
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    def broken(self, root, omw_reader):
        raise AttributeError("'WordNetCorpusReader' object has no attribute '_scan_satellites'")

    monkeypatch.setattr(F.LazyWordNetReader, "__init__", broken)
    W.wordnet.cache_clear()
    try:
        wn = W.wordnet()
        assert isinstance(wn, WordNetCorpusReader) and not isinstance(wn, F.LazyWordNetReader)
        assert wn.synset("dog.n.01").lowest_common_hypernyms(wn.synset("cat.n.01"))[0].name() == "carnivore.n.01"
    finally:
        W.wordnet.cache_clear()
