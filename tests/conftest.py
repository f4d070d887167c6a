"""Shared fixtures: small data written through the real store, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """semtool's cache (the NLTK WordNet folder, the lch depth cache) in a temporary folder
    for the whole session, in-process and in the CLI subprocesses: tests never write the
    user's ~/.cache and always start from an empty cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SEMTOOL_CACHE_DIR", str(tmp_path_factory.mktemp("semtool-cache")))
    yield
    mp.undo()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def run_cli(*args: str, input: bytes | None = None, cwd: str | os.PathLike | None = None,
            env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m semtool ARGS`` in a subprocess (the way a user's shell does)."""
    e = dict(os.environ)
    e.setdefault("HF_HUB_OFFLINE", "1")
    e.setdefault("TRANSFORMERS_OFFLINE", "1")
    if env:
        e.update(env)
    return subprocess.run([sys.executable, "-m", "semtool", *map(str, args)], input=input,
                          capture_output=True, cwd=cwd, env=e, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


def assert_user_error(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 2, exactly one line on stderr, no traceback, mentioning each fragment."""
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.returncode, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for frag in fragments:
        assert frag in err, (frag, err)
