"""Class matching by name."""

from __future__ import annotations

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.measure import align, align_many, take_classes


def test_align_reorders_to_reference():
    ia, ib, cl = align(["a", "b", "c"], ["c", "a", "b"])
    assert cl == ["a", "b", "c"]
    assert [["c", "a", "b"][i] for i in ib] == cl
    m = np.arange(9).reshape(3, 3)
    np.testing.assert_array_equal(take_classes(m, np.array([2, 0])), [[8, 6], [2, 0]])


def test_mismatch_and_intersect():
    with pytest.raises(UserError, match="lacks c.*has extra d|use --intersect"):
        align(["a", "b", "c"], ["a", "b", "d"], names=("A.h5", "B.h5"))
    ia, ib, cl = align(["a", "b", "c"], ["d", "b", "a"], intersect=True)
    assert cl == ["a", "b"] and list(ib) == [2, 1]


def test_duplicates():
    with pytest.raises(UserError, match="duplicate class names \\(a\\)"):
        align(["a", "a", "b"], ["a", "b"], names=("A.h5", "B.h5"))


def test_align_many_intersect():
    idx, cl = align_many([["a", "b", "c"], ["c", "b", "x"], ["b", "c"]], intersect=True)
    assert cl == ["b", "c"]
    assert [list(i) for i in idx] == [[1, 2], [1, 0], [0, 1]]
