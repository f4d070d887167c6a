"""Small semtool files of every kind ``plot`` reads, written by the typed records of semtool.kinds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from semtool.kinds import Curves, Grouping, Predictions, Rsm, TwoVsTwo
from tests._helpers import csm_file as write_csm  # noqa: F401  (the figures' tests name it so)

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot"]
FASHION_GROUPS = np.array([0, 1, 0, 2, 0, 3, 0, 3, 4, 3])
FASHION_GROUP_NAMES = ["tops", "trousers", "dresses", "footwear", "bags"]


def planted_blocks(groups: np.ndarray, rng: np.random.Generator, *, within: float = 0.7,
                   between: float = 0.1, noise: float = 0.05) -> np.ndarray:
    """A symmetric CSM with high similarity inside each group, diagonal 1."""
    g = np.asarray(groups)
    m = np.where(g[:, None] == g[None, :], within, between) + noise * rng.standard_normal((g.size, g.size))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 1.0)
    return m


def write_curves(path: Path, rng: np.random.Generator, *, epochs: int = 12, label: str | None = None,
                 shift: float = 0.0, snapshots: bool = False) -> Path:
    e = np.linspace(0, epochs - 1, epochs * 2 - 1)
    t = 1 - np.exp(-e / 3)
    ev = 0.1 + 0.7 * t + shift
    ev[1::2] = np.nan  # evaluated only at whole epochs
    series = {"loss": 2.3 * np.exp(-e / 4) + 0.2, "accuracy/train": 0.1 + 0.8 * t + shift, "accuracy/eval": ev,
              "sai/wordnet/ncsm": 0.5 + 0.3 * t + 0.02 * rng.standard_normal(e.size) + shift,
              "sai/wordnet/ccsm": 0.4 + 0.35 * t + 0.02 * rng.standard_normal(e.size),
              "idm/network": 0.6 + 0.2 * t, "wsi/mean": 0.05 - 0.1 * t, "wsi/max": 0.3 + 0.2 * t,
              "wsi/min": -0.2 - 0.1 * t}
    snaps = {}
    if snapshots:  # NCSMs sharpening over training: block structure grows with t
        blocks = planted_blocks(FASHION_GROUPS, rng)
        snaps["ncsm"] = np.stack([np.where(np.eye(10, dtype=bool), 1.0, (0.2 + k) * blocks) for k in t])
    Curves(str(path), e, series, snaps, FASHION if snapshots else None, label).write(path, parameters={})
    return path


def attack_data(rng: np.random.Generator, *, n: int = 400, c: int = 10, eps=(0.0, 0.25, 0.5, 1.0, 2.0),
                semantic_bias: float = 0.5):
    """Labels, predictions (E, N) that degrade with ε, groups and visual groups (5 of 2)."""
    labels = rng.integers(0, c, n)
    groups = np.arange(c) % 5
    visual = np.arange(c) // 2
    preds = []
    for i, e in enumerate(eps):
        p = labels.copy()
        wrong = rng.random(n) < min(0.95, 0.1 + 0.4 * e)
        rand = rng.integers(0, c, n)
        mate = (labels + 5) % c  # the other class of the same semantic group
        p[wrong] = np.where(rng.random(wrong.sum()) < semantic_bias, mate[wrong], rand[wrong])
        preds.append(p)
    return labels, np.stack(preds), groups, visual, np.asarray(eps)


def write_attack(path: Path, rng: np.random.Generator, *, semantic_bias: float = 0.5, label=None,
                 with_eps: bool = True, with_visual: bool = True) -> Path:
    labels, preds, groups, visual, eps = attack_data(rng, semantic_bias=semantic_bias)
    c = 10
    Predictions(str(path), labels, preds if with_eps else preds[:1], [f"class {i}" for i in range(c)],
                eps if with_eps else None, Grouping(groups, [f"group {i}" for i in range(5)]),
                Grouping(visual, [f"look {i}" for i in range(5)]) if with_visual else None,
                label=label).write(path, parameters={})
    return path


def write_rsm(path: Path, rng: np.random.Generator, *, n: int = 60, k: int = 5, matcher: str = "optimal") -> Path:
    labels = rng.integers(0, k, n)
    x = rng.standard_normal((k, 16))[labels] + 0.6 * rng.standard_normal((n, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    Rsm(str(path), x @ x.T, labels, FASHION[:k], layer="layer3", kernel="cosine", matcher=matcher,
        semantic=matcher not in ("", "none", "spatial", "spatio-semantic")).write(path, parameters={})
    return path


def write_twovtwo(path: Path, rng: np.random.Generator, *, layers=("conv1", "layer1", "layer2", "layer3", "fc"),
                  n_null: int = 200) -> Path:
    L = len(layers)
    acc = np.linspace(0.55, 0.8, L)
    null = 0.5 + 0.05 * rng.standard_normal((L, n_null))
    p = (1 + (null >= acc[:, None]).sum(1)) / (1 + n_null)
    TwoVsTwo(str(path), list(layers), acc, null, p, passes=np.round(acc * 45).astype(np.int64),
             tests=np.full(L, 45, dtype=np.int64)).write(path, parameters={})
    return path


def assert_real_image(path, size=None):
    """Decodes as PNG, has the size asked for (width, height in pixels), and is not blank."""
    import matplotlib.image

    img = matplotlib.image.imread(str(path))
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    if size is not None:
        assert (img.shape[1], img.shape[0]) == size
    gray = img[..., :3].mean(axis=2)
    assert gray.std() > 0.05, "image looks blank"
    return img
