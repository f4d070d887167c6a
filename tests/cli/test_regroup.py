"""`semtool regroup`: the abreu2023 preset on a CIFAR-100-format archive, --latin, --spec."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semtool.data.imageset import read_imageset
from tests.data.archives import COARSE, FINE, write_cifar100
from tests.data.test_groupings import TABLE1, TABLE1_COLUMNS

TABLE_ROWS = [line.split() for line in TABLE1.strip().splitlines()]
TABLE_CLASSES = [c for r in TABLE_ROWS for c in r[1:]]


@pytest.fixture(scope="module")
def cifar_train(tmp_path_factory):
    """A CIFAR-100 training imageset: the 25 classes of Table 1 with 500 images each, plus 5 others."""
    from tests.conftest import run_cli

    root = tmp_path_factory.mktemp("cifar")
    counts = {c: 500 for c in TABLE_CLASSES}
    counts.update({c: 20 for c in ("apple", "whale", "tank", "rocket", "snail")})
    write_cifar100(root, counts)
    out = root / "train.h5"
    proc = run_cli("dataset", "cifar100", root, "--split", "train", "-o", out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_abreu2023_regroup(cifar_train, tmp_path, cli):
    out = tmp_path / "abreu.h5"
    proc = cli("regroup", cifar_train, "--preset", "abreu2023", "-o", out)
    assert proc.returncode == 0, proc.stderr
    data = read_imageset(out)
    assert data.classes == TABLE_CLASSES
    assert list(data.counts()) == [500] * 25 and len(data) == 12500
    assert data.group_names == ["A", "B", "C", "D", "E"]
    assert data.visual_group_names == TABLE1_COLUMNS
    for k, cls in enumerate(data.classes):
        row = next(r for r in TABLE_ROWS if cls in r)
        assert data.group_names[data.groups[k]] == row[0]
        assert data.visual_group_names[data.visual_groups[k]] == TABLE1_COLUMNS[row.index(cls) - 1]
        assert cls in COARSE[data.visual_group_names[data.visual_groups[k]]]
    # every image still shows its own class: the archive writer put the fine label in red
    red = data.images[:, 0, 0, 0]
    np.testing.assert_array_equal(red, [FINE.index(data.classes[lab]) for lab in data.labels])
    assert data.synsets[data.classes.index("pickup_truck")] == "pickup.n.01"
    [info] = json.loads(cli("info", out, "--json").stdout)
    assert info["groups"]["D"] == ["sunflower", "table", "caterpillar", "tiger", "pickup_truck"]
    assert [s["command"] for s in info["provenance"]] == ["dataset cifar100", "regroup"]


def test_latin_from_coarse_labels(cifar_train, tmp_path, cli):
    out = tmp_path / "latin.h5"
    proc = cli("regroup", cifar_train, "--latin", "--visual-superclasses", "5", "--per-superclass", "5", "-o", out)
    assert proc.returncode == 0, proc.stderr
    data = read_imageset(out)
    # only the table's five superclasses have five classes in this archive -> the same 25 classes
    assert sorted(data.classes) == sorted(TABLE_CLASSES)
    assert data.visual_group_names == TABLE1_COLUMNS
    for j in range(5):
        assert [c for c, g in zip(data.classes, data.groups) if g == j] == [sorted(COARSE[v])[j] for v in TABLE1_COLUMNS]


def test_spec_regroup(cifar_train, tmp_path, cli):
    spec = tmp_path / "g.toml"
    spec.write_text('[groups]\nsky = ["rocket", "bee"]\nsea = ["whale"]\n')
    out = tmp_path / "spec.h5"
    proc = cli("regroup", cifar_train, "--spec", spec, "-o", out)
    assert proc.returncode == 0, proc.stderr
    data = read_imageset(out)
    assert data.classes == ["rocket", "bee", "whale"] and list(data.counts()) == [20, 500, 20]
    assert list(data.groups) == [0, 0, 1] and data.visual_groups is None


def test_latin_from_a_superclass_file(tmp_path, cli):
    from tests.data.archives import write_fashion

    write_fashion(tmp_path / "fm", 40)
    src = tmp_path / "fm.h5"
    assert cli("dataset", "fashion-mnist", "--root", tmp_path / "fm", "-o", src).returncode == 0
    sup = tmp_path / "sup.tsv"
    sup.write_text("# class<TAB>superclass\nT-shirt/top\ttops\nShirt\ttops\nPullover\ttops\nCoat\ttops\n"
                   "Sandal\tshoes\nSneaker\tshoes\nAnkle boot\tshoes\n")
    out = tmp_path / "l.h5"
    proc = cli("regroup", src, "--latin", "--superclasses", sup, "--visual-superclasses", "2",
               "--per-superclass", "3", "-o", out)
    assert proc.returncode == 0, proc.stderr
    data = read_imageset(out)
    assert data.visual_group_names == ["shoes", "tops"] and data.group_names == ["A", "B", "C"]
    assert data.classes == ["Ankle boot", "Coat", "Sandal", "Pullover", "Sneaker", "Shirt"]
    assert list(data.counts()) == [4] * 6
    sup.write_text("Hat\ttops\n")
    from tests.conftest import assert_user_error

    assert_user_error(cli("regroup", src, "--latin", "--superclasses", sup, "-o", out, "--force"),
                      "sup.tsv", "no class 'Hat'")
