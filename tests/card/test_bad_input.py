"""semtool report: bad input is one line, exit 2, and no card folder."""

from __future__ import annotations

import pytest

from tests.card.test_report import write_data
from tests.conftest import assert_user_error
from tests.learn.fmnist import CLASSES, fashion_mnist, tiny_model_file


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    x, y = fashion_mnist("test", 20, 14)
    write_data(d / "nosyn.h5", x, y, CLASSES, None)
    tiny_model_file(d / "m.safetensors", size=14)
    tiny_model_file(d / "other.safetensors", size=14, classes=[f"class {i}" for i in range(10)])
    return d


def test_no_synsets_and_no_reference(files, cli, tmp_path):
    proc = cli("report", files / "m.safetensors", files / "nosyn.h5", "-o", tmp_path / "card")
    assert_user_error(proc, "nosyn.h5", "no WordNet synsets", "--synsets", "--reference")
    assert not (tmp_path / "card").exists()


def test_model_classes_share_nothing_with_the_data(files, cli, tmp_path):
    proc = cli("report", files / "other.safetensors", files / "nosyn.h5", "-o", tmp_path / "card")
    assert_user_error(proc, "nosyn.h5")
    assert not (tmp_path / "card").exists()


def test_options(files, cli, tmp_path):
    assert_user_error(cli("report", files / "m.safetensors", files / "nosyn.h5"), "-o")
    assert_user_error(cli("report", files / "m.safetensors", files / "nosyn.h5", "-o", tmp_path / "c",
                          "--shard", "1/2"), "--zoo")
    assert_user_error(cli("report", files / "m.safetensors", files / "nosyn.h5", "-o", tmp_path / "c",
                          "--rsm-samples", "2"), "--rsm-samples")
    assert_user_error(cli("report", files / "m.safetensors", files / "nosyn.h5", "-o", tmp_path / "no" / "c"),
                      "does not exist")
    assert not (tmp_path / "c").exists()
