"""Each record written and read back equals itself; each read checks its kind's contract."""

import numpy as np
import pytest

from semtool import store
from semtool.errors import UserError
from semtool.kinds import Csm, Curves, Embeddings, Features, Grouping, Predictions, Rsm, TwoVsTwo, read

CLASSES = ["cat", "dog", "car", "truck"]


def _same(a, b, fields):
    for name in fields:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        elif isinstance(x, Grouping):
            np.testing.assert_array_equal(x.index, y.index)
            assert x.names == y.names
        else:
            assert x == y, name


def test_csm_round_trip_with_groups(tmp_path, rng):
    m = rng.random((3, 4, 4))
    c = Csm("", m, CLASSES, np.array([0.0, 1.5, 3.0]), source="ncsm", measure="cosine",
            groups=Grouping([0, 0, 1, 1], ["animals", "vehicles"]), label="run")
    c.write(tmp_path / "c.h5")
    back = Csm.read(tmp_path / "c.h5")
    _same(c, back, ["matrix", "classes", "epochs", "source", "measure", "groups", "label"])
    assert back.is_stack and back.path.endswith("c.h5")
    assert isinstance(read(tmp_path / "c.h5"), Csm)


def test_csm_read_refuses_nan_unless_asked(tmp_path, rng):
    m = rng.random((4, 4))
    m[0, 1] = np.nan
    Csm("", m, CLASSES, source="ncsm").write(tmp_path / "n.h5")
    with pytest.raises(UserError, match="NaN"):
        Csm.read(tmp_path / "n.h5")
    assert np.isnan(Csm.read(tmp_path / "n.h5", finite=False).matrix[0, 1])


def test_predictions_round_trip_and_argmax_of_logits(tmp_path, rng):
    logits = rng.normal(size=(2, 6, 4)).astype(np.float32)
    p = Predictions("", rng.integers(0, 4, 6), logits.argmax(-1), CLASSES, np.array([0.0, 0.5]),
                    Grouping([0, 0, 1, 1], ["a", "v"]), Grouping([0, 1, 0, 1]), logits=logits)
    p.write(tmp_path / "p.h5")
    back = Predictions.read(tmp_path / "p.h5", logits=True)
    _same(p, back, ["labels", "predicted", "classes", "epsilons", "groups", "visual_groups", "logits"])
    with store.create(tmp_path / "l.h5", "predictions", parameters={}) as f:  # logits only
        f["labels"] = p.labels
        store.write_strings(f, "classes", CLASSES)
        f["logits"] = logits[0]
    np.testing.assert_array_equal(Predictions.read(tmp_path / "l.h5").predicted, logits[0].argmax(-1)[None])


def test_predictions_groups_must_be_per_class(tmp_path, rng):
    with store.create(tmp_path / "g.h5", "predictions", parameters={}) as f:
        f["labels"] = np.zeros(3, np.int64)
        f["predictions"] = np.zeros(3, np.int64)
        store.write_strings(f, "classes", CLASSES)
        f["groups"] = np.zeros(3, np.int64)
    with pytest.raises(UserError, match="one entry per class"):
        Predictions.read(tmp_path / "g.h5")


def test_features_rsm_twovtwo_embeddings_curves_round_trip(tmp_path, rng):
    feats = Features("", {"conv": rng.random((5, 2, 3, 3)).astype(np.float32), "fc": rng.random((5, 4))},
                     np.arange(5) % 4, CLASSES)
    feats.write(tmp_path / "f.h5")
    back = Features.read(tmp_path / "f.h5")
    assert list(back.layers) == ["conv", "fc"]
    for k in feats.layers:
        np.testing.assert_array_equal(back.layers[k], feats.layers[k])
    assert list(Features.read(tmp_path / "f.h5", "fc").layers) == ["fc"]
    with pytest.raises(UserError, match="no layer 'x'"):
        Features.read(tmp_path / "f.h5", "x")

    r = Rsm("", rng.random((5, 5)), np.arange(5), CLASSES, layer="conv", kernel="cosine", matcher="optimal",
            semantic=True, evaluation={"top1": 0.5})
    r.write(tmp_path / "r.h5")
    _same(r, Rsm.read(tmp_path / "r.h5"), ["matrix", "labels", "classes", "layer", "kernel", "matcher", "semantic",
                                             "evaluation"])

    t = TwoVsTwo("", ["a", "b"], np.array([0.7, 0.8]), rng.random((2, 10)), np.array([0.01, 0.2]),
                 passes=np.array([7, 8]), tests=10, one_vs_two={"accuracy": np.array([0.6, 0.5])})
    t.write(tmp_path / "t.h5")
    _same(t, TwoVsTwo.read(tmp_path / "t.h5"), ["layers", "accuracy", "null", "p_value", "passes", "tests"])
    np.testing.assert_array_equal(TwoVsTwo.read(tmp_path / "t.h5").one_vs_two["accuracy"], [0.6, 0.5])

    e = Embeddings("", rng.random((4, 3)).astype(np.float32), CLASSES, "text", {"model": "m"})
    e.write(tmp_path / "e.h5")
    _same(e, Embeddings.read(tmp_path / "e.h5"), ["vectors", "concepts", "source", "attrs"])

    c = Curves("", np.arange(3.0), {"sai/cosine": np.array([0.1, 0.2, 0.3]), "loss": np.ones(3)},
               {"ncsm": rng.random((3, 4, 4))}, CLASSES, "run")
    c.write(tmp_path / "c.h5")
    back = Curves.read(tmp_path / "c.h5")
    assert sorted(back.series) == ["loss", "sai/cosine"]
    np.testing.assert_array_equal(back.snapshots["ncsm"], c.snapshots["ncsm"])
    assert Curves.read(tmp_path / "c.h5", snapshots=False).snapshots == {}
    assert isinstance(read(tmp_path / "c.h5"), Curves)


def test_hybrids_and_captions_round_trip_and_unfinished_files(tmp_path, rng):
    from semtool.kinds import Captions, Hybrids

    h = Hybrids("", rng.integers(0, 255, (4, 8, 8, 3), dtype=np.uint8), np.array([0, 1, 2, 3]),
                np.array([1, 0, 3, 2]), np.arange(4), CLASSES, {"method": "mixup", "factor": 0.5})
    h.write(tmp_path / "h.h5")
    _same(h, Hybrids.read(tmp_path / "h.h5"), ["images", "base_labels", "target_labels", "source_index", "classes"])
    import h5py

    with h5py.File(tmp_path / "h.h5", "r+") as f:  # a generator's unfinished file: two rows done
        f["done"] = np.array([True, False, True, False])
    np.testing.assert_array_equal(Hybrids.read(tmp_path / "h.h5").base_labels, [0, 2])

    c = Captions("", ["a cat", "a dog"], np.array([0.3, 0.2], np.float32), np.array([1.24, 1.24], np.float32),
                 [["a cat", "cat"], ["a dog", "dog"]], np.array([[0.3, 0.1], [0.2, 0.1]], np.float32),
                 np.array([0, 1]), CLASSES[:2], "abc")
    c.write(tmp_path / "c.h5")
    back = Captions.read(tmp_path / "c.h5", candidates=True)
    _same(c, back, ["best", "best_score", "guidance", "candidates", "scores", "labels", "classes", "images_sha256"])
    with h5py.File(tmp_path / "c.h5", "r+") as f:
        f["done"] = np.array([True, False])
    with pytest.raises(UserError, match="unfinished"):
        Captions.read(tmp_path / "c.h5")
