"""mixup / CutMix hybrids, exact on small arrays, against plain loops written here."""

from __future__ import annotations

import math

import h5py
import numpy as np

from semtool.data.imageset import read_imageset
from semtool.generate import _items, baselines
from tests.generate.conftest import write_imageset


def test_mixup_exact():
    a = np.array([[[0], [10]], [[255, ], [3]]], dtype=np.uint8)
    b = np.array([[[100], [11]], [[0], [4]]], dtype=np.uint8)
    # (1 − λ)·a + λ·b with λ = 0.75, rounded half to even: 75, 10.75→11, 63.75→64, 3.75→4
    np.testing.assert_array_equal(baselines.mixup(a, b, 0.75)[..., 0], [[75, 11], [64, 4]])
    # half-way values round to even: 0.5·(10 + 11) = 10.5 → 10, 0.5·(3 + 4) = 3.5 → 4
    np.testing.assert_array_equal(baselines.mixup(a, b, 0.5)[..., 0], [[50, 10], [128, 4]])
    np.testing.assert_array_equal(baselines.mixup(a, b, 0.0), a)
    np.testing.assert_array_equal(baselines.mixup(a, b, 1.0), b)


def test_cutmix_exact():
    a = np.zeros((6, 8, 3), np.uint8)
    b = np.full((6, 8, 3), 9, np.uint8)
    out = baselines.cutmix(a, b, (1, 2, 3, 4))
    expected = np.zeros((6, 8, 3), np.uint8)
    for r in range(1, 4):
        for c in range(2, 6):
            expected[r, c] = 9
    np.testing.assert_array_equal(out, expected)
    box = baselines.cutmix_box(6, 8, 0.25, np.random.default_rng(0))
    assert box[2:] == (3, 4) and 0 <= box[0] <= 3 and 0 <= box[1] <= 4
    assert baselines.cutmix_box(6, 8, 1.0, np.random.default_rng(0)) == (0, 0, 6, 8)
    assert baselines.cutmix_box(6, 8, 0.0, np.random.default_rng(0))[2:] == (0, 0)


def _plain_loop(images, labels, items, method, lam, seed):
    """What a hybrid is: partner = a random image of the target class, from the item's own
    generator; mixup blends, CutMix pastes a √λ-sided box placed by the same generator."""
    out = []
    for i, t in items:
        rng = np.random.default_rng(_items.item_seed(seed, i, t))
        j = rng.choice(np.flatnonzero(labels == t))
        a, b = images[i].astype(np.float64), images[j]
        if method == "mixup":
            out.append(np.rint((1 - lam) * a + lam * b).astype(np.uint8))
        else:
            H, W = a.shape[:2]
            h, w = round(H * math.sqrt(lam)), round(W * math.sqrt(lam))
            top, left = rng.integers(0, H - h + 1), rng.integers(0, W - w + 1)
            x = images[i].copy()
            x[top:top + h, left:left + w] = b[top:top + h, left:left + w]
            out.append(x)
    return np.stack(out)


def test_files_equal_plain_loop_and_do_not_depend_on_batch(tmp_path, grouped_imageset):
    ims = read_imageset(grouped_imageset)
    for method in ("mixup", "cutmix"):
        got = []
        for bs in (1, 5):
            out = tmp_path / f"{method}{bs}.h5"
            baselines.mix(grouped_imageset, out, method=method, factor=0.4, targets="all", seed=5, batch_size=bs)
            with h5py.File(out) as f:
                got.append(f["images"][...])
                items = np.stack([f["source_index"][...], f["target_labels"][...]], 1)
                np.testing.assert_array_equal(f["base_labels"][...], ims.labels[items[:, 0]])
        np.testing.assert_array_equal(got[0], got[1])
        np.testing.assert_array_equal(got[0], _plain_loop(ims.images, ims.labels, items.tolist(), method, 0.4, 5))


def test_items_targets_and_per_image(tmp_path):
    imgs = np.zeros((6, 4, 4, 1), np.uint8)
    path = write_imageset(tmp_path / "i.h5", imgs, [0, 1, 2, 3, 4, 0], ["a", "b", "c", "d", "e"],
                          [0, 0, 0, 1, 1], ["g0", "g1"])
    ims = read_imageset(path)
    items = _items.make_items(ims, "group")
    assert items.tolist() == [[0, 1], [0, 2], [1, 0], [1, 2], [2, 0], [2, 1], [3, 4], [4, 3], [5, 1], [5, 2]]
    assert _items.make_items(ims, "b,e").tolist() == [[0, 1], [0, 4], [1, 4], [2, 1], [2, 4], [3, 1], [3, 4],
                                                       [4, 1], [5, 1], [5, 4]]
    one = _items.make_items(ims, "all", per_image=1, seed=2)
    assert len(one) == 6 and all(t != y for (i, t), y in zip(one.tolist(), ims.labels))
    # per-image choices depend on the seed and the image only, not on the other images
    assert _items.make_items(ims, "all", per_image=1, seed=2, limit=3).tolist() == one[:3].tolist()
    assert _items.prompt_for("pickup_truck") == "a photo of a pickup truck"


def test_item_seeds_are_distinct_and_stable():
    seeds = {_items.item_seed(0, i, t) for i in range(50) for t in range(-1, 10)}
    assert len(seeds) == 550
    assert _items.item_seed(0, 1, 2) == _items.item_seed(0, 1, 2) != _items.item_seed(1, 1, 2)
