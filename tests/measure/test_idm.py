"""IDM against a plain loop, with ties and the errors-only variant (Filus et al.)."""

from __future__ import annotations

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.measure import decision_margins, dissimilarity_metric, idm
from tests._helpers import Case, assert_matches_reference, seeded_cases


def _dm_loop(t, p, csm):
    c = len(csm)
    if t == p:
        return 0.0
    others = [k for k in range(c) if k != t]
    s = csm[t][p]
    greater = sum(1 for k in others if csm[t][k] > s)
    ties = sum(1 for k in others if csm[t][k] == s)  # includes p itself
    rank = greater + (ties + 1) / 2  # average of ranks greater+1 … greater+ties
    return rank / (c - 1)


def _margins_loop(labels, preds, csm):
    return [_dm_loop(t, p, csm.tolist()) for t, p in zip(labels, preds)]


def _idm_loop(labels, preds, csm, errors_only=False):
    dms = [d for d, t, p in zip(_margins_loop(labels, preds, csm), labels, preds) if t != p or not errors_only]
    return 1 - sum(dms) / len(dms)


def _case(tied, **kwargs):
    def make(rng):
        c, n = 8, 300
        csm = rng.random((c, c))
        if tied:
            csm = np.round(csm * 3) / 3  # many ties
        labels = rng.integers(0, c, n)
        preds = np.where(rng.random(n) < 0.4, labels, rng.integers(0, c, n))
        return Case((labels, preds, csm), kwargs)

    return seeded_cases(make, name="tied" if tied else "untied")


@pytest.mark.parametrize("errors_only", [False, True])
@pytest.mark.parametrize("tied", [False, True])
def test_idm_equals_loop(errors_only, tied):
    source = "a plain loop ranking each mistake among the other classes (ties: average rank)"
    assert_matches_reference(dissimilarity_metric, _margins_loop, _case(tied), atol=1e-15, source=source)
    assert decision_margins is dissimilarity_metric  # the old name still answers
    assert_matches_reference(idm, _idm_loop, _case(tied, errors_only=errors_only), atol=1e-14, source=source)


def test_no_mistakes():
    csm = np.random.default_rng(0).random((4, 4))
    y = np.array([0, 1, 2, 3])
    assert idm(y, y, csm) == 1.0
    assert np.isnan(idm(y, y, csm, errors_only=True))


def test_prediction_outside_csm():
    with pytest.raises(UserError, match="outside"):
        idm(np.array([0]), np.array([9]), np.eye(3))
