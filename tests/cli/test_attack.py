"""``semtool attack``: the ε sweep end to end, its predictions file, and bad input."""

from __future__ import annotations

import dataclasses
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


def test_zero_steps_is_refused(setup, cli):
    """Zero PGD steps would repeat the clean evaluation in every row."""
    d, *_ = setup
    proc = cli("attack", d / "m.safetensors", d / "test.h5", "--eps", "0,0.5", "--steps", "0", "-o", d / "z.h5")
    assert_user_error(proc, "--steps 0", "clean evaluation")
    assert not (d / "z.h5").exists()


def test_targeted_reports_the_target_hit_rate_per_eps(setup, cli):
    d, *_ = setup
    proc = cli("attack", d / "m.safetensors", d / "test.h5", "--eps", "0,1,4", "--steps", "5", "--targeted", "next",
               "-o", d / "t.h5", "--json", "--device", "cpu", env=ENV)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = json.loads(proc.stdout)
    with store.open_file(d / "t.h5", "predictions") as f:
        labels, preds, targets = f["labels"][...], f["predictions"][...], f["targets"][...]
    np.testing.assert_array_equal(targets, (labels + 1) % 10)  # 'next': (y + 1) mod C
    for e, row in enumerate(rows):
        assert row["target_hit_rate"] == pytest.approx(np.mean(preds[e] == targets))
    assert rows[2]["target_hit_rate"] > rows[0]["target_hit_rate"]


def test_terminal_table_fits_80_columns_with_a_legend(setup):
    import os
    import pty
    import re
    import subprocess
    import sys

    d, *_ = setup
    leader, follower = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "semtool", "attack", d / "m.safetensors", d / "test.h5", "--eps",
                           "0,0.5", "--steps", "1", "--targeted", "random", "--csm", d / "ref.h5", "--device", "cpu"],
                          stdout=follower, stderr=subprocess.PIPE, env={**os.environ, **ENV, "COLUMNS": "200"},
                          timeout=300)
    os.close(follower)
    out = b""
    try:
        while chunk := os.read(leader, 1 << 16):
            out += chunk
    except OSError:  # the terminal's other end is closed: all read
        pass
    os.close(leader)
    assert proc.returncode == 0, proc.stderr.decode()
    lines = re.sub(r"\x1b\[[0-9;]*m", "", out.decode()).splitlines()
    assert max(len(ln) for ln in lines) <= 80, "\n".join(lines)
    assert any("err_visual: share of mistakes inside the visual superclass" in ln for ln in lines)
    assert any("hit: share of images predicted as their target class" in ln for ln in lines)


def test_data_classes_in_another_order_are_matched_by_name(setup, cli, tmp_path):
    """The imageset lists the model's classes in another order: its labels are matched to the
    model's outputs by name (as sai matches CSMs), so the sweep equals the one on the original."""
    from semtool.data.imageset import read_imageset, write_imageset

    d, *_ = setup
    data = read_imageset(d / "test.h5")
    perm = np.random.default_rng(1).permutation(10)
    where = np.argsort(perm)  # new index of each old class
    shuffled = dataclasses.replace(data, classes=[data.classes[i] for i in perm], labels=where[data.labels],
                                   groups=data.groups[perm], visual_groups=data.visual_groups[perm])
    write_imageset(tmp_path / "shuffled.h5", shuffled, command="test", parameters={})
    runs = [cli("attack", d / "m.safetensors", path, "--eps", "0,0.5", "--steps", "2", "-o", out, "--json",
                "--device", "cpu", env=ENV) for path, out in ((d / "test.h5", tmp_path / "a.h5"),
                                                              (tmp_path / "shuffled.h5", tmp_path / "b.h5"))]
    assert [p.returncode for p in runs] == [0, 0], runs[1].stderr.decode()
    assert "matched by name" in runs[1].stderr.decode()
    assert json.loads(runs[0].stdout) == json.loads(runs[1].stdout)
    with store.open_file(tmp_path / "a.h5") as a, store.open_file(tmp_path / "b.h5") as b:
        for key in ("labels", "predictions", "groups"):
            np.testing.assert_array_equal(a[key][...], b[key][...])
