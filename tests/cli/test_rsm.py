"""``semtool rsm`` end to end: the file equals the library's matrices; bad input is one line."""

import json

import numpy as np
import pytest

from semtool import store
from semtool.analyse.rsm import semantic_rsm, spatio_semantic_rsm
from semtool.measure.rsm import prediction_correlation, retrieval, softmax
from tests._helpers import features_file, predictions_file
from tests.conftest import assert_user_error

CLASSES = ["cat", "dog", "truck", "car", "bird", "ship"]


@pytest.fixture
def data(tmp_path, rng):
    labels = np.repeat(np.arange(6), 3)
    conv = (np.maximum(rng.normal(size=(18, 8, 3, 3)), 0) + 0.3 * labels[:, None, None, None]).astype(np.float32)
    fc = rng.normal(size=(18, 5)).astype(np.float32)
    feats = tmp_path / "feats.h5"
    features_file(feats, {"conv": conv, "fc": fc}, labels, CLASSES)
    logits = rng.normal(size=(18, 6)) + 2 * np.eye(6)[labels]
    preds = tmp_path / "preds.h5"
    predictions_file(preds, labels, np.asarray(logits).argmax(axis=1), CLASSES, logits=logits)
    return {"feats": feats, "preds": preds, "conv": conv, "labels": labels, "logits": logits, "dir": tmp_path}


def test_semantic_rsm_file_and_evaluation_equal_the_library(cli, data):
    out = data["dir"] / "rsm.h5"
    proc = cli("rsm", data["feats"], "--layer", "conv", "--semantic", "--kernel", "rbf", "--evaluate",
               "--predictions", data["preds"], "-o", out, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    ref = semantic_rsm(data["conv"], kernel="rbf").matrix
    with store.open_file(out, "rsm") as f:
        np.testing.assert_allclose(f["matrix"][...], ref, rtol=1e-10)
        np.testing.assert_array_equal(f["labels"][...], data["labels"])
        assert (f.attrs["layer"], f.attrs["kernel"], f.attrs["matcher"]) == ("conv", "rbf", "optimal")
    [shown] = json.loads(proc.stdout)
    want = {**retrieval(ref, data["labels"]), **prediction_correlation(ref, softmax(data["logits"].astype(np.float32)))}
    for key, value in want.items():
        assert shown[key] == pytest.approx(value, rel=1e-9)


def test_spatio_semantic_and_approximate_matcher_quality(cli, data):
    plain, greedy = data["dir"] / "plain.h5", data["dir"] / "greedy.h5"
    assert cli("rsm", data["feats"], "--layer", "conv", "-o", plain).returncode == 0
    with store.open_file(plain, "rsm") as f:
        np.testing.assert_allclose(f["matrix"][...], spatio_semantic_rsm(data["conv"]), rtol=1e-10)
        assert f.attrs["matcher"] == "none"
    proc = cli("rsm", data["feats"], "--layer", "conv", "--semantic", "--matcher", "greedy",
               "--quality-pairs", "10", "-o", greedy)
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(greedy, "rsm") as f:
        pairs, frac = f["matcher_quality/pairs"][...], f["matcher_quality/fraction"][...]
    assert pairs.shape == (10, 2) and np.all((frac > 0.5) & (frac <= 1 + 1e-12))


def test_rbf_sigma_authors_and_a_number(cli, data):
    for sigma in ("authors", "2.5"):
        out = data["dir"] / f"rbf-{sigma}.h5"
        proc = cli("rsm", data["feats"], "--layer", "conv", "--kernel", "rbf", "--sigma", sigma, "-o", out)
        assert proc.returncode == 0, proc.stderr.decode()
        expected = spatio_semantic_rsm(data["conv"], kernel="rbf", sigma=sigma if sigma == "authors" else 2.5)
        with store.open_file(out, "rsm") as f:
            np.testing.assert_allclose(f["matrix"][...], expected, rtol=1e-10)
    assert_user_error(cli("rsm", data["feats"], "--layer", "conv", "--sigma", "authors", "--evaluate"),
                      "--sigma", "--kernel rbf")
    assert_user_error(cli("rsm", data["feats"], "--layer", "conv", "--kernel", "rbf", "--sigma", "wide",
                          "--evaluate"), "--sigma", "median, authors")


def test_bad_inputs_are_one_line_and_leave_no_file(cli, data, rng):
    out = data["dir"] / "out.h5"
    d = data["dir"]
    assert_user_error(cli("rsm", data["feats"], "--layer", "nope", "-o", out), "nope", "conv, fc")
    assert_user_error(cli("rsm", data["feats"], "--layer", "conv", "--semantic", "--matcher", "batch-optimal:0",
                          "-o", out), "batch-optimal:0")
    # a pooled layer (N, D) has one vector per sample: --semantic would silently equal the plain RSM
    assert_user_error(cli("rsm", data["feats"], "--layer", "fc", "--semantic", "--evaluate"),
                      "--semantic", "'fc'", "--pool none")
    big = d / "big.h5"  # S = 100·100 spatial vectors: the optimal matcher's S×S matrices exceed the bound
    features_file(big, {"map": np.ones((2, 1, 100, 100), np.float32)}, [0, 1], CLASSES[:2])
    assert_user_error(cli("rsm", big, "--semantic", "-o", out), "batch-optimal")
    nan = d / "nan.h5"
    x = data["conv"].copy()
    x[3, 0, 0, 0] = np.nan
    features_file(nan, {"conv": x}, data["labels"], CLASSES)
    assert_user_error(cli("rsm", nan, "--layer", "conv", "-o", out), "NaN")
    short = d / "short.h5"
    predictions_file(short, data["labels"][:10], np.asarray(data["logits"][:10]).argmax(axis=1), CLASSES, logits=data["logits"][:10])
    assert_user_error(cli("rsm", data["feats"], "--layer", "conv", "--evaluate", "--predictions", short, "-o", out),
                      "10 samples", "18")
    assert not out.exists()
    assert not list(d.glob(".out.h5*"))
