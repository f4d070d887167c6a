"""Groupings: the abreu2023 table, the Fashion-MNIST preset, Latin squares, hand-written specs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from semtool.data import groupings as G
from semtool.data.imageset import ImageSet
from semtool.errors import UserError
from tests.data.archives import COARSE, FINE

# Table 1 of Abreu et al. (2023), as printed (rows: semantic groups; columns: visual superclasses).
TABLE1 = """
A orchid bed bee bear bicycle
B poppy chair beetle leopard bus
C rose couch butterfly lion motorcycle
D sunflower table caterpillar tiger pickup_truck
E tulip wardrobe cockroach wolf train
"""
TABLE1_COLUMNS = ["flowers", "household_furniture", "insects", "large_carnivores", "vehicles_1"]


def test_abreu2023_is_table_1_with_cifar_coarse_classes_as_visual_groups():
    g = G.preset("abreu2023", FINE)
    rows = [line.split() for line in TABLE1.strip().splitlines()]
    assert g.classes == [c for r in rows for c in r[1:]]  # row by row
    assert g.group_names == ["A", "B", "C", "D", "E"]
    assert g.visual_group_names == TABLE1_COLUMNS
    for cls, gi, vi in zip(g.classes, g.groups, g.visual_groups):
        row = next(r for r in rows if cls in r)
        assert g.group_names[gi] == row[0]
        assert TABLE1_COLUMNS[vi] == TABLE1_COLUMNS[row.index(cls) - 1]
        assert cls in COARSE[g.visual_group_names[vi]]  # the visual group is the real CIFAR-100 superclass


def test_fashion_preset_spreads_tops_and_footwear():
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    g = G.preset("fashion-mnist", classes)
    assert sorted(g.classes) == sorted(classes)
    for j in range(len(g.group_names)):
        vis = [v for gi, v in zip(g.groups, g.visual_groups) if gi == j and v >= 0]
        assert len(vis) == len(set(vis)), g.group_names[j]  # at most one top and one shoe per group
    assert {g.classes[i] for i, v in enumerate(g.visual_groups) if v == -1} == {"Trouser", "Dress", "Bag"}


def test_preset_errors():
    with pytest.raises(UserError, match="unknown preset 'nope' \\(choose from abreu2023, fashion-mnist\\)"):
        G.preset("nope", FINE)
    with pytest.raises(UserError, match="the imageset has no class 'orchid'"):
        G.preset("abreu2023", ["T-shirt/top"])


def test_latin_square_from_superclasses():
    table = {c: s for s, cs in COARSE.items() for c in cs}
    g = G.latin(table, visual=4, per_group=3)
    chosen = sorted(COARSE)[:4]
    assert g.visual_group_names == chosen and g.group_names == ["A", "B", "C"]
    for j in range(3):  # group j = the j-th class (alphabetically) of every chosen superclass
        members = [c for c, gi in zip(g.classes, g.groups) if gi == j]
        assert members == [sorted(COARSE[s])[j] for s in chosen]
    for cls, v in zip(g.classes, g.visual_groups):
        assert table[cls] == g.visual_group_names[v]
    a = G.latin(table, visual=5, per_group=5, order="shuffled", seed=3)
    assert a == G.latin(table, visual=5, per_group=5, order="shuffled", seed=3)
    assert a.classes != G.latin(table, visual=5, per_group=5, order="shuffled", seed=4).classes
    for j in range(5):
        vis = [v for gi, v in zip(a.groups, a.visual_groups) if gi == j]
        assert sorted(vis) == list(range(5))
    with pytest.raises(UserError, match="21 superclasses with ≥ 5 classes wanted, only 20"):
        G.latin(table, visual=21, per_group=5)


SPEC = {"groups": {"A": ["orchid", "bed"], "B": ["poppy", "chair"]},
        "visual_groups": {"flowers": ["orchid", "poppy"], "furniture": ["bed"]}}


def test_spec_json_and_toml_agree(tmp_path):
    j = tmp_path / "s.json"
    j.write_text(json.dumps(SPEC))
    t = tmp_path / "s.toml"
    t.write_text('[groups]\nA = ["orchid", "bed"]\nB = ["poppy", "chair"]\n\n'
                 '[visual_groups]\nflowers = ["orchid", "poppy"]\nfurniture = ["bed"]\n')
    a, b = G.read_spec(j), G.read_spec(t)
    assert (a.classes, a.groups, a.visual_groups) == (b.classes, b.groups, b.visual_groups)
    assert a.classes == ["orchid", "bed", "poppy", "chair"] and a.visual_groups == [0, 1, 0, -1]


@pytest.mark.parametrize("spec,message", [
    ({"groups": {"A": ["orchid", "bed"], "B": ["orchid"]}}, "class 'orchid' appears in groups 'A' and 'B'"),
    ({"groups": {"A": ["bed", "bed"]}}, "class 'bed' appears twice in group 'A'"),
    ({"groups": {"A": ["bed"], "B": []}}, "group 'B' is empty"),
    ({"groups": {}}, "no groups"),
    ({"groups": {"A": "bed"}}, "'groups' must map each group name to a list"),
    ({"groups": {"A": ["bed"]}, "visual_groups": {"v": ["chair"]}}, "'chair', which is in no semantic group"),
    ({"groups": {"A": ["bed"]}, "colours": {}}, "unknown key(s) colours"),
])
def test_spec_errors(tmp_path, spec, message):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(spec))
    with pytest.raises(UserError, match=message.replace("(", "\\(").replace(")", "\\)")):
        G.read_spec(p)


def test_regroup_keeps_and_relabels():
    labels = np.array([0, 1, 2, 3, 2, 1, 0, 3])
    images = np.arange(8, dtype=np.uint8).reshape(8, 1, 1, 1)
    data = ImageSet(images=images, labels=labels, classes=["w", "x", "y", "z"], synsets=["a", "b", "c", "d"])
    g = G.Grouping.from_tables({"P": ["z", "x"], "Q": ["w"]})
    out = G.regroup(data, g)
    assert out.classes == ["z", "x", "w"] and out.synsets == ["d", "b", "a"]
    for img, lab in zip(out.images[:, 0, 0, 0], out.labels):  # every image kept its class
        assert out.classes[lab] == data.classes[labels[img]]
    assert sorted(out.images[:, 0, 0, 0]) == [0, 1, 3, 5, 6, 7]
    assert list(out.groups) == [0, 0, 1] and out.group_names == ["P", "Q"] and out.visual_groups is None
