"""``semtool twovtwo`` end to end against the library functions; bad input is one line."""

import json

import numpy as np
import pytest

from semtool import store
from semtool.measure.twovtwo import correlation_matrix, image_groups, one_vs_two, two_vs_two
from tests._helpers import embeddings_file, features_file, predictions_file
from tests.cli.test_rsm import CLASSES
from tests.conftest import assert_user_error


@pytest.fixture
def spaces(tmp_path, rng):
    words = rng.normal(size=(6, 12)).astype(np.float32)
    labels = np.tile(np.arange(6), 3)  # three images per concept
    conv = (words[labels][:, :, None, None] * np.ones((1, 1, 2, 2)) + rng.normal(size=(18, 12, 2, 2))).astype(np.float32)
    fc = rng.normal(size=(18, 7)).astype(np.float32)
    feats, emb = tmp_path / "feats.h5", tmp_path / "emb.h5"
    features_file(feats, {"conv": conv, "fc": fc}, labels, CLASSES)
    # B names the concepts in another order: matched by name.
    order = [5, 3, 1, 0, 2, 4]
    embeddings_file(emb, words[order], [CLASSES[i] for i in order])
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
    predictions_file(preds, labels, np.asarray(logits).argmax(axis=1), CLASSES, logits=logits)
    proc = cli("twovtwo", spaces["feats"], spaces["emb"], "--layers", "conv", "--one-vs-two", preds,
               "--permutations", "30", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    [shown] = json.loads(proc.stdout)
    ref = one_vs_two(spaces["conv"], labels, logits.astype(np.float32).argmax(axis=1),
                     correlation_matrix(spaces["words"]), permutations=30)
    assert shown["one_vs_two_tests"] == ref.tests
    assert shown["one_vs_two_accuracy"] == pytest.approx(ref.accuracy)
    assert shown["one_vs_two_p_value"] == pytest.approx(ref.p_value)
    assert shown["one_vs_two_p_value_authors"] == pytest.approx(ref.p_value_authors)
    assert shown["one_vs_two_mistakes"] == ref.mistakes and shown["one_vs_two_untestable"] == 0
    assert shown["one_vs_two_reference_min"] == ref.reference.min()
    assert shown["p_value_authors"] == pytest.approx(_library(spaces["conv"], labels, spaces["words"], 30).p_value_authors)
    # The stricter variant and the concepts null are options, passed through as such.
    proc = cli("twovtwo", spaces["feats"], spaces["emb"], "--layers", "conv", "--one-vs-two", preds,
               "--permutations", "30", "--json", "--exclude-predicted", "--null", "concepts")
    assert proc.returncode == 0, proc.stderr.decode()
    strict = one_vs_two(spaces["conv"], labels, logits.astype(np.float32).argmax(axis=1),
                        correlation_matrix(spaces["words"]), permutations=30, exclude_predicted=True, null="concepts")
    [shown] = json.loads(proc.stdout)  # one record
    assert shown["one_vs_two_passes"] == strict.passes
    assert shown["one_vs_two_p_value"] == pytest.approx(strict.p_value)


def test_one_vs_two_with_few_reference_concepts_says_what_it_tested(cli, spaces):
    """Only concepts 0–2 correctly classified: with --exclude-predicted, the images of concept 3
    (predicted as 0) keep 2 reference concepts, are reported untestable and are not counted."""
    labels = spaces["labels"]
    predicted = np.array([0, 1, 2, 0, 5, 3])[labels]
    preds = spaces["dir"] / "few.h5"
    predictions_file(preds, labels, np.asarray(3 * np.eye(6)[predicted]).argmax(axis=1), CLASSES, logits=3 * np.eye(6)[predicted])
    args = ("twovtwo", spaces["feats"], spaces["emb"], "--layers", "fc", "--one-vs-two", preds, "--permutations", "5")
    proc = cli(*args, "--exclude-predicted", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    [shown] = json.loads(proc.stdout)  # one record
    ref = one_vs_two(spaces["fc"], labels, predicted, correlation_matrix(spaces["words"]), permutations=5,
                     exclude_predicted=True)
    assert (shown["one_vs_two_mistakes"], shown["one_vs_two_untestable"], shown["one_vs_two_tests"]) == (9, 3, 6)
    assert shown["one_vs_two_passes"] == ref.passes and shown["one_vs_two_accuracy"] == pytest.approx(ref.passes / 6)
    assert shown["one_vs_two_reference_min"] == shown["one_vs_two_reference_max"] == 3
    assert "3 of 9 mistakes have fewer than 3 reference concepts" in proc.stderr.decode()
    table = cli(*args, "--exclude-predicted").stdout.decode().splitlines()
    assert table[0].split("\t")[5:8] == ["one_vs_two_tests", "one_vs_two_mistakes", "one_vs_two_reference"]
    assert table[1].split("\t")[5:8] == ["6", "9", "3"]
    assert_user_error(cli(*args, "--exclude-predicted", "--min-reference", "4"), "1 vs 2",
                      "no misclassified image has 4 or more reference concepts")


def test_constant_concept_is_named_once_and_drop_constant_runs_without_it(cli, spaces):
    words = spaces["words"].copy()
    words[1] = 0.0  # a constant word vector: NaN correlations
    emb = spaces["dir"] / "dead.h5"
    embeddings_file(emb, words, CLASSES)
    proc = cli("twovtwo", spaces["feats"], emb, "--layers", "fc", "--permutations", "5", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    warnings = [ln for ln in proc.stderr.decode().splitlines() if "warning" in ln]
    assert len(warnings) == 1 and CLASSES[1] in warnings[0] and "15 of 15 tests" in warnings[0], warnings
    [shown] = json.loads(proc.stdout)  # one record
    assert shown["accuracy"] == 0 and shown["constant"] == [CLASSES[1]]
    proc = cli("twovtwo", spaces["feats"], emb, "--layers", "fc", "--permutations", "5", "--json", "--drop-constant")
    assert proc.returncode == 0, proc.stderr.decode()
    [shown] = json.loads(proc.stdout)  # one record
    keep = [0, 2, 3, 4, 5]
    groups = image_groups(spaces["labels"], 6)
    ref = two_vs_two([correlation_matrix(spaces["fc"][g][keep]) for g in groups],
                     correlation_matrix(words[keep]), permutations=5)
    assert shown["tests"] == 10 and shown["accuracy"] == pytest.approx(ref.accuracy)


def test_each_layout_is_flattened_per_image(cli, spaces, rng):
    """(N, T, D) tokens and the same values as (N, D, T, 1) maps or (N, T·D) vectors: one image, one
    flattened vector (the authors flatten), so the 2 vs 2 results agree whatever the layout."""
    tok = (spaces["words"][spaces["labels"]][:, None, :] + rng.normal(size=(18, 3, 12))).astype(np.float32)
    feats = spaces["dir"] / "layouts.h5"
    features_file(feats, {"tokens": tok, "maps": tok.transpose(0, 2, 1)[..., None], "vectors": tok.reshape(18, -1)}, spaces["labels"], CLASSES)
    proc = cli("twovtwo", feats, spaces["emb"], "--permutations", "10", "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    shown = {r["layer"]: r for r in json.loads(proc.stdout)}
    ref = _library(tok, spaces["labels"], spaces["words"], 10)
    for layer in ("tokens", "maps", "vectors"):
        assert shown[layer]["passes"] == pytest.approx(ref.passes)


def test_one_vs_two_options_need_one_vs_two(cli, spaces):
    assert_user_error(cli("twovtwo", spaces["feats"], spaces["emb"], "--exclude-predicted"), "--one-vs-two")
    assert_user_error(cli("twovtwo", spaces["feats"], spaces["emb"], "--null", "pairs"), "--null", "rows, concepts")


def test_bad_inputs_are_one_line_and_leave_no_file(cli, spaces, rng):
    d, out = spaces["dir"], spaces["dir"] / "out.h5"
    few = d / "few.h5"
    embeddings_file(few, rng.normal(size=(3, 4)), CLASSES[:3])
    assert_user_error(cli("twovtwo", few, few, "-o", out), "at least 4 concepts")
    other = d / "other.h5"
    embeddings_file(other, rng.normal(size=(6, 4)), CLASSES[:4] + ["lion", "bus"])
    assert_user_error(cli("twovtwo", spaces["feats"], other, "-o", out), "4 of 6")
    assert_user_error(cli("twovtwo", spaces["feats"], spaces["emb"], "--layers", "nope", "-o", out),
                      "nope", "conv, fc")
    nan = d / "nan.h5"
    x = spaces["fc"].copy()
    x[2, 1] = np.nan
    features_file(nan, {"fc": x}, spaces["labels"], CLASSES)
    assert_user_error(cli("twovtwo", nan, spaces["emb"], "-o", out), "NaN")
    short = d / "short.h5"
    predictions_file(short, np.arange(5), np.asarray(rng.normal(size=(5, 6))).argmax(axis=1), CLASSES, logits=rng.normal(size=(5, 6)))
    assert_user_error(cli("twovtwo", spaces["feats"], spaces["emb"], "--one-vs-two", short, "-o", out),
                      "5 samples", "18")
    assert not out.exists()


def test_common_equals_the_intersection_written_by_hand(cli, spaces, rng):
    """--common keeps the concepts both name: the same numbers as files holding only those."""
    d, labels, words = spaces["dir"], spaces["labels"], spaces["words"]
    extra = rng.normal(size=(2, 12)).astype(np.float32)
    # B lacks 'ship' (concept 5) and holds two concepts the features lack, in its own order.
    b_order = [3, 0, 4, 2, 1]
    emb = d / "emb_more.h5"
    embeddings_file(emb, np.concatenate([words[b_order[:2]], extra[:1], words[b_order[2:]], extra[1:]]),
                     [CLASSES[i] for i in b_order[:2]] + ["lion"] + [CLASSES[i] for i in b_order[2:]] + ["bus"])
    # Predictions over more classes than the features hold (as a pretrained network's are).
    logits = 5 * np.eye(8)[labels]
    mistakes = {0: 1, 7: 2, 8: 5, 10: 0, 5: 3, 13: 7}  # image -> predicted; 8, 5 involve the dropped
    for i, p in mistakes.items():                      # 'ship', 13 a class the features lack
        logits[i, p] = 10
    preds = d / "preds_common.h5"
    predictions_file(preds, labels, np.asarray(logits).argmax(axis=1), CLASSES + ["lion", "zebra"], logits=logits)
    out = d / "common.h5"
    proc = cli("twovtwo", spaces["feats"], emb, "--common", "--one-vs-two", preds, "--permutations", "40",
               "--seed", "2", "-o", out, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    err = proc.stderr.decode()
    assert "5 shared concepts kept; dropped 1 of 6" in err and "2 of 7" in err
    assert "1 vs 2 on the 13 of 18 images whose true and predicted concepts are both compared" in err
    shown = {r["layer"]: r for r in json.loads(proc.stdout)}

    # By hand: the features of the five shared concepts, the embeddings of those five.
    keep = labels < 5
    feats5, emb5, hand = d / "feats5.h5", d / "emb5.h5", d / "hand.h5"
    features_file(feats5, {"conv": spaces["conv"][keep], "fc": spaces["fc"][keep]}, labels[keep], CLASSES[:5])
    embeddings_file(emb5, words[b_order], [CLASSES[i] for i in b_order])
    proc = cli("twovtwo", feats5, emb5, "--permutations", "40", "--seed", "2", "-o", hand, "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(out, "twovtwo") as f, store.open_file(hand, "twovtwo") as g:
        assert store.read_strings(f["concepts"]) == CLASSES[:5]
        for key in ("accuracy", "passes", "tests", "null", "p_value", "null_count"):
            np.testing.assert_array_equal(f[key][...], g[key][...])
        assert f["tests"][()] == 10  # C(5, 2)
    # 1 vs 2 on the images whose true and predicted concepts are both kept (a plain restriction).
    predicted = logits.argmax(1)
    sel = (labels < 5) & (predicted < 5)
    for layer in ("conv", "fc"):
        ref = one_vs_two(spaces[layer][sel], labels[sel], predicted[sel], correlation_matrix(words[:5]),
                         permutations=40, seed=2)
        assert shown[layer]["one_vs_two_tests"] == ref.tests == 3
        assert shown[layer]["one_vs_two_accuracy"] == pytest.approx(ref.accuracy)
        assert shown[layer]["one_vs_two_p_value"] == pytest.approx(ref.p_value)


def test_common_bad_input(cli, spaces, rng):
    d, out = spaces["dir"], spaces["dir"] / "out.h5"
    three = d / "three.h5"
    embeddings_file(three, rng.normal(size=(5, 4)), CLASSES[:3] + ["lion", "bus"])
    assert_user_error(cli("twovtwo", spaces["feats"], three, "--common", "-o", out),
                      "--common", "share 3 concepts", "at least 4")
    assert_user_error(cli("twovtwo", spaces["feats"], three, "-o", out), "3 of 6", "--common")
    fewer = d / "fewer_classes.h5"
    fewer_logits = rng.normal(size=(18, 5))
    predictions_file(fewer, spaces["labels"] % 5, fewer_logits.argmax(axis=1), CLASSES[:5], logits=fewer_logits)
    assert_user_error(cli("twovtwo", spaces["feats"], spaces["emb"], "--one-vs-two", fewer, "-o", out),
                      "lack 1 of the features' 6 (ship)")
    assert not out.exists()
