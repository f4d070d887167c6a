"""The ImageNet-1k preset: torchvision's 1000 class names in index order, each the synset at its wnid."""

from __future__ import annotations

import random
from importlib import util

import numpy as np
import pytest

from semtool import store
from semtool.semantics import wordnet as W

pytestmark = pytest.mark.skipif(not W.where()["available"],
                                reason="no WordNet: apt-get install wordnet-base wordnet-sense-index")


@pytest.fixture(scope="module")
def wn():
    return W.wordnet()


def test_all_1000_synsets_resolve_from_the_wnid_offsets(wn):
    rows = W.imagenet_classes()
    wnids = [w for w, _, _ in rows]
    assert len(rows) == 1000 and wnids == sorted(set(wnids))  # torchvision's order: the sorted wnids
    for wnid, cls, syn in rows:
        s = wn.synset_from_pos_and_offset("n", int(wnid[1:]))
        assert s.name() == syn, (wnid, cls, syn)
        assert W.resolve_synset(wnid).name() == syn
    assert list(W.preset_synsets("imagenet").items()) == [(c, s) for _, c, s in rows]
    # spot checks against the ILSVRC 2012 devkit's own words
    assert rows[0] == ("n01440764", "tench", "tench.n.01")
    assert W.preset_synsets("imagenet")["crane bird"] == "crane.n.05"  # the bird, not the machine
    assert W.preset_synsets("imagenet")["crane"] == "crane.n.04"


def test_order_and_names_are_torchvisions_categories():
    from torchvision.models import ResNet50_Weights, Swin_V2_T_Weights, VGG16_Weights, ViT_B_16_Weights

    names = W.preset_classes("imagenet")
    for weights in (ResNet50_Weights.IMAGENET1K_V2, VGG16_Weights.IMAGENET1K_V1, ViT_B_16_Weights.IMAGENET1K_V1,
                    Swin_V2_T_Weights.IMAGENET1K_V1):
        assert names == weights.meta["categories"], weights


@pytest.mark.skipif(util.find_spec("timm") is None, reason="timm (the wnid list the preset was made from) absent")
def test_wnids_are_timms_imagenet_synsets():
    from importlib import resources

    listed = resources.files("timm.data").joinpath("_info", "imagenet_synsets.txt").read_text().split()
    assert [w for w, _, _ in W.imagenet_classes()] == listed


def test_wnid_classes_outside_imagenet_take_the_lemma_or_the_synset_name(wn):
    obj, = [s for s in wn.synsets("object", "n") if s.name() == "object.n.01"]
    names, syns = W.wnid_classes(["n01440764", f"n{obj.offset():08d}", "n02012849"])
    assert names == ["tench", "object", "crane bird"] and syns == ["tench.n.01", "object.n.01", "crane.n.05"]
    # two wnids outside ImageNet-1k with one first lemma: told apart by their synset names
    a, b = [s for s in wn.synsets("bank", "n") if s.lemma_names()[0] == "bank"][:2]
    names, _ = W.wnid_classes([f"n{a.offset():08d}", f"n{b.offset():08d}"])
    assert names == [a.name(), b.name()] and a.name() != b.name()


def test_csm_wordnet_preset_imagenet_equals_nltk(cli, tmp_path, wn):
    out = tmp_path / "wn.h5"
    proc = cli("csm", "wordnet", "--preset", "imagenet", "-o", out)
    assert proc.returncode == 0, proc.stderr.decode()
    with store.open_file(out, "csm") as f:
        m = f["matrix"][...]
        classes = store.read_strings(f["classes"])
        synsets = store.read_strings(f["synsets"])
    rows = W.imagenet_classes()
    assert classes == [c for _, c, _ in rows] and synsets == [s for _, _, s in rows]
    rs = random.Random(17)
    pairs = [(rs.randrange(1000), rs.randrange(1000)) for _ in range(400)] + [(134, 517), (0, 0)]
    for i, j in pairs:
        ref = wn.synset(synsets[i]).path_similarity(wn.synset(synsets[j]))
        assert m[i, j] == pytest.approx(ref, abs=1e-12), (classes[i], classes[j])
    assert np.allclose(m, m.T)
