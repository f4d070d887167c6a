"""Mean / Max / Min WSI against a plain loop (Filus et al.)."""

from __future__ import annotations

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.measure import wsi


@pytest.mark.parametrize("q", [0.95, 0.8, 0.5])
def test_wsi_equals_loop(rng, q):
    c = 15
    w = rng.normal(size=(c, 6))
    m = (w / np.linalg.norm(w, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=1, keepdims=True)).T
    upper = [m[i, j] for i in range(c) for j in range(i + 1, c)]
    highs, lows = [], []
    for i in range(c):
        row = [m[i, j] for j in range(c) if j != i]
        hi_q, lo_q = np.quantile(row, q), np.quantile(row, 1 - q)  # NumPy's linear quantile
        highs.append(np.mean([v for v in row if v >= hi_q]))
        lows.append(np.mean([v for v in row if v <= lo_q]))
    got = wsi(m, quantile=q)
    assert got["mean"] == pytest.approx(np.mean(upper), abs=1e-14)
    assert got["max"] == pytest.approx(np.mean(highs), abs=1e-14)
    assert got["min"] == pytest.approx(np.mean(lows), abs=1e-14)


@pytest.mark.parametrize("q", [0.0, 1.0, 1.5, -0.1])
def test_quantile_outside_unit_interval(q):
    with pytest.raises(UserError, match="quantile"):
        wsi(np.eye(3), quantile=q)
