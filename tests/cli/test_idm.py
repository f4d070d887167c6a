"""``semtool idm``: per ε, errors only, classes matched by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semtool import store
from semtool.measure import idm, take_classes
from tests._helpers import csm_file, predictions_file
from tests.cli.test_sai import NAMES, modules_of
from tests.conftest import assert_user_error


@pytest.fixture
def attack(tmp_path, rng):
    n, c = 200, 12
    labels = rng.integers(0, c, n)
    preds = np.stack([np.where(rng.random(n) < keep, labels, rng.integers(0, c, n)) for keep in (0.9, 0.5, 0.1)])
    predictions_file(tmp_path / "p.h5", labels, preds, NAMES, epsilons=[0.0, 0.5, 1.0])
    m = np.round(rng.random((c, c)) * 4) / 4  # ties
    perm = rng.permutation(c)
    csm_file(tmp_path / "csm.h5", take_classes(m, perm), [NAMES[i] for i in perm])
    return tmp_path, labels, preds, m


@pytest.mark.parametrize("errors_only", [False, True])
def test_per_epsilon_matches_measure(cli, attack, errors_only):
    d, labels, preds, m = attack
    args = ["idm", d / "p.h5", "--csm", d / "csm.h5", "--json"] + (["--errors-only"] if errors_only else [])
    out = json.loads(cli(*args).stdout)  # one record per ε, each with its context
    assert [r["eps"] for r in out] == [0.0, 0.5, 1.0]
    ref = [idm(labels, p, m, errors_only=errors_only) for p in preds]
    assert [r["idm"] for r in out] == pytest.approx(ref, abs=1e-14)
    assert [r["mistakes"] for r in out] == [int((p != labels).sum()) for p in preds]
    assert all(r["errors_only"] == errors_only and r["samples"] == 200 for r in out)


def test_clean_predictions_bare_number(cli, tmp_path, rng):
    labels = rng.integers(0, 12, 50)
    preds = rng.integers(0, 12, 50)
    predictions_file(tmp_path / "p.h5", labels, preds, NAMES, logits=True)
    m = rng.random((12, 12))
    csm_file(tmp_path / "c.h5", m, NAMES)
    proc = cli("idm", tmp_path / "p.h5", "--csm", tmp_path / "c.h5")
    assert float(proc.stdout) == pytest.approx(idm(labels, preds, m), abs=1e-6)
    assert "torch" not in modules_of(["idm", tmp_path / "p.h5", "--csm", tmp_path / "c.h5"], tmp_path)


def test_class_mismatch(cli, attack, rng):
    d = attack[0]
    csm_file(d / "other.h5", rng.random((12, 12)), NAMES[:11] + ["zebra"])
    proc = cli("idm", d / "p.h5", "--csm", d / "other.h5")
    assert_user_error(proc, "other.h5", "zebra")
    assert proc.stdout == b""


def test_errors_only_without_mistakes_warns(cli, tmp_path, rng):
    """No mistakes at an ε: the errors-only IDM there is NaN, and stderr says why."""
    labels = rng.integers(0, 12, 40)
    wrong = (labels + 1) % 12
    predictions_file(tmp_path / "p.h5", labels, np.stack([labels, wrong]), NAMES, epsilons=[0.0, 1.0])
    csm_file(tmp_path / "c.h5", rng.random((12, 12)), NAMES)
    proc = cli("idm", tmp_path / "p.h5", "--csm", tmp_path / "c.h5", "--errors-only", "--json")
    assert proc.returncode == 0
    out = json.loads(proc.stdout)
    assert out[0]["idm"] is None or np.isnan(out[0]["idm"])
    assert out[1]["idm"] == pytest.approx(idm(labels, wrong, _matrix(tmp_path / "c.h5"), errors_only=True))
    assert "has no mistakes at ε = 0: the errors-only IDM is undefined" in proc.stderr.decode()
    plain = cli("idm", tmp_path / "p.h5", "--csm", tmp_path / "c.h5")
    assert b"no mistakes" not in plain.stderr  # the IDM over all predictions is defined


def _matrix(path):
    from semtool.data.csmio import read_csm

    return read_csm(path).matrix
