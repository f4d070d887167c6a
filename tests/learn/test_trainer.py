"""The training loop in-process: sub-epoch tracking leaves training untouched, schedules, no --eval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from safetensors.numpy import load_file

from semtool import store
from semtool.errors import UserError
from semtool.learn import TrainOptions, train
from tests.learn.fmnist import fmnist_imageset


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = tmp_path_factory.mktemp("trainer")
    fmnist_imageset(d / "train.h5", "train", n=200, size=7)
    fmnist_imageset(d / "test.h5", "test", n=50, size=7)
    return d


def _opts(d, name, **kw):
    base = dict(data=str(d / "train.h5"), output=str(d / f"{name}.safetensors"), epochs=2, batch_size=50,
                device="cpu", seed=1, force=True)
    base.update(kw)
    return TrainOptions(**base)


def test_track_every_adds_points_without_changing_training(small):
    a = train(_opts(small, "a", eval=str(small / "test.h5"), curves=str(small / "a.h5")))
    b = train(_opts(small, "b", eval=str(small / "test.h5"), curves=str(small / "b.h5"), track_every=0.5))
    wa, wb = load_file(str(small / "a.safetensors")), load_file(str(small / "b.safetensors"))
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k])
    assert a.history["epochs"] == [1.0, 2.0]
    assert b.history["epochs"] == [0.5, 1.0, 1.5, 2.0]
    for k in ("loss", "accuracy/eval", "wsi/mean"):
        np.testing.assert_array_equal(np.array(b.history[k])[[1, 3]], a.history[k])
    with store.open_file(small / "b.h5", "curves") as f:
        assert f["snapshots/ncsm"].shape == (4, 10, 10)


def test_without_eval_ccsm_values_are_nan_and_step_schedule(small):
    r = train(_opts(small, "c", epochs=4, schedule="step", curves=str(small / "c.h5")))
    assert r.history["lr"] == pytest.approx([0.1, 0.1, 0.01, 0.001])
    assert all(math.isnan(v) for v in r.history["accuracy/eval"] + r.history["idm/network"] + r.history["sai/ncsm_vs_ccsm"])
    assert all(not math.isnan(v) for v in r.history["wsi/mean"])


def test_the_same_seed_gives_the_same_weights(small):
    train(_opts(small, "s1", epochs=1, seed=9))
    train(_opts(small, "s2", epochs=1, seed=9))
    train(_opts(small, "s3", epochs=1, seed=10))
    w1, w2, w3 = (load_file(str(small / f"{n}.safetensors")) for n in ("s1", "s2", "s3"))
    assert all(np.array_equal(w1[k], w2[k]) for k in w1)
    assert not np.array_equal(w1["net.fc.weight"], w3["net.fc.weight"])


@pytest.mark.parametrize("kw,fragment", [({"track_every": 0.0}, "--track-every"), ({"batch_size": 0}, "--batch-size"),
                                         ({"schedule": "linear"}, "--schedule"), ({"amp": "bf16"}, "--amp")])
def test_bad_options(small, kw, fragment):
    with pytest.raises(UserError, match=fragment):
        train(_opts(small, "bad", **kw))
