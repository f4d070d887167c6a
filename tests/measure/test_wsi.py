"""Mean / Max / Min WSI against a plain loop (Filus et al.)."""

from __future__ import annotations

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.measure import wsi
from tests._helpers import Case, assert_matches_reference, seeded_cases


def _wsi_loop(m, quantile):
    c = len(m)
    upper = [m[i, j] for i in range(c) for j in range(i + 1, c)]
    highs, lows = [], []
    for i in range(c):
        row = [m[i, j] for j in range(c) if j != i]
        hi_q, lo_q = np.quantile(row, quantile), np.quantile(row, 1 - quantile)  # NumPy's linear quantile
        highs.append(np.mean([v for v in row if v >= hi_q]))
        lows.append(np.mean([v for v in row if v <= lo_q]))
    return {"mean": np.mean(upper), "max": np.mean(highs), "min": np.mean(lows)}


def _ncsm(rng, c=15):
    w = rng.normal(size=(c, 6))
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    return w @ w.T


@pytest.mark.parametrize("q", [0.95, 0.8, 0.5])
def test_wsi_equals_loop(q):
    assert_matches_reference(wsi, _wsi_loop, seeded_cases(lambda rng: Case((_ncsm(rng),), {"quantile": q})),
                             atol=1e-14, source="a plain loop over each class's row")


@pytest.mark.parametrize("q", [0.0, 1.0, 1.5, -0.1])
def test_quantile_outside_unit_interval(q):
    with pytest.raises(UserError, match="quantile"):
        wsi(np.eye(3), quantile=q)
