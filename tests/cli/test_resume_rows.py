"""``features --resume`` and ``attack --resume``: after a ``kill -9`` the rerun skips the
finished rows and ends with the files (and the table) of an uninterrupted run; the
refusals around it are one line, exit 2, no output."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from semtool import store
from tests.conftest import assert_user_error
from tests.learn.fmnist import fmnist_imageset, tiny_model_file

ENV = {"OMP_NUM_THREADS": "1"}
#: 40 images in batches of 16: the kill lands after the second batch (rows 0–31 written)
KILL = {**ENV, "SEMTOOL_DEBUG_SIGKILL_ROWS": "32"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("resume_rows")
    fmnist_imageset(d / "test.h5", "test", n=40, size=14)
    tiny_model_file(d / "m.safetensors")
    return d


def _contents(path):
    """Every dataset (values, dtype, attributes) and the root attributes but the creation time."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj[...], str(obj.dtype), {k: str(v) for k, v in obj.attrs.items()})
        f.visititems(visit)
        out["/"] = {k: str(v) for k, v in f.attrs.items() if k != "created_at"}
    return out


def _assert_same_file(a, b):
    ca, cb = _contents(a), _contents(b)
    assert sorted(ca) == sorted(cb)
    assert ca.pop("/") == cb.pop("/")
    for k, (x, dtype, attrs) in ca.items():
        assert (dtype, attrs) == cb[k][1:], k
        np.testing.assert_array_equal(x, cb[k][0], err_msg=k)


def _features(d, out, *extra):
    return ("features", d / "m.safetensors", d / "test.h5", "--layers", "pixels,block1.3,block3.1", "--pool", "mean",
            "--batch-size", "16", "--device", "cpu", "-o", d / f"{out}.h5", "--predictions", d / f"{out}_p.h5",
            *extra)


def test_features_resume_after_sigkill_equals_an_uninterrupted_run(setup, cli):
    d = setup
    assert cli(*_features(d, "ref"), env=ENV).returncode == 0
    killed = cli(*_features(d, "cut"), env=KILL)
    assert killed.returncode == -9, killed.stderr.decode()
    partials = [store.Resumable.partial_path(d / name) for name in ("cut.h5", "cut_p.h5")]
    assert all(p.exists() for p in partials) and not (d / "cut.h5").exists() and not (d / "cut_p.h5").exists()
    # the kill came after the features file's mask of rows 16–31, before the predictions file's
    with h5py.File(partials[0]) as f, h5py.File(partials[1]) as g:
        assert f["done"][...].sum() == 32 and g["done"][...].sum() == 16

    assert_user_error(cli(*_features(d, "cut"), env=ENV), ".cut.h5.partial", "--resume", "--force")
    assert_user_error(cli(*_features(d, "cut"), "--resume", "--pool", "max", env=ENV), "pool")
    hidden = d / "m.safetensors.away"  # refused before the model loads: no model needed to say so
    (d / "m.safetensors").rename(hidden)
    try:
        assert_user_error(cli(*_features(d, "cut"), "--resume", "--limit", "32", env=ENV), "limit")
    finally:
        hidden.rename(d / "m.safetensors")
    assert_user_error(cli(*_features(d, "cut"), "--resume", "--layers", "pixels,block1.3", env=ENV), "layers")
    assert_user_error(cli(*_features(d, "cut"), "--resume", "--batch-size", "8", env=ENV), "batch_size")
    assert not (d / "cut.h5").exists() and not (d / "cut_p.h5").exists()

    done = cli(*_features(d, "cut"), "--resume", env=ENV)
    assert done.returncode == 0, done.stderr.decode()
    assert "resuming: 16 of 40" in done.stderr.decode()
    assert not any(p.exists() for p in partials)
    _assert_same_file(d / "ref.h5", d / "cut.h5")
    _assert_same_file(d / "ref_p.h5", d / "cut_p.h5")
    with h5py.File(d / "cut.h5") as f:
        assert "done" not in f and list(f["layers"]) == ["pixels", "block1.3", "block3.1"]


def test_features_force_discards_the_partial_files(setup, cli):
    d = setup
    assert cli(*_features(d, "forced"), env=KILL).returncode == -9
    proc = cli(*_features(d, "forced"), "--force", env=ENV)
    assert proc.returncode == 0, proc.stderr.decode()
    assert "resuming" not in proc.stderr.decode()
    assert not store.Resumable.partial_path(d / "forced.h5").exists()
    with h5py.File(d / "forced.h5") as f:
        assert f["layers/pixels"].shape == (40, 14 * 14)


def _attack(d, out, *extra):
    return ("attack", d / "m.safetensors", d / "test.h5", "--eps", "0,0.5,1", "--steps", "3", "--random-start",
            "--targeted", "random", "--batch-size", "16", "--seed", "5", "--device", "cpu", "--json",
            "-o", d / out, *extra)


def test_attack_resume_after_sigkill_continues_the_random_stream(setup, cli):
    d = setup
    ref = cli(*_attack(d, "a_ref.h5"), env=ENV)
    assert ref.returncode == 0, ref.stderr.decode()
    killed = cli(*_attack(d, "a_cut.h5"), env=KILL)
    assert killed.returncode == -9 and not (d / "a_cut.h5").exists()
    partial = store.Resumable.partial_path(d / "a_cut.h5")
    with h5py.File(partial) as f:
        assert f["done"][...].sum() == 32

    assert_user_error(cli(*_attack(d, "a_cut.h5"), env=ENV), ".a_cut.h5.partial", "--resume")
    for changed, name in ((("--seed", "6"), "seed"), (("--eps", "0,0.5,2"), "eps"), (("--steps", "4"), "steps"),
                          (("--targeted", "next"), "targeted")):
        assert_user_error(cli(*_attack(d, "a_cut.h5"), "--resume", *changed, env=ENV), name)
    assert not (d / "a_cut.h5").exists()

    done = cli(*_attack(d, "a_cut.h5"), "--resume", env=ENV)
    assert done.returncode == 0, done.stderr.decode()
    assert "resuming: 32 of 40" in done.stderr.decode() and not partial.exists()
    # the table is the finished file's, not the last 8 images'
    assert done.stdout == ref.stdout and len(json.loads(done.stdout)) == 3
    _assert_same_file(d / "a_ref.h5", d / "a_cut.h5")

    # and both are what the in-memory sweep gives (one generator seeded once, as before files resumed)
    from semtool.attack import sweep
    from semtool.data.imageset import read_imageset
    from semtool.models import load_model

    ims = read_imageset(d / "test.h5")
    net = load_model(d / "m.safetensors")[0]
    res = sweep(net, ims.images, ims.labels, [0, 0.5, 1], steps=3, random_init=True, targeted="random",
                batch_size=16, seed=5)
    with h5py.File(d / "a_cut.h5") as f:
        np.testing.assert_allclose(f["logits"][...], res.logits, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(f["targets"][...], res.targets)
        np.testing.assert_array_equal(f["predictions"][...], res.predictions)


def test_resume_needs_a_partial_file_and_attack_needs_an_output(setup, cli):
    d = setup
    proc = cli(*_features(d, "none"), "--resume", env=ENV)
    assert_user_error(proc, "--resume", ".none.h5.partial")
    proc = cli(*_attack(d, "none.h5"), "--resume", env=ENV)
    assert_user_error(proc, "--resume", ".none.h5.partial")
    proc = cli("attack", d / "m.safetensors", d / "test.h5", "--steps", "1", "--device", "cpu", "--resume", env=ENV)
    assert_user_error(proc, "--resume", "-o")
    assert not list(d.glob("none*")) and not list(d.glob(".none*"))


def test_generator_state_survives_a_kill_between_its_flush_and_the_mask(tmp_path):
    """A kill after a batch's generator state reached the disk but before its ``done`` mask:
    the resumed run takes the state of the rows the mask vouches for (the other slot)."""
    from semtool.kinds.predictions import AttackPredictionsWriter

    def writer(resume):
        return AttackPredictionsWriter(tmp_path / "p.h5", labels=np.zeros(6, np.int64), classes=["a", "b"],
                                       epsilons=[0.0, 1.0], targeted=False, batch_size=2, resume=resume,
                                       parameters={"x": 1})

    states = [np.full(16, k, np.uint8) for k in range(3)]
    w = writer(False)
    with pytest.raises(KeyboardInterrupt):
        with w:
            w.add(0, np.ones((2, 2, 2), np.float32), None, states[0])
            w.add(2, np.ones((2, 2, 2), np.float32), None, states[1])
            # the third batch's state and rows are flushed, then the process dies before the mask
            w.f["generator_state"][0] = states[2]
            w.f["generator_rows"][0] = 6
            w.rows.flush()
            raise KeyboardInterrupt
    with writer(True) as w:
        assert w.first_undone() == 4
        np.testing.assert_array_equal(w.generator_state(4), states[1])
        assert w.generator_state(0) is None
        w.add(4, np.zeros((2, 2, 2), np.float32), None, states[2])
    with h5py.File(tmp_path / "p.h5") as f:
        assert not {"done", "generator_state", "generator_rows"} & set(f)
        np.testing.assert_array_equal(f["logits"][:, 4:], 0)
        np.testing.assert_array_equal(f["logits"][:, :4], 1)


def test_resume_refuses_another_input_under_the_same_name(setup, cli, tmp_path):
    d = setup
    data = tmp_path / "data.h5"
    fmnist_imageset(data, "test", n=40, size=14)
    args = ("attack", d / "m.safetensors", data, "--eps", "0,1", "--steps", "1", "--batch-size", "16", "--device",
            "cpu", "-o", tmp_path / "a.h5")
    assert cli(*args, env=KILL).returncode == -9
    fmnist_imageset(data, "train", n=40, size=14)  # other images, same file name
    assert_user_error(cli(*args, "--resume", env=ENV), "data.h5", "differs", "--force")
    assert not (tmp_path / "a.h5").exists() and store.Resumable.partial_path(tmp_path / "a.h5").exists()
