"""Soft-label loss, batch augmentation and the hybrid sampler against plain references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from semtool.errors import UserError
from semtool.learn.augment import random_crop_flip
from semtool.learn.hybrids import load_hybrids
from semtool.learn.losses import soft_cross_entropy
from tests.learn.fmnist import write_hybrids


def test_soft_cross_entropy_is_the_textbook_formula():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 5)) * 3
    t = rng.dirichlet(np.ones(5), size=6)
    # −(1/B) Σ_i Σ_c t_ic · log(exp z_ic / Σ_k exp z_ik), written out with a plain loop
    ref = 0.0
    for i in range(6):
        lse = math.log(sum(math.exp(v) for v in z[i]))
        ref -= sum(t[i, c] * (z[i, c] - lse) for c in range(5))
    ref /= 6
    got = soft_cross_entropy(torch.tensor(z), torch.tensor(t)).item()
    assert got == pytest.approx(ref, rel=1e-6)
    y = torch.tensor([0, 3, 1, 4, 2, 2])
    onehot = torch.nn.functional.one_hot(y, 5).double()
    assert soft_cross_entropy(torch.tensor(z), onehot).item() == pytest.approx(
        torch.nn.functional.cross_entropy(torch.tensor(z), y).item(), rel=1e-6)


def test_crop_flip_is_a_padded_shift_or_its_mirror():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1, 256, (50, 2, 6, 7), dtype=torch.uint8)
    out = random_crop_flip(x, g, pad=2)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(50):
        ok = False
        for dy in range(5):
            for dx in range(5):
                win = padded[i, :, dy:dy + 6, dx:dx + 7]
                if torch.equal(out[i], win) or torch.equal(out[i], win.flip(-1)):
                    ok = True
        assert ok, i
    # both flips and several shifts occur
    assert len({bytes(o.numpy()) for o in out}) > 40


@pytest.fixture
def pool(tmp_path):
    classes = ["a", "b", "c", "d"]
    # hybrids stored under their own class order: names, not indices, must match
    hcls = ["d", "c", "b", "a"]
    base = np.array([0, 0, 1, 1, 1, 2, 3, 3, 3, 3])  # in hcls indices: d d c c c b a a a a
    target = np.array([1, 2, 0, 3, 2, 3, 1, 2, 1, 2])
    imgs = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((10, 3, 3, 1), np.uint8)
    write_hybrids(tmp_path / "h.h5", imgs, base, target, classes=hcls)
    return load_hybrids([tmp_path / "h.h5"], classes, (3, 3, 1)), classes, hcls, base, target


def test_hybrid_pool_maps_class_names(pool):
    p, classes, hcls, base, target = pool
    name_base = [classes[i] for i in p.base.tolist()]
    # every stored hybrid keeps its base/target names; the image tells the original row
    for row in range(len(p)):
        orig = int(p.images[row, 0, 0, 0])
        assert name_base[row] == hcls[base[orig]]
        assert classes[int(p.target[row])] == hcls[target[orig]]


def test_hybrid_sampler_rate_base_class_and_targets(pool):
    p, classes, *_ = pool
    g = torch.Generator().manual_seed(0)
    prob, batches, bs = 0.3, 400, 50
    added = 0
    for _ in range(batches):
        labels = torch.randint(0, 4, (bs,), generator=g)
        inst, idx = p.sample(labels, prob, g)
        # each added hybrid's base class is the class of the instance that drew it
        assert torch.equal(p.base[idx], labels[inst])
        assert inst.unique().numel() == inst.numel()  # at most one hybrid per instance
        added += idx.numel()
        t = p.targets(idx, 4, 0.5)
        torch.testing.assert_close(t.sum(1), torch.ones(idx.numel()))
        assert torch.all(t[torch.arange(idx.numel()), p.base[idx]] >= 0.5)
    n = batches * bs
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n, prob)
    assert lo <= added <= hi


def test_each_hybrid_has_its_instance_class(pool):
    p, *_ = pool
    g = torch.Generator().manual_seed(1)
    labels = torch.tensor([0, 1, 2, 3] * 100)
    coin_state = g.get_state()
    inst, idx = p.sample(labels, 1.0, g)
    assert idx.numel() == 400  # every class has hybrids, p = 1: one per instance
    assert torch.equal(p.base[idx], labels)
    g.set_state(coin_state)
    assert torch.equal(p.sample(labels, 1.0, g)[1], idx)  # a seed gives the same draw
    assert p.sample(labels, 0.0, g)[1].numel() == 0


def test_hybrid_classes_missing_from_training(tmp_path):
    write_hybrids(tmp_path / "h.h5", np.zeros((2, 3, 3, 1), np.uint8), [0, 1], [1, 0], classes=["a", "zebra"])
    with pytest.raises(UserError, match="zebra"):
        load_hybrids([tmp_path / "h.h5"], ["a", "b"], (3, 3, 1))
