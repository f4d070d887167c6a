"""Word-vector files (word2vec binary / text, fastText, GloVe, gzip) against gensim and the files' own numbers."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.semantics import vectors as vec_mod
from semtool.semantics.vectors import read_vectors

gensim_models = pytest.importorskip("gensim.models")

# A frequency-sorted vocabulary in miniature: a phrase spelled as such files spell it, its
# words, case variants (the lower-case 'dog' after 'Dog'), a non-ASCII capital.
WORDS = ["the", "Dog", "cat", "German_shepherd", "German", "shepherd", "pickup", "truck", "dog", "APPLE",
         "Apple", "Éclair", "great", "white", "shark", "sea-lion", "zebra"]
DIM = 7


@pytest.fixture(scope="module")
def kv():
    rng = np.random.default_rng(0)
    k = gensim_models.KeyedVectors(DIM)
    k.add_vectors(WORDS, rng.standard_normal((len(WORDS), DIM)).astype(np.float32))
    return k


@pytest.fixture(scope="module")
def gensim_files(kv, tmp_path_factory):
    d = tmp_path_factory.mktemp("vectors")
    kv.save_word2vec_format(str(d / "v.bin"), binary=True)
    kv.save_word2vec_format(str(d / "v.txt"), binary=False)
    return d


def _glove_text(kv, words=WORDS, fmt="{:.5f}") -> bytes:
    return b"".join((w + " " + " ".join(fmt.format(x) for x in kv[w]) + "\n").encode() for w in words)


def _c_tool_binary(kv, words=WORDS) -> bytes:
    """word2vec binary as the original C tool writes it: a newline after each vector."""
    return f"{len(words)} {DIM}\n".encode() + b"".join(w.encode() + b" " + kv[w].astype("<f4").tobytes() + b"\n"
                                                        for w in words)


@pytest.mark.parametrize("name,fmt", [("v.bin", "word2vec-binary"), ("v.txt", "word2vec-text")])
def test_gensim_files_read_bit_for_bit(gensim_files, kv, name, fmt):
    r = read_vectors(gensim_files / name, ["cat", "zebra", "the", "sea-lion"])
    assert r.format == fmt and r.dim == DIM and r.words_in_file == len(WORDS)
    assert r.concepts == ["cat", "zebra", "the", "sea-lion"] and r.missing == []
    # gensim's own reader of the same file is the reference: identical float32 values.
    ref = gensim_models.KeyedVectors.load_word2vec_format(str(gensim_files / name), binary=name.endswith(".bin"))
    np.testing.assert_array_equal(r.vectors, np.stack([ref[w] for w in r.concepts]))
    np.testing.assert_array_equal(r.vectors, np.stack([kv[w] for w in r.concepts]))
    assert r.vectors.dtype == np.float32 and r.match == ["exact"] * 4


def test_glove_text_without_header_to_printed_precision(tmp_path, kv):
    p = tmp_path / "glove.txt"
    p.write_bytes(_glove_text(kv))
    r = read_vectors(p, ["shark", "Dog"])
    assert r.format == "glove-text" and r.words_in_file == len(WORDS)
    # The file's own numbers, as printed with 5 decimals.
    printed = np.array([[float(f"{x:.5f}") for x in kv[w]] for w in ["shark", "Dog"]], dtype=np.float32)
    np.testing.assert_array_equal(r.vectors, printed)
    np.testing.assert_allclose(r.vectors, np.stack([kv["shark"], kv["Dog"]]), atol=5e-6)
    ref = gensim_models.KeyedVectors.load_word2vec_format(str(p), no_header=True)
    np.testing.assert_array_equal(r.vectors, np.stack([ref["shark"], ref["Dog"]]))


def test_c_tool_binary_fasttext_text_gzip_and_trailing_blank_line(tmp_path, kv, gensim_files):
    want = ["cat", "zebra", "Éclair", "great_white_shark"]
    ref = read_vectors(gensim_files / "v.bin", want)
    c_tool = tmp_path / "c.bin"
    c_tool.write_bytes(_c_tool_binary(kv))
    # fastText's .vec: a header, a space after the last value, CRLF tolerated.
    vec = tmp_path / "ft.vec"
    vec.write_bytes(f"{len(WORDS)} {DIM}\n".encode() + b"".join(
        (w + " " + " ".join(repr(float(x)) for x in kv[w]) + " \r\n").encode() for w in WORDS))
    blank = tmp_path / "blank.txt"
    blank.write_bytes((gensim_files / "v.txt").read_bytes() + b"\n\n")
    gz_bin, gz_txt = tmp_path / "v.bin.gz", tmp_path / "glove"  # told by its bytes, not its name
    gz_bin.write_bytes(gzip.compress((gensim_files / "v.bin").read_bytes()))
    gz_txt.write_bytes(gzip.compress(_glove_text(kv, fmt="{}")))
    for path, fmt in ((c_tool, "word2vec-binary"), (vec, "word2vec-text"), (blank, "word2vec-text"),
                      (gz_bin, "word2vec-binary"), (gz_txt, "glove-text")):
        r = read_vectors(path, want)
        assert (r.format, r.concepts, r.matched) == (fmt, ref.concepts, ref.matched), path
        assert r.compressed == path.name.startswith(("v.bin.gz", "glove")) and r.words_in_file == len(WORDS)
        np.testing.assert_array_equal(r.vectors, ref.vectors)


def test_phrases_case_folding_and_missing(gensim_files, kv):
    r = read_vectors(gensim_files / "v.bin", ["German shepherd", "pickup_truck", "great_white_shark", "dog",
                                              "DOG", "apple", "éclair", "sea_lion", "unicorn", "red_fox"])
    got = dict(zip(r.concepts, zip(r.matched, r.match)))
    # A phrase present as such beats its words' mean.
    assert got["German shepherd"] == ("German_shepherd", "exact")
    np.testing.assert_array_equal(r.vectors[0], kv["German_shepherd"])
    # Absent as a phrase: the mean of its words (computed in float64, like a plain loop).
    assert got["pickup_truck"] == ("pickup + truck", "mean")
    np.testing.assert_allclose(r.vectors[1], (kv["pickup"].astype(np.float64) + kv["truck"]) / 2, rtol=1e-7)
    assert got["great_white_shark"] == ("great + white + shark", "mean")
    # Exact beats case-folded; among case-folded hits the first in the file wins.
    assert got["dog"] == ("dog", "exact") and got["DOG"] == ("Dog", "case-folded")
    np.testing.assert_array_equal(r.vectors[r.concepts.index("DOG")], kv["Dog"])
    assert got["apple"] == ("APPLE", "case-folded")
    assert got["éclair"] == ("Éclair", "case-folded")
    # The hyphenated spelling of a phrase is tried after the underscore one.
    assert got["sea_lion"] == ("sea-lion", "exact")
    assert r.missing == ["unicorn", "red_fox"]
    strict = read_vectors(gensim_files / "v.txt", ["German_shepherd", "pickup_truck", "cat"], phrases="strict")
    assert strict.concepts == ["German_shepherd", "cat"] and strict.missing == ["pickup_truck"]


def test_small_blocks_give_the_same_result(gensim_files, kv, tmp_path, monkeypatch):
    """Lines and records cut across block boundaries are read whole."""
    want = ["cat", "zebra", "pickup_truck", "the", "Éclair"]
    glove = tmp_path / "g.txt"
    glove.write_bytes(_glove_text(kv))
    paths = [gensim_files / "v.bin", gensim_files / "v.txt", glove]
    whole = [read_vectors(p, want) for p in paths]
    monkeypatch.setattr(vec_mod, "_BLOCK", 5)
    monkeypatch.setattr(vec_mod, "_HEAD", 3)
    for p, w in zip(paths, whole):
        r = read_vectors(p, want)
        assert r.concepts == w.concepts and r.matched == w.matched and r.words_in_file == len(WORDS)
        np.testing.assert_array_equal(r.vectors, w.vectors)


def test_a_word_with_spaces_in_glove_text(tmp_path, kv):
    """GloVe's Common Crawl files hold a few words with spaces: the values are the last dim tokens."""
    p = tmp_path / "g.txt"
    p.write_bytes(_glove_text(kv, ["the", "cat"]) + b"cat food " + _glove_text(kv, ["zebra"]).split(b" ", 1)[1])
    r = read_vectors(p, ["cat", "cat_food"])
    # 'cat food' is neither 'cat' (its first token) nor a dimension error; 'food' alone is absent.
    assert r.concepts == ["cat"] and r.matched == ["cat"] and r.missing == ["cat_food"]
    np.testing.assert_allclose(r.vectors[0], kv["cat"], atol=5e-6)


@pytest.mark.parametrize("content,fragment", [
    (b"not a vector file\nat all\n", "not a word-vector file"),
    (b"", "not a word-vector file"),
    (b"3 4\ncat 0.1 0.2 0.3 0.4\ndog 0.1 0.2 0.3\nfox 1 2 3 4\n", "line 3 holds 3 values, expected 4"),
    (b"cat 0.1 0.2\ndog 0.5 0.1 0.2\n", "line 2 holds 3 values, expected 2"),
    (b"3 2\ncat 0.1 0.2\ndog 0.5 0.1\n", "announces 3 words but the file holds 2"),
    (b"cat 0.1 0.2\ndog 0.5 x\n", "line 2 holds a value that is not a number"),
])
def test_bad_text_files(tmp_path, content, fragment):
    p = tmp_path / "bad.txt"
    p.write_bytes(content)
    with pytest.raises(UserError, match=fragment):
        read_vectors(p, ["dog"])


def test_bad_binary_files_and_nothing_found(gensim_files, tmp_path):
    data = (gensim_files / "v.bin").read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(data[:-10])
    with pytest.raises(UserError, match=f"cut short: record {len(WORDS)} of {len(WORDS)}"):
        read_vectors(cut, ["cat"])
    gz = tmp_path / "cut.bin.gz"
    gz.write_bytes(gzip.compress(data)[:-30])
    with pytest.raises(UserError, match="cut.bin.gz"):
        read_vectors(gz, ["cat"])
    with pytest.raises(UserError, match="none of the 2 concepts found"):
        read_vectors(gensim_files / "v.bin", ["unicorn", "griffin"])
    with pytest.raises(UserError, match="no such file"):
        read_vectors(tmp_path / "missing.bin", ["cat"])
    with pytest.raises(UserError, match="phrases must be one of mean, strict"):
        read_vectors(gensim_files / "v.bin", ["cat"], phrases="loose")
