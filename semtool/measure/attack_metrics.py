"""How severe the mistakes under attack are, per ε (Abreu, Vaska, Helus 2023).

Abreu et al. evaluate a classifier against an L2 PGD adversary of growing ε and asks not only
*how often* it errs but *where its mistakes go*. With a per-class semantic grouping ``g``
(e.g. CIFAR-100 regrouped into arbitrary superclasses) and a visual grouping ``v`` (the
original CIFAR-100 superclasses), for labels y and predictions ŷ at one ε:

* fine accuracy                        = mean[ŷ = y]
* superclass accuracy                  = mean[g(ŷ) = g(y)]
* superclass accuracy of the mistakes  = mean[g(ŷ) = g(y) | ŷ ≠ y]   (higher: mistakes stay
  inside the semantic group the hybrids taught)
* visual share of the mistakes         = mean[v(ŷ) = v(y) | ŷ ≠ y]   (lower: fewer mistakes
  to a merely look-alike class)

and, as a reference for the last two, the share expected if every mistake went to a class
drawn uniformly among the C − 1 wrong ones: mean over samples of (|g(y)| − 1) / (C − 1).

Group index −1 means "in no group". A sample whose *true* class has no group is left out
of that grouping's measures (it has no superclass to hit); a prediction of an ungrouped
class never counts as a hit. Pure NumPy, arrays in, arrays out; the one set of names
for these measures, shared by ``semtool attack`` (its table, through :func:`severity`),
``semtool plot attack`` (its figure), training curves and the demo report.

References
----------
Abreu, N., Vaska, N., Helus, V. (2023). Addressing mistake severity in neural networks
with semantic knowledge.
"""

from __future__ import annotations

import math

import numpy as np

from semtool.errors import UserError

#: The measures :func:`attack_metrics` returns, in table order, with a plain description.
ATTACK_METRICS: dict[str, str] = {
    "accuracy": "fine accuracy",
    "superclass_accuracy": "semantic-superclass accuracy",
    "mistake_superclass_accuracy": "semantic-superclass accuracy of the mistakes",
    "mistake_visual_share": "share of mistakes inside the visual superclass",
    "mistakes": "number of mistakes",
}


def _check_groups(groups: np.ndarray | None, num_classes: int, name: str) -> np.ndarray | None:
    if groups is None:
        return None
    g = np.asarray(groups).reshape(-1)
    if g.dtype.kind not in "iu":
        raise UserError(f"{name}: expected integer group indices per class, got dtype {g.dtype}")
    if g.size < num_classes:
        raise UserError(f"{name}: {g.size} entries, but labels/predictions reach class {num_classes - 1}")
    return g.astype(np.int64)


def _hits(labels: np.ndarray, predictions: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(same group (E,N) bool, true class has a group (N,) bool)."""
    gy = groups[labels]
    gp = groups[predictions]
    return (gp == gy[None, :]) & (gy[None, :] >= 0), gy >= 0


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (E,N) over ``mask`` (E,N) per row; NaN where the mask is empty."""
    count = mask.sum(axis=1)
    total = (values & mask).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def attack_metrics(labels: np.ndarray, predictions: np.ndarray, groups: np.ndarray | None = None,
                   visual_groups: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Fine / superclass accuracy and where the mistakes go, per ε (Abreu et al. 2023).

    Parameters
    ----------
    labels : (N,) int
        True class per sample.
    predictions : (E, N) or (N,) int
        Predicted class per ε (row e is the attack at ``epsilons[e]``) or for one run.
    groups : (C,) int, optional
        Semantic group index per class (−1: none). Without it the superclass measures
        are NaN.
    visual_groups : (C,) int, optional
        Visual group index per class (−1: none). Without it ``mistake_visual_share`` is NaN.

    Returns
    -------
    dict of str -> ndarray
        Each of shape ``predictions.shape[:-1]`` ((E,), or () for 1-D predictions), keyed
        as in :data:`ATTACK_METRICS`: ``accuracy``, ``superclass_accuracy``,
        ``mistake_superclass_accuracy``, ``mistake_visual_share`` (float64, NaN where
        undefined: no groups, or no mistakes) and ``mistakes`` (int64).

    Notes
    -----
    ``superclass_accuracy`` averages over the samples whose true class has a group;
    ``mistake_superclass_accuracy`` over the mistakes among them (likewise for the
    visual grouping). A prediction of an ungrouped class is never a superclass hit.
    """
    y = np.asarray(labels).reshape(-1).astype(np.int64)
    p = np.asarray(predictions)
    one = p.ndim == 1
    if one:
        p = p[None, :]
    if p.ndim != 2:
        raise UserError(f"predictions: expected shape (E, N) or (N,), got {p.shape}")
    p = p.astype(np.int64)
    if p.shape[1] != y.size:
        raise UserError(f"{y.size} labels but {p.shape[1]} predictions per ε")
    if y.size == 0:
        raise UserError("no samples: labels are empty")
    if min(y.min(), p.min()) < 0:
        raise UserError("a label or prediction is negative")
    num_classes = int(max(y.max(), p.max())) + 1
    g = _check_groups(groups, num_classes, "groups")
    v = _check_groups(visual_groups, num_classes, "visual_groups")

    correct = p == y[None, :]
    wrong = ~correct
    e = p.shape[0]
    nan = np.full(e, np.nan)
    out: dict[str, np.ndarray] = {
        "accuracy": correct.mean(axis=1),
        "superclass_accuracy": nan.copy(),
        "mistake_superclass_accuracy": nan.copy(),
        "mistake_visual_share": nan.copy(),
        "mistakes": wrong.sum(axis=1).astype(np.int64),
    }
    if g is not None:
        same, has = _hits(y, p, g)
        has = np.broadcast_to(has, p.shape)
        out["superclass_accuracy"] = _masked_mean(same, has)
        out["mistake_superclass_accuracy"] = _masked_mean(same, has & wrong)
    if v is not None:
        same, has = _hits(y, p, v)
        out["mistake_visual_share"] = _masked_mean(same, np.broadcast_to(has, p.shape) & wrong)
    if one:
        return {k: val[0] for k, val in out.items()}
    return out


def mistake_chance(labels: np.ndarray, groups: np.ndarray, num_classes: int | None = None) -> float:
    """The share of mistakes inside the true class's group if mistakes were uniform.

    A mistake on a sample of class y, drawn uniformly among the C − 1 other classes,
    lands in y's group with probability (|g(y)| − 1) / (C − 1); this is its mean over
    the samples whose class has a group (−1: none). The chance line for
    ``mistake_superclass_accuracy`` (with ``groups``) and ``mistake_visual_share``
    (with ``visual_groups``). NaN when no sample's class has a group.

    Parameters
    ----------
    labels : (N,) int
    groups : (C,) int
    num_classes : int, optional
        C; defaults to ``len(groups)``.
    """
    y = np.asarray(labels).reshape(-1).astype(np.int64)
    g = np.asarray(groups).reshape(-1).astype(np.int64)
    c = int(num_classes if num_classes is not None else g.size)
    if c < 2:
        return float("nan")
    gy = g[y]
    has = gy >= 0
    if not has.any():
        return float("nan")
    sizes = np.bincount(g[g >= 0], minlength=int(g.max()) + 1 if g.max() >= 0 else 0)
    return float(np.mean((sizes[gy[has]] - 1) / (c - 1)))


def severity(labels: np.ndarray, predictions: np.ndarray, *, groups: np.ndarray | None = None,
             visual_groups: np.ndarray | None = None, csm: np.ndarray | None = None) -> dict[str, float]:
    """:func:`attack_metrics` of one set of predictions as plain numbers, and IDM against ``csm``.

    Parameters
    ----------
    labels, predictions : (N,) int
    groups, visual_groups : (C,) int, optional
        As for :func:`attack_metrics`.
    csm : (C, C), optional
        A reference CSM: adds ``idm`` (:func:`semtool.measure.idm.idm`, Filus et al.).

    Returns
    -------
    dict of str -> float
        Keyed as :data:`ATTACK_METRICS` (``mistakes`` an int), plus ``idm`` with ``csm``;
        every value NaN (``mistakes`` 0) when there are no samples.
    """
    from semtool.measure.idm import idm

    y = np.asarray(labels).reshape(-1)
    if y.size == 0:
        out: dict[str, float] = {k: math.nan for k in ATTACK_METRICS}
        out["mistakes"] = 0
    else:
        metrics = attack_metrics(y, predictions, groups, visual_groups)
        out = {k: float(v) for k, v in metrics.items()}
        out["mistakes"] = int(metrics["mistakes"])
    if csm is not None:
        out["idm"] = idm(y, np.asarray(predictions).reshape(-1), csm) if y.size else math.nan
    return out
