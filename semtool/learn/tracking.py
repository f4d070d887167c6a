"""Per-epoch similarity tracking (Filus et al., Deep Similarity Inspector).

From what an epoch already has — the final layer's weight W (C, D) and the eval pass's
predictions — compute the NCSM (cosine between rows of W), the CCSM (row-normalised
confusion), SAI(NCSM, ref), SAI(CCSM, ref), SAI(NCSM, CCSM), network-based IDM (the
Inverse Dissimilarity Metric, with the NCSM) and reference-based IDM, each also over the
mistakes only (the errors-only IDM Filus et al. plot), Mean/Max/Min WSI, and the
semantic-superclass accuracy.
No extra forward pass; all maths is :mod:`semtool.measure`.

Series names (the ``curves`` contract): ``accuracy/eval``, ``accuracy/superclass``,
``sai/<ref>/ncsm``, ``sai/<ref>/ccsm``, ``sai/ncsm_vs_ccsm``, ``idm/network``,
``idm/<ref>``, ``idm_errors/network``, ``idm_errors/<ref>``, ``wsi/mean``, ``wsi/max``, ``wsi/min``; a value that is undefined (a
constant matrix, no mistakes) is NaN.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from semtool import measure
from semtool.errors import UserError
from semtool.measure.attack_metrics import attack_metrics


def _nan_on_error(fn: Callable[[], float]) -> float:
    try:
        return float(fn())
    except UserError:
        return math.nan


def track(weight: np.ndarray, labels: np.ndarray, predictions: np.ndarray | None,
          references: Sequence[tuple[str, np.ndarray]] = (), groups: np.ndarray | None = None,
          *, quantile: float = 0.95) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """One tracking step -> (series values, snapshots ``{"ncsm": (C,C), "ccsm": (C,C)}``).

    Parameters
    ----------
    weight : (C, D) final classifier weight (bias not used).
    labels, predictions : (N,) of the eval pass; ``predictions=None`` leaves the CCSM-based
        values NaN.
    references : (name, (C, C) matrix) pairs in the training class order.
    groups : (C,) semantic group per class (−1 none) for ``accuracy/superclass``.
    """
    c = weight.shape[0]
    out: dict[str, float] = {}
    nc = measure.ncsm(weight)
    cc = measure.ccsm(labels, predictions, c) if predictions is not None else np.full((c, c), np.nan)
    have_pred = predictions is not None and labels.size > 0
    out["accuracy/eval"] = float(np.mean(labels == predictions)) if have_pred else math.nan
    out["accuracy/superclass"] = (_nan_on_error(lambda: attack_metrics(labels, predictions, groups)["superclass_accuracy"])
                                  if have_pred else math.nan)
    for name, ref in references:
        out[f"sai/{name}/ncsm"] = _nan_on_error(lambda: measure.sai(nc, ref))
        out[f"sai/{name}/ccsm"] = _nan_on_error(lambda: measure.sai(cc, ref)) if have_pred else math.nan
    out["sai/ncsm_vs_ccsm"] = _nan_on_error(lambda: measure.sai(nc, cc)) if have_pred else math.nan
    for name, ref in [*references, ("network", nc)]:
        for key, errors_only in (("idm", False), ("idm_errors", True)):
            out[f"{key}/{name}"] = (_nan_on_error(lambda: measure.idm(labels, predictions, ref, errors_only=errors_only))
                                    if have_pred else math.nan)
    try:
        w = measure.wsi(nc, quantile=quantile)
    except UserError:
        w = {"mean": math.nan, "max": math.nan, "min": math.nan}
    for k in ("mean", "max", "min"):
        out[f"wsi/{k}"] = w[k]
    return out, {"ncsm": nc, "ccsm": cc}
