"""Every test here keeps semtool's cache (the NLTK WordNet folder, the lch depth cache) in a temporary folder."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SEMTOOL_CACHE_DIR", str(tmp_path_factory.mktemp("semtool-cache")))
    yield
    mp.undo()
