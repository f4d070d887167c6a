"""attack_metrics / mistake_chance against plain loops over the samples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from semtool.errors import UserError
from semtool.measure.attack_metrics import ATTACK_METRICS, attack_metrics, mistake_chance
from tests._helpers import assert_matches_reference, seeded_cases


def _loop(labels, preds, groups, visual):
    """The definitions, one sample at a time (Abreu et al. 2023, as DESIGN.md states them)."""
    out = {k: [] for k in ATTACK_METRICS}
    for row in preds:
        n_ok = n_sup = n_has = n_wrong_has = n_wrong_sup = n_wrong_vhas = n_wrong_vis = n_wrong = 0
        for y, p in zip(labels, row):
            ok = y == p
            n_ok += ok
            n_wrong += not ok
            if groups[y] >= 0:
                n_has += 1
                same = groups[p] == groups[y]
                n_sup += same
                if not ok:
                    n_wrong_has += 1
                    n_wrong_sup += same
            if visual[y] >= 0 and not ok:
                n_wrong_vhas += 1
                n_wrong_vis += visual[p] == visual[y]
        out["accuracy"].append(n_ok / len(labels))
        out["superclass_accuracy"].append(n_sup / n_has if n_has else math.nan)
        out["mistake_superclass_accuracy"].append(n_wrong_sup / n_wrong_has if n_wrong_has else math.nan)
        out["mistake_visual_share"].append(n_wrong_vis / n_wrong_vhas if n_wrong_vhas else math.nan)
        out["mistakes"].append(n_wrong)
    return {k: np.array(v) for k, v in out.items()}


def _random_sweep(rng):
    c, n, e = 12, 300, 4
    labels = rng.integers(0, c, n)
    preds = np.where(rng.random((e, n)) < np.linspace(0.9, 0.2, e)[:, None], labels, rng.integers(0, c, (e, n)))
    groups = rng.integers(-1, 4, c)  # some classes in no group
    visual = rng.integers(0, 3, c)
    return labels, preds, groups, visual


def test_equals_plain_loop_on_random_data(rng):
    assert_matches_reference(attack_metrics, _loop, seeded_cases(_random_sweep), atol=1e-12,
                             source="the definitions, one sample at a time")
    got = attack_metrics(*_random_sweep(rng))
    assert set(got) == set(ATTACK_METRICS)
    assert all(got[k].shape == (4,) for k in ATTACK_METRICS)
    assert got["mistakes"].dtype == np.int64


def test_one_run_gives_scalars_and_nan_without_mistakes_or_groups():
    labels = np.array([0, 1, 2, 3])
    got = attack_metrics(labels, labels, np.array([0, 0, 1, 1]))
    assert got["accuracy"].shape == () and got["accuracy"] == 1.0
    assert got["superclass_accuracy"] == 1.0
    assert math.isnan(got["mistake_superclass_accuracy"])  # no mistakes
    assert math.isnan(got["mistake_visual_share"])  # no visual groups
    bare = attack_metrics(labels, np.array([1, 0, 3, 2]))
    assert bare["accuracy"] == 0.0 and bare["mistakes"] == 4
    assert math.isnan(bare["superclass_accuracy"])


def test_prediction_of_ungrouped_class_is_never_a_hit():
    groups = np.array([-1, -1, 0])
    # class 0 (ungrouped) predicted as class 1 (ungrouped): the sample has no group -> left out;
    # class 2 predicted as class 0: a mistake outside the group.
    got = attack_metrics(np.array([0, 2]), np.array([1, 0]), groups)
    assert got["superclass_accuracy"] == 0.0
    assert got["mistake_superclass_accuracy"] == 0.0


def test_mistake_chance_equals_loop(rng):
    c = 10
    groups = np.array([0, 0, 0, 1, 1, 2, -1, 2, 2, 2])
    labels = rng.integers(0, c, 200)
    want = []
    for y in labels:
        if groups[y] < 0:
            continue
        others = [k for k in range(c) if k != y]
        want.append(sum(groups[k] == groups[y] for k in others) / len(others))
    assert mistake_chance(labels, groups) == pytest.approx(np.mean(want), abs=1e-12)
    assert math.isnan(mistake_chance(labels, np.full(c, -1)))


@pytest.mark.parametrize("labels, preds, groups", [
    (np.arange(4), np.arange(5), None),  # lengths differ
    (np.arange(4), np.zeros((2, 2, 4), dtype=int), None),  # 3-D predictions
    (np.arange(4), np.arange(4), np.array([0, 1])),  # groups too short
    (np.arange(4), np.arange(4), np.array([0.5, 1, 1, 1])),  # non-integer groups
])
def test_bad_input_is_a_user_error(labels, preds, groups):
    with pytest.raises(UserError):
        attack_metrics(labels, preds, groups)
