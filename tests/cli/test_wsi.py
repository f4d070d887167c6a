"""``semtool wsi``: Mean / Max / Min WSI, per epoch for stacks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semtool.measure import wsi
from tests._helpers import csm_file
from tests.cli.test_sai import NAMES, modules_of
from tests.conftest import assert_user_error


def test_single_and_stack(cli, tmp_path, rng):
    m = rng.random((12, 12))
    csm_file(tmp_path / "m.h5", m, NAMES)
    [out] = json.loads(cli("wsi", tmp_path / "m.h5", "--json", "--quantile", "0.9").stdout)
    ref = wsi(m, quantile=0.9)
    assert [out[k] for k in ("mean", "max", "min")] == pytest.approx([ref[k] for k in ("mean", "max", "min")], abs=1e-14)
    s = rng.random((3, 12, 12))
    csm_file(tmp_path / "s.h5", s, NAMES, epochs=[1, 2, 3])
    lines = cli("wsi", tmp_path / "s.h5").stdout.decode().splitlines()
    assert lines[0] == "epoch\tmean\tmax\tmin" and len(lines) == 4
    for line, x in zip(lines[1:], s):
        np.testing.assert_allclose([float(v) for v in line.split("\t")[1:]], list(wsi(x).values()), rtol=1e-5)


@pytest.mark.parametrize("q", ["0", "1", "1.5", "-0.2"])
def test_quantile_outside_unit_interval(cli, tmp_path, rng, q):
    csm_file(tmp_path / "m.h5", rng.random((12, 12)), NAMES)
    proc = cli("wsi", tmp_path / "m.h5", "--quantile", q)
    assert_user_error(proc, "--quantile", "(0, 1)")
    assert proc.stdout == b""


def test_wsi_imports_no_torch(tmp_path, rng):
    csm_file(tmp_path / "m.h5", rng.random((12, 12)), NAMES)
    assert "torch" not in modules_of(["wsi", tmp_path / "m.h5"], tmp_path)
