"""``semtool twovtwo`` end to end against the library functions; bad input is one line."""

import json

import numpy as np
import pytest

from semtool import store
from semtool.measure.twovtwo import correlation_matrix, image_groups, one_vs_two, two_vs_two
from tests.cli.test_rsm import CLASSES, write_features, write_predictions
from tests.conftest import assert_user_error


def write_embeddings(path, vectors, concepts):
    with store.create(path, "embeddings", parameters={"test": True}) as f:
        f["vectors"] = np.asarray(vectors, dtype=np.float32)
        store.write_strings(f, "concepts", concepts)
        f.attrs["source"] = "test"


@pytest.fixture
def spaces(tmp_path, rng):
    words = rng.normal(size=(6, 12)).astype(np.float32)
    labels = np.tile(np.arange(6), 3)  # three images per concept
    conv = (words[labels][:, :, None, None] * np.ones((1, 1, 2, 2)) + rng.normal(size=(18, 12, 2, 2))).astype(np.float32)
    fc = rng.normal(size=(18, 7)).astype(np.float32)
    feats, emb = tmp_path / "feats.h5", tmp_path / "emb.h5"
    write_features(feats, {"conv": conv, "fc": fc}, labels)
    # B names the concepts in another order: matched by name.
    order = [5, 3, 1, 0, 2, 4]
    write_embeddings(emb, words[order], [CLASSES[i] for i in order])
    return {"feats": feats, "emb": emb, "words": words, "labels": labels, "conv": conv, "fc": fc, "dir": tmp_path}


def _library(x, labels, words, perms, seed=0):
    groups = image_groups(labels, 6)
    ws = [correlation_matrix(x.reshape(len(x), -1)[g]) for g in groups]
    return two_vs_two(ws, correlation_matrix(words), permutations=perms, seed=seed)


def test_features_against_embeddings_per_layer(cli, spaces):
    out = spaces["dir"] / "t.h5"
    proc = cli("twovtwo", spaces["feats"], spaces["emb"], "--permutations", "50", "--seed", "4", "-o", out, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    shown = json.loads(proc.stdout)
    assert [r["layer"] for r in shown] == ["conv", "fc"]
    with store.open_file(out, "twovtwo") as f:
        assert store.read_strings(f["layers"]) == ["conv", "fc"]
        assert f["null"].shape == (2, 50) and f["tests"][()] == 15
        for i, layer in enumerate(["conv", "fc"]):
            ref = _library(spaces[layer], spaces["labels"], spaces["words"], 50, seed=4)
            assert f["accuracy"][i] == pytest.approx(ref.accuracy)
            assert f["passes"][i] == pytest.approx(ref.passes)
            np.testing.assert_allclose(f["null"][i], ref.null)
            assert f["p_value"][i] == pytest.approx(ref.p_value)
            assert f["null_count"][i] == ref.null_count
            assert shown[i]["accuracy"] == pytest.approx(ref.accuracy)
    assert shown[0]["groups"] == 3


def test_piped_single_result_is_a_bare_number_and_csm_is_used_directly(cli, spaces, rng):
    csm = spaces["dir"] / "csm.h5"
    m = rng.normal(size=(6, 6))
    with store.create(csm, "csm") as f:
        f["matrix"] = (m + m.T) / 2
        store.write_strings(f, "classes", CLASSES)
        f.attrs["source"], f.attrs["measure"] = "test", "test"
    proc = cli("twovtwo", csm, spaces["emb"], "--permutations", "20")
    assert proc.returncode == 0, proc.stderr.decode()
    ref = two_vs_two((m + m.T) / 2, correlation_matrix(spaces["words"]), permutations=20)
    assert float(proc.stdout.decode()) == pytest.approx(ref.accuracy, abs=1e-6)


def test_one_vs_two(cli, spaces, rng):
    labels = spaces["labels"]
    logits = 3 * np.eye(6)[labels] + rng.normal(size=(18, 6))
    logits[[0, 7, 11]] = np.roll(logits[[0, 7, 11]], 1, axis=1)  # a few mistakes
    preds = spaces["dir"] / "preds.h5"
    write_predictions(preds, logits, labels)
    proc = cli("twovtwo", spaces["feats"], spaces["emb"], "--layers", "conv", "--one-vs-two", preds,
               "--permutations", "30", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    [shown] = json.loads(proc.stdout)
    ref = one_vs_two(spaces["conv"], labels, logits.astype(np.float32).argmax(axis=1),
                     correlation_matrix(spaces["words"]), permutations=30)
    assert shown["one_vs_two_tests"] == ref.tests
    assert shown["one_vs_two_accuracy"] == pytest.approx(ref.accuracy)
    assert shown["one_vs_two_p_value"] == pytest.approx(ref.p_value)


def test_bad_inputs_are_one_line_and_leave_no_file(cli, spaces, rng):
    d, out = spaces["dir"], spaces["dir"] / "out.h5"
    few = d / "few.h5"
    write_embeddings(few, rng.normal(size=(3, 4)), CLASSES[:3])
    assert_user_error(cli("twovtwo", few, few, "-o", out), "at least 4 concepts")
    other = d / "other.h5"
    write_embeddings(other, rng.normal(size=(6, 4)), CLASSES[:4] + ["lion", "bus"])
    assert_user_error(cli("twovtwo", spaces["feats"], other, "-o", out), "4 of 6")
    assert_user_error(cli("twovtwo", spaces["feats"], spaces["emb"], "--layers", "nope", "-o", out),
                      "nope", "conv, fc")
    nan = d / "nan.h5"
    x = spaces["fc"].copy()
    x[2, 1] = np.nan
    write_features(nan, {"fc": x}, spaces["labels"])
    assert_user_error(cli("twovtwo", nan, spaces["emb"], "-o", out), "NaN")
    short = d / "short.h5"
    write_predictions(short, rng.normal(size=(5, 6)), np.arange(5))
    assert_user_error(cli("twovtwo", spaces["feats"], spaces["emb"], "--one-vs-two", short, "-o", out),
                      "5 samples", "18")
    assert not out.exists()
