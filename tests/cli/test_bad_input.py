"""The issue's bad-input list: each is one line on stderr, exit 2, and no output file."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from semtool import store
from semtool.data.imageset import ImageSet, write_imageset
from tests.conftest import assert_user_error, run_cli
from tests.data.archives import write_cifar100, write_fashion


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A tiny valid imageset (Fashion-MNIST class names)."""
    folder = tmp_path_factory.mktemp("small")
    write_fashion(folder, 20)
    p = folder / "small.h5"
    assert run_cli("dataset", "fashion-mnist", "--root", folder, "-o", p).returncode == 0
    return p


def _fails(proc, out, *fragments):
    assert_user_error(proc, *fragments)
    assert not out.exists()
    assert not [f for f in os.listdir(out.parent) if f.startswith(f".{out.name}")], "temporary file left"


def test_missing_file(tmp_path, cli):
    out = tmp_path / "o.h5"
    _fails(cli("regroup", tmp_path / "nope.h5", "--preset", "fashion-mnist", "-o", out), out, "nope.h5", "no such file")


def test_not_an_hdf5_file(tmp_path, cli):
    bad = tmp_path / "x.h5"
    bad.write_text("hello")
    out = tmp_path / "o.h5"
    _fails(cli("regroup", bad, "--preset", "fashion-mnist", "-o", out), out, "x.h5", "not an HDF5 file")


def test_truncated_hdf5_file(tmp_path, small, cli):
    cut = tmp_path / "cut.h5"
    data = small.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o.h5"
    _fails(cli("regroup", cut, "--preset", "fashion-mnist", "-o", out), out, "cut.h5", "truncated")


def test_wrong_kind(tmp_path, cli):
    csm = tmp_path / "m.h5"
    with store.create(csm, "csm") as f:
        f["matrix"] = np.eye(2)
        store.write_strings(f, "classes", ["a", "b"])
    out = tmp_path / "o.h5"
    _fails(cli("regroup", csm, "--preset", "fashion-mnist", "-o", out), out, "kind 'csm' found, 'imageset' expected")


def test_newer_schema(tmp_path, small, cli):
    new = tmp_path / "new.h5"
    new.write_bytes(small.read_bytes())
    with h5py.File(new, "a") as f:
        f.attrs["semtool_schema"] = 99
    out = tmp_path / "o.h5"
    _fails(cli("regroup", new, "--preset", "fashion-mnist", "-o", out), out, "schema 99 is newer")


def test_output_exists_without_force(tmp_path, small, cli):
    out = tmp_path / "o.h5"
    out.write_bytes(b"keep me")
    assert_user_error(cli("regroup", small, "--preset", "fashion-mnist", "-o", out), "o.h5", "exists", "--force")
    assert out.read_bytes() == b"keep me"
    assert cli("regroup", small, "--preset", "fashion-mnist", "-o", out, "--force").returncode == 0


def test_binary_output_to_stdout_or_a_terminal(tmp_path, small, cli):
    assert_user_error(cli("regroup", small, "--preset", "fashion-mnist", "-o", "-"), "'imageset' files need a path")
    # a small kind to stdout is refused when stdout is a terminal
    code = ("import typer\nfrom semtool import store\nfrom semtool.cli._common import guarded\n"
            "app = typer.Typer()\n@app.command()\n@guarded\ndef write():\n"
            "    with store.create('-', 'csm') as f: f['matrix'] = [[1.0]]\napp()\n")
    leader, follower = pty.openpty()
    proc = subprocess.run([sys.executable, "-c", code], stdout=follower, stderr=subprocess.PIPE, timeout=60)
    os.close(follower)
    os.close(leader)
    assert_user_error(proc, "refusing to write binary HDF5 to a terminal")


def test_unknown_preset(tmp_path, small, cli):
    out = tmp_path / "o.h5"
    _fails(cli("regroup", small, "--preset", "imagenet", "-o", out), out, "unknown preset 'imagenet'", "abreu2023")


@pytest.mark.parametrize("groups,message", [
    ({"A": ["Coat", "Unicorn"]}, "no class 'Unicorn'"),
    ({"A": ["Coat", "Bag"], "B": ["Bag"]}, "class 'Bag' appears in groups 'A' and 'B'"),
    ({"A": ["Coat"], "B": []}, "group 'B' is empty"),
])
def test_bad_spec(tmp_path, small, cli, groups, message):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"groups": groups}))
    out = tmp_path / "o.h5"
    _fails(cli("regroup", small, "--spec", spec, "-o", out), out, "s.json", message)


def test_cifar_folder_missing_meta(tmp_path, cli):
    write_cifar100(tmp_path / "c", {"bee": 2}, meta=False)
    out = tmp_path / "o.h5"
    _fails(cli("dataset", "cifar100", tmp_path / "c", "-o", out), out, "missing 'meta'")


@pytest.mark.parametrize("kw,message", [({"image_magic": 0x0801}, "wrong IDX magic number"),
                                        ({"cut": 100}, "wrong length")])
def test_fashion_mnist_bad_idx(tmp_path, cli, kw, message):
    write_fashion(tmp_path / "fm", 20, **kw)
    out = tmp_path / "o.h5"
    _fails(cli("dataset", "fashion-mnist", "--root", tmp_path / "fm", "-o", out), out,
           "train-images-idx3-ubyte.gz", message)


def test_unknown_synset_in_mapping_file(tmp_path, cli):
    write_fashion(tmp_path / "fm", 20)
    mapping = tmp_path / "map.tsv"
    mapping.write_text("# senses\nBag\tbag.n.01\nCoat\tcaot.n.01\n")
    out = tmp_path / "o.h5"
    _fails(cli("dataset", "fashion-mnist", "--root", tmp_path / "fm", "--synsets", mapping, "-o", out), out,
           "map.tsv:3", "unknown WordNet synset 'caot.n.01'")


def test_limit_per_class_zero(tmp_path, cli):
    write_fashion(tmp_path / "fm", 20)
    out = tmp_path / "o.h5"
    _fails(cli("dataset", "fashion-mnist", "--root", tmp_path / "fm", "--limit-per-class", "0", "-o", out), out,
           "--limit-per-class", "≥ 1")


def test_regroup_needs_exactly_one_way(tmp_path, small, cli):
    out = tmp_path / "o.h5"
    _fails(cli("regroup", small, "-o", out), out, "exactly one of --preset, --latin, --spec")
    _fails(cli("regroup", small, "--latin", "--preset", "abreu2023", "-o", out), out, "got --preset, --latin")
    _fails(cli("regroup", small, "--latin", "-o", out), out, "no coarse classes", "--superclasses")


def test_sigkill_during_dataset_write_leaves_nothing(tmp_path):
    """Kill `semtool dataset` while it writes: no file under the final name."""
    rng = np.random.default_rng(0)
    big = ImageSet(images=rng.integers(0, 256, (40000, 28, 28, 1), dtype=np.uint8), labels=np.arange(40000) % 10,
                   classes=[str(i) for i in range(10)])
    src = tmp_path / "src.h5"
    write_imageset(src, big, command="test", parameters={})
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"groups": {"A": [str(i) for i in range(10)]}}))
    out = tmp_path / "out.h5"
    proc = subprocess.Popen([sys.executable, "-m", "semtool", "regroup", str(src), "--spec", str(spec), "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(f.startswith(".out.h5.") for f in os.listdir(tmp_path)):
        assert proc.poll() is None, "finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
