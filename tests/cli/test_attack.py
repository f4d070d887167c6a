"""``semtool attack``: the ε sweep end to end, its predictions file, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from semtool import store
from tests.conftest import assert_user_error
from tests.learn.fmnist import CLASSES, GROUPS, fmnist_imageset, tiny_model_file, write_csm

ENV = {"OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from semtool.models import model_metadata, save_model

    d = tmp_path_factory.mktemp("attack")
    fmnist_imageset(d / "test.h5", "test", n=40, size=14)
    visual = [0, 1, 1, 0, 0, 2, 0, 2, 1, 2]
    with h5py_append(d / "test.h5") as f:
        f.create_dataset("visual_groups", data=np.array(visual))
        store.write_strings(f, "visual_group_names", ["a", "b", "c"])
    m = tiny_model_file(d / "m.safetensors")
    save_model(d / "other.safetensors", m, model_metadata(m, architecture="convnet", classes=[c.upper() for c in CLASSES],
                                                          input_size=(14, 14)))
    rng = np.random.default_rng(0)
    r = rng.random((10, 10))
    np.fill_diagonal(r, 1)
    write_csm(d / "ref.h5", r)
    return d, m, visual, r


def h5py_append(path):
    import h5py

    return h5py.File(path, "a")


def test_sweep_writes_predictions_and_prints_severity(setup, cli):
    d, m, visual, ref = setup
    proc = cli("attack", d / "m.safetensors", d / "test.h5", "--eps", "0,0.5,1", "--steps", "3", "--csm", d / "ref.h5",
               "-o", d / "a.h5", "--json", "--device", "cpu", env=ENV)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = json.loads(proc.stdout)
    assert [r["eps"] for r in rows] == [0, 0.5, 1]
    with store.open_file(d / "a.h5", "predictions") as f:
        logits, preds, labels = f["logits"][...], f["predictions"][...], f["labels"][...]
        np.testing.assert_array_equal(f["epsilons"][...], [0, 0.5, 1])
        assert store.read_strings(f["classes"]) == CLASSES
        np.testing.assert_array_equal(f["groups"][...], GROUPS)
        np.testing.assert_array_equal(f["visual_groups"][...], visual)
    assert logits.shape == (3, 40, 10) and logits.dtype == np.float32 and preds.shape == (3, 40)
    np.testing.assert_array_equal(preds, logits.argmax(-1))
    # ε = 0 is the clean model; PGD with the same settings gives the stored logits
    from semtool.attack import pgd_l2, severity

    with store.open_file(d / "test.h5", "imageset") as f:
        x = torch.from_numpy(f["images"][...].transpose(0, 3, 1, 2)).float() / 255
    m.eval()
    with torch.no_grad():
        np.testing.assert_allclose(logits[0], m(x).numpy(), rtol=1e-5, atol=1e-5)
        adv = pgd_l2(m, x, torch.from_numpy(labels), 1.0, steps=3)
        np.testing.assert_allclose(logits[2], m(adv).numpy(), rtol=1e-4, atol=1e-4)
    from semtool.measure import idm

    for e, row in enumerate(rows):
        s = severity(labels, preds[e], groups=np.array(GROUPS), visual_groups=np.array(visual))
        for k in ("accuracy", "superclass_accuracy", "mistake_superclass_accuracy", "mistake_visual_share"):
            assert row[k] == pytest.approx(s[k], nan_ok=True)
        assert row["idm"] == pytest.approx(idm(labels, preds[e], ref))
    assert rows[2]["accuracy"] <= rows[0]["accuracy"]


def test_use_best_reaches_the_library_result(setup, cli):
    d, m, *_ = setup
    proc = cli("attack", d / "m.safetensors", d / "test.h5", "--eps", "2", "--steps", "4", "--step-size", "1.5",
               "--use-best", "-o", d / "best.h5", "--device", "cpu", env=ENV)
    assert proc.returncode == 0, proc.stderr.decode()
    from semtool.attack import pgd_l2

    with store.open_file(d / "best.h5", "predictions") as f:
        logits, labels = f["logits"][...], f["labels"][...]
    with store.open_file(d / "test.h5", "imageset") as f:
        x = torch.from_numpy(f["images"][...].transpose(0, 3, 1, 2)).float() / 255
    y = torch.from_numpy(labels)
    m.eval()
    best = pgd_l2(m, x, y, 2.0, steps=4, step_size=1.5, use_best=True)
    last = pgd_l2(m, x, y, 2.0, steps=4, step_size=1.5)
    with torch.no_grad():
        np.testing.assert_allclose(logits[0], m(best).numpy(), rtol=1e-4, atol=1e-4)
        assert not np.allclose(logits[0], m(last).numpy(), atol=1e-3)  # the option changed the result


def test_negative_eps(setup, cli):
    d, *_ = setup
    proc = cli("attack", d / "m.safetensors", d / "test.h5", "--eps", "0,-0.5", "-o", d / "neg.h5")
    assert_user_error(proc, "--eps")
    assert proc.stdout == b"" and not (d / "neg.h5").exists()


def test_model_classes_differ_from_data(setup, cli):
    d, *_ = setup
    proc = cli("attack", d / "other.safetensors", d / "test.h5", "-o", d / "x.h5")
    assert_user_error(proc, "classes differ")
    assert proc.stdout == b"" and not (d / "x.h5").exists()


def test_cuda_without_cuda(setup, cli):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    d, *_ = setup
    proc = cli("attack", d / "m.safetensors", d / "test.h5", "--device", "cuda", "-o", d / "y.h5")
    assert_user_error(proc, "--device")
    assert not (d / "y.h5").exists()
