"""``semtool.data.csmio.read_reference``: the reference reader of ``train --track-against`` / ``attack --csm``."""

from __future__ import annotations

import numpy as np
import pytest

from semtool.data.csmio import read_reference, write_csm
from semtool.errors import UserError

FILE_CLASSES = ["cat", "dog", "emu", "fox", "gnu"]


def _matrix(rng, c):
    m = rng.uniform(size=(c, c))
    np.fill_diagonal(m, 1.0)
    return m


def test_reorders_and_drops_extra_classes(tmp_path):
    rng = np.random.default_rng(0)
    m = _matrix(rng, len(FILE_CLASSES))
    path = tmp_path / "wordnet.h5"
    write_csm(path, m, FILE_CLASSES, source="wordnet", measure="path")
    wanted = ["gnu", "cat", "fox"]
    name, got = read_reference(path, wanted)
    expected = np.empty((3, 3))
    for i, a in enumerate(wanted):
        for j, b in enumerate(wanted):
            expected[i, j] = m[FILE_CLASSES.index(a), FILE_CLASSES.index(b)]
    assert name == "wordnet"
    np.testing.assert_array_equal(got, expected)


def test_missing_classes_name_the_file(tmp_path):
    path = tmp_path / "ref.h5"
    write_csm(path, np.eye(5), FILE_CLASSES, source="groups", measure="block")
    with pytest.raises(UserError) as err:
        read_reference(path, ["cat", "owl", "yak"])
    assert str(err.value) == f"{path}: lacks training classes owl, yak"


@pytest.mark.parametrize("option", ["--track-against", "--csm"])
def test_stack_refused_naming_the_option(tmp_path, option):
    path = tmp_path / "stack.h5"
    write_csm(path, np.stack([np.eye(5)] * 2), FILE_CLASSES, source="ncsm", measure="cosine",
              epochs=np.arange(2.0))
    with pytest.raises(UserError) as err:
        read_reference(path, FILE_CLASSES, option=option)
    assert str(err.value) == f"{path}: {option} needs a csm file with one 'matrix', not a stack"


def test_validates_like_read_csm(tmp_path):
    path = tmp_path / "nan.h5"
    m = np.eye(5)
    m[1, 2] = np.nan
    write_csm(path, m, FILE_CLASSES, source="groups", measure="block")
    with pytest.raises(UserError) as err:
        read_reference(path, FILE_CLASSES)
    assert str(err.value) == f"{path}: NaN or inf at (1, 2)"
