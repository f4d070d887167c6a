"""``semtool sai``: class matching, output forms, stacks, --all-pairs, bad input, light imports."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from semtool import store
from semtool.measure import pairwise_sai, normalised, sai, take_classes
from tests._helpers import csm_file
from tests.conftest import assert_user_error

NAMES = [f"class{i:02d}" for i in range(12)]


@pytest.fixture
def pair(tmp_path, rng):
    a = rng.random((12, 12))
    p = rng.permutation(12)
    b = rng.random((12, 12))
    csm_file(tmp_path / "a.h5", a, NAMES)
    csm_file(tmp_path / "b.h5", b, [NAMES[i] for i in p])
    # b's row k is class p[k]: put it back in a's order for the reference
    back = np.argsort(p)
    return tmp_path, a, take_classes(b, back)


def test_bare_number_when_piped_and_classes_matched_by_name(cli, pair):
    d, a, b = pair
    proc = cli("sai", d / "a.h5", d / "b.h5")
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) == pytest.approx(sai(a, b), abs=1e-6)
    assert proc.stdout.decode().strip() == f"{sai(a, b):.6g}"


def test_permuted_copy_is_one(cli, tmp_path, rng):
    a = rng.random((12, 12))
    p = rng.permutation(12)
    csm_file(tmp_path / "a.h5", a, NAMES)
    csm_file(tmp_path / "p.h5", take_classes(a, p), [NAMES[i] for i in p])
    proc = cli("sai", tmp_path / "a.h5", tmp_path / "p.h5", "--json")
    assert json.loads(proc.stdout)[0]["cosine"] == 1.0


def test_all_measures_json(cli, pair):
    d, a, b = pair
    [out] = json.loads(cli("sai", d / "a.h5", d / "b.h5", "-m", "all", "--json").stdout)
    for m in ("cosine", "ssim", "mse", "mae"):
        assert out[m] == pytest.approx(sai(a, b, m), abs=1e-12)


def test_ssim_window_gaussian(cli, pair):
    d, a, b = pair
    proc = cli("sai", d / "a.h5", d / "b.h5", "-m", "ssim", "--ssim-window", "gaussian", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)[0]["ssim"] == pytest.approx(sai(a, b, "ssim", ssim_window="gaussian"), abs=1e-12)
    assert_user_error(cli("sai", d / "a.h5", d / "b.h5", "--ssim-window", "gaussian"), "--ssim-window", "--measure ssim")
    assert_user_error(cli("sai", d / "a.h5", d / "b.h5", "-m", "ssim", "--ssim-window", "box"), "--ssim-window",
                      "uniform, gaussian")


def test_stack_gives_curve_and_curves_file(cli, tmp_path, rng):
    s = rng.random((3, 12, 12))
    b = rng.random((12, 12))
    csm_file(tmp_path / "s.h5", s, NAMES, epochs=[0.5, 1.0, 2.0])
    csm_file(tmp_path / "b.h5", b, NAMES)
    proc = cli("sai", tmp_path / "s.h5", tmp_path / "b.h5", "-m", "mse")
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == "epoch\tmse" and len(lines) == 4
    np.testing.assert_allclose([float(ln.split("\t")[1]) for ln in lines[1:]], sai(s, b, "mse"), rtol=1e-5)
    proc = cli("sai", tmp_path / "s.h5", tmp_path / "b.h5", "-m", "all", "-o", tmp_path / "c.h5")
    assert proc.returncode == 0, proc.stderr
    with store.open_file(tmp_path / "c.h5", "curves") as f:
        np.testing.assert_array_equal(f["epochs"][...], [0.5, 1.0, 2.0])
        for m in ("cosine", "ssim", "mse", "mae"):
            np.testing.assert_allclose(f[f"sai/{m}"][...], sai(s, b, m), rtol=0, atol=1e-12)


def test_all_pairs_matrix_in_one_process(cli, tmp_path, rng):
    mats = [rng.random((12, 12)) for _ in range(4)]
    files = []
    for k, m in enumerate(mats):
        p = rng.permutation(12)
        files.append(csm_file(tmp_path / f"f{k}.h5", take_classes(m, p), [NAMES[i] for i in p]))
    ref = pairwise_sai([normalised(m) for m in mats], "cosine")
    out = json.loads(cli("sai", "--all-pairs", *files, "--json").stdout)  # a record per pair
    assert [(r["a"], r["b"]) for r in out] == [(str(a), str(b)) for a in files for b in files]
    np.testing.assert_allclose([r["cosine"] for r in out], ref.reshape(-1), rtol=0, atol=1e-12)
    tsv = cli("sai", "--all-pairs", *files).stdout.decode().splitlines()
    assert len(tsv) == 5 and tsv[0].split("\t")[1:] == [str(f) for f in files]
    assert cli("sai", "--all-pairs", *files, "-o", tmp_path / "all.h5").returncode == 0
    with store.open_file(tmp_path / "all.h5", "csm") as f:
        np.testing.assert_allclose(f["matrix"][...], ref, rtol=0, atol=1e-12)
        assert f.attrs["source"] == "sai"


def test_intersect(cli, tmp_path, rng):
    a = rng.random((12, 12))
    csm_file(tmp_path / "a.h5", a, NAMES)
    csm_file(tmp_path / "b.h5", a[:10, :10], NAMES[:10])
    assert_user_error(cli("sai", tmp_path / "a.h5", tmp_path / "b.h5"), "lacks class10", "--intersect")
    proc = cli("sai", tmp_path / "a.h5", tmp_path / "b.h5", "--intersect")
    assert float(proc.stdout) == 1.0


def _bad_files(d, rng):
    good = rng.random((12, 12))
    nan = good.copy()
    nan[2, 3] = np.nan
    inf = good.copy()
    inf[4, 1] = np.inf
    return {
        "mismatch": (csm_file(d / "m.h5", good, NAMES[:11] + ["zebra"]), ["zebra"]),
        "duplicate": (csm_file(d / "d.h5", good, NAMES[:11] + [NAMES[0]]), ["duplicate class names", "class00"]),
        "nonsquare": (csm_file(d / "n.h5", good[:, :11], NAMES), ["square"]),
        "one": (csm_file(d / "o.h5", np.ones((1, 1)), ["only"]), ["1×1"]),
        "nan": (csm_file(d / "nan.h5", nan, NAMES), ["NaN or inf", "(2, 3)"]),
        "inf": (csm_file(d / "inf.h5", inf, NAMES), ["NaN or inf", "(4, 1)"]),
        "constant": (csm_file(d / "c.h5", np.ones((12, 12)), NAMES), ["constant", "min–max"]),
    }


@pytest.mark.parametrize("case", ["mismatch", "duplicate", "nonsquare", "one", "nan", "inf", "constant"])
def test_bad_input_one_line_no_output(cli, tmp_path, rng, case):
    csm_file(tmp_path / "s.h5", rng.random((2, 12, 12)), NAMES)
    path, fragments = _bad_files(tmp_path, rng)[case]
    proc = cli("sai", tmp_path / "s.h5", path, "-o", tmp_path / "out.h5")
    assert_user_error(proc, str(path), *fragments)
    assert proc.stdout == b""
    assert not (tmp_path / "out.h5").exists()


def test_stack_lengths_and_measure(cli, tmp_path, rng):
    csm_file(tmp_path / "s2.h5", rng.random((2, 12, 12)), NAMES)
    csm_file(tmp_path / "s3.h5", rng.random((3, 12, 12)), NAMES)
    proc = cli("sai", tmp_path / "s2.h5", tmp_path / "s3.h5", "-o", tmp_path / "out.h5")
    assert_user_error(proc, "stack of 3", "stack of 2")
    assert not (tmp_path / "out.h5").exists()
    assert_user_error(cli("sai", tmp_path / "s2.h5", tmp_path / "s3.h5", "-m", "pearson"), "--measure")
    assert_user_error(cli("sai", tmp_path / "s2.h5"), "two csm files")


# ----------------------------------------------------------------------------- light imports
_RUN = """
import json, runpy, sys
argv = json.loads(sys.argv[1])
sys.argv = ["semtool", *argv]
try:
    runpy.run_module("semtool", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
sys.stderr.write("\\nMODULES " + json.dumps(sorted({m.split('.')[0] for m in sys.modules})) + "\\n")
sys.exit(code)
"""


def modules_of(argv, cwd) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", _RUN, json.dumps([str(a) for a in argv])], capture_output=True,
                          timeout=300, cwd=cwd)
    err = proc.stderr.decode()
    assert proc.returncode == 0, err[-2000:]
    return set(json.loads(err.rsplit("MODULES ", 1)[1]))


def test_piped_sai_imports_no_torch_scipy_or_rich(pair):
    d, _, _ = pair
    loaded = modules_of(["sai", d / "a.h5", d / "b.h5"], d)
    assert not loaded & {"torch", "scipy", "rich", "nltk", "safetensors", "matplotlib"}, loaded
