"""Mistakes found by using semtool as a new user: each is one line on stderr, exit 2, and
leaves the files it names as they were (no output replaces an input or another output)."""

from __future__ import annotations

import numpy as np
import pytest

from semtool import store
from semtool.errors import UserError
from tests.conftest import assert_user_error
from tests.learn.fmnist import fmnist_imageset, tiny_model_file, write_csm

ENV = {"OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("audit")
    fmnist_imageset(d / "data.h5", "test", n=20, size=14)
    tiny_model_file(d / "m.safetensors")
    write_csm(d / "ref.h5", np.eye(10))
    return d


def _unchanged(*paths):
    """Snapshot of files' bytes, to assert a failed command left them alone."""
    return {p: p.read_bytes() for p in paths}


def test_train_output_is_its_data(setup, cli):
    d = setup
    before = _unchanged(d / "data.h5")
    proc = cli("train", d / "data.h5", "-o", d / "data.h5", "--force", "--epochs", "1", env=ENV)
    assert_user_error(proc, "-o", "data.h5", "DATA")
    assert _unchanged(d / "data.h5") == before


def test_train_curves_is_its_model_output(setup, cli):
    d = setup
    out = d / "x.safetensors"
    proc = cli("train", d / "data.h5", "-o", out, "--curves", out, "--epochs", "1", env=ENV)
    assert_user_error(proc, "--curves", "-o")
    assert not out.exists()


def test_train_output_is_a_tracked_reference(setup, cli):
    d = setup
    before = _unchanged(d / "ref.h5")
    proc = cli("train", d / "data.h5", "-o", d / "ref.h5", "--force", "--track-against", d / "ref.h5", "--epochs", "1",
               env=ENV)
    assert_user_error(proc, "-o", "--track-against")
    assert _unchanged(d / "ref.h5") == before


@pytest.mark.parametrize("opt, value, message", [
    ("--momentum", "2", "--momentum"),
    ("--momentum", "-0.1", "--momentum"),
    ("--weight-decay", "-1", "--weight-decay"),
    ("--eval-batch-size", "0", "--eval-batch-size"),
])
def test_train_out_of_range_options(setup, cli, opt, value, message):
    d = setup
    out = d / "y.safetensors"
    proc = cli("train", d / "data.h5", "-o", out, "--eval", d / "data.h5", "--epochs", "1", opt, value, env=ENV)
    assert_user_error(proc, message)
    assert not out.exists()


@pytest.mark.parametrize("argv", [
    ("train", "DATA", "-o", "OUT", "--epochs", "1"),
    ("attack", "MODEL", "DATA", "--eps", "0", "--random-start"),
    ("twovtwo", "REF", "REF", "--permutations", "5"),
    ("rsm", "FEATURES", "--evaluate", "--samples", "4"),
    ("regroup", "DATA", "--latin", "--order", "shuffled", "-o", "OUT"),
])
def test_negative_seed(setup, cli, argv):
    d = setup
    names = {"DATA": d / "data.h5", "MODEL": d / "m.safetensors", "REF": d / "ref.h5", "FEATURES": d / "data.h5",
             "OUT": d / "z.out"}
    proc = cli(*[names.get(a, a) for a in argv], "--seed", "-1", env=ENV)
    assert_user_error(proc, "--seed")
    assert not (d / "z.out").exists()


def test_features_predictions_is_its_output(setup, cli):
    d = setup
    out = d / "f.h5"
    proc = cli("features", d / "m.safetensors", d / "data.h5", "-o", out, "--predictions", out, env=ENV)
    assert_user_error(proc, "--predictions", "-o")
    assert not out.exists()


def test_attack_output_is_its_model(setup, cli):
    d = setup
    before = _unchanged(d / "m.safetensors")
    proc = cli("attack", d / "m.safetensors", d / "data.h5", "--eps", "0", "-o", d / "m.safetensors", "--force",
               env=ENV)
    assert_user_error(proc, "m.safetensors", "input")
    assert _unchanged(d / "m.safetensors") == before


@pytest.mark.parametrize("extra, message", [
    (("--eps", "0.5", "--step-size", "-1"), "--step-size"),
    (("--eps", "0.5", "--step-size", "0"), "--step-size"),
    (("--eps", "0,0.5,0"), "--eps"),
])
def test_attack_bad_step_or_repeated_radius(setup, cli, extra, message):
    d = setup
    out = d / "a.h5"
    proc = cli("attack", d / "m.safetensors", d / "data.h5", "--steps", "1", "-o", out, *extra, env=ENV)
    assert_user_error(proc, message)
    assert not out.exists()


def test_regroup_in_place_is_refused(setup, cli):
    d = setup
    before = _unchanged(d / "data.h5")
    proc = cli("regroup", d / "data.h5", "--preset", "fashion-mnist", "-o", d / "data.h5", "--force")
    assert_user_error(proc, "data.h5", "input")
    assert _unchanged(d / "data.h5") == before


def test_check_distinct(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    a.write_text("x")
    (tmp_path / "link.h5").symlink_to(a)
    store.check_distinct({"-o": b}, [("DATA", a), ("--eval", a)])  # inputs may repeat
    store.check_distinct({"-o": "-", "--other": "-"})  # stdout twice is not a file
    with pytest.raises(UserError, match="--curves: .*b.h5 is also -o"):
        store.check_distinct({"-o": b, "--curves": tmp_path / "." / "b.h5"})
    with pytest.raises(UserError, match="-o: .*link.h5 is also DATA"):
        store.check_distinct({"-o": tmp_path / "link.h5"}, [("DATA", a)])
    with pytest.raises(UserError, match="is also an input"):
        store.check_output(a, force=True, inputs=[tmp_path / "link.h5"])


def test_train_bad_reference_without_curves_is_one_line(setup, cli):
    """The '--track-against without --curves' note came before the checks: two lines."""
    d = setup
    out = d / "w.safetensors"
    proc = cli("train", d / "data.h5", "-o", out, "--track-against", d / "data.h5", "--epochs", "1", env=ENV)
    assert_user_error(proc, "data.h5", "csm")
    assert not out.exists()


@pytest.mark.parametrize("argv", [
    ("sai", "-", "-"),
    ("sai", "--all-pairs", "-", "REF", "-"),
    ("twovtwo", "-", "-", "--permutations", "5"),
    ("idm", "-", "--csm", "-"),
])
def test_stdin_for_two_inputs(setup, cli, argv):
    """stdin holds one file: two '-' compared it with itself (sai printed 1)."""
    d = setup
    proc = cli(*[d / "ref.h5" if a == "REF" else a for a in argv], input=(d / "ref.h5").read_bytes())
    assert_user_error(proc, "'-'", "one input")


def test_rsm_matcher_without_semantic(tmp_path, cli):
    """--matcher was silently ignored without --semantic (the result is the spatio-semantic RSM)."""
    import h5py

    p = tmp_path / "f.h5"
    with store.create(p, "features") as f:
        f.create_dataset("layers/l", data=np.random.default_rng(0).random((6, 2, 3, 3), dtype=np.float32))
        f.create_dataset("labels", data=np.arange(6) % 2)
        store.write_strings(f, "classes", ["a", "b"])
    assert h5py.is_hdf5(p)
    assert cli("rsm", p, "--evaluate").returncode == 0
    assert_user_error(cli("rsm", p, "--evaluate", "--matcher", "greedy"), "--matcher", "--semantic")
