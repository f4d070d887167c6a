"""The 2 vs 2 / 1 vs 2 tests and the RSMs on semtool files, as ``twovtwo`` and ``rsm`` run them.

The single commands and ``semtool report`` call these, so a number in a report card is
the number the command prints on the same files. Reading, matching and checking happen
here; the arithmetic is :mod:`semtool.measure`'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from semtool.data.csmio import pick_epsilon, read_predictions
from semtool.data.resultsio import read_layer
from semtool.errors import UserError

_KINDS = ("embeddings", "features", "csm")


@dataclass
class Space:
    """One input: its concepts and how to get its k×k similarity matrix (per layer)."""

    path: str
    kind: str
    concepts: list[str]
    matrix: np.ndarray | None = None  # embeddings (as correlations) and csm
    layers: list[str] = field(default_factory=list)  # features

    def similarities(self, layer: str | None, order: np.ndarray) -> list[np.ndarray]:
        """Similarity matrices (one per image group) with concepts in ``order``."""
        from semtool.measure.twovtwo import correlation_matrix, image_groups

        if self.kind != "features":
            return [self.matrix[np.ix_(order, order)]]
        x, labels, _ = read_layer(self.path, layer)
        x = x.reshape(len(x), -1)
        groups = image_groups(labels, len(self.concepts))
        return [correlation_matrix(x[g[order]]) for g in groups]


def _read_space(path: str) -> Space:
    from semtool import _runtime, store
    from semtool.data.csmio import read_csm
    from semtool.data.resultsio import layer_names
    from semtool.measure.twovtwo import correlation_matrix

    name = store.display_name(path)
    with store.open_file(path, _KINDS) as f:
        kind = str(f.attrs["semtool_kind"])
        if kind == "embeddings":
            concepts = store.read_strings(f["concepts"])
            vectors = f["vectors"][...]
        elif kind == "features":
            concepts = store.read_strings(f["classes"])
    if kind == "embeddings":
        if not np.all(np.isfinite(vectors)):
            raise UserError(f"{name}: the embedding vectors hold NaN or inf values")
        return Space(path, kind, concepts, matrix=correlation_matrix(vectors))
    if kind == "csm":
        csm = read_csm(path)
        m = csm.matrix
        if csm.is_stack:
            _runtime.log(f"{name}: using the last of {len(m)} matrices")
            m = m[-1]
        return Space(path, kind, csm.classes, matrix=np.asarray(m, dtype=np.float64))
    return Space(path, "features", concepts, layers=layer_names(path))


def _match(a: Space, b: Space) -> np.ndarray:
    """Index of each of A's concepts in B, by name (one line saying how many match otherwise)."""
    from semtool.measure.align import align

    if len(a.concepts) < 4:
        raise UserError(f"{a.path}: 2 vs 2 needs at least 4 concepts, got {len(a.concepts)}")
    common = set(a.concepts) & set(b.concepts)
    if len(common) != len(a.concepts) or len(b.concepts) != len(a.concepts):
        only = next((c for c in a.concepts if c not in common), None)
        hint = f", e.g. '{only}' is only in A" if only else ""
        raise UserError(f"{a.path} and {b.path} name different concepts: {len(common)} of "
                        f"{len(a.concepts)} (A) and {len(b.concepts)} (B) match{hint}")
    _, idx_b, _ = align(a.concepts, b.concepts, names=(a.path, b.path))
    return idx_b


def _layers(a: Space, b: Space, spec: str | None) -> list[str | None]:
    from semtool.data.resultsio import select_layers

    feats = [s for s in (a, b) if s.kind == "features"]
    if not feats:
        if spec not in (None, "all"):
            raise UserError("--layers: neither input is a features file")
        return [None]
    chosen = select_layers(feats[0].path, spec)
    for other in feats[1:]:
        for layer in chosen:
            if layer not in other.layers:
                raise UserError(f"{other.path}: no layer '{layer}' (layers: {', '.join(other.layers)})")
    return chosen


def two_vs_two_files(a: str | os.PathLike, b: str | os.PathLike, *, layers: str | None = "all",
                     one_vs_two: str | os.PathLike | None = None, permutations: int = 1000,
                     seed: int = 0) -> tuple[Space, list[dict[str, Any]]]:
    """2 vs 2 (Dharmaretnam & Fyshe 2018) between two files of the same concepts, per layer.

    ``a``/``b``: embeddings, features or csm files (concepts matched by name); with
    ``one_vs_two`` (a predictions file of the features' images) also the 1 vs 2 test on the
    mistakes. Returns A's space and one result dict per layer (accuracy, passes, tests,
    p_value, null_count, groups, null, and the one_vs_two_* keys).
    """
    from semtool.measure.twovtwo import one_vs_two as run_one_vs_two
    from semtool.measure.twovtwo import two_vs_two

    sa, sb = _read_space(str(a)), _read_space(str(b))
    order_b = _match(sa, sb)
    order_a = np.arange(len(sa.concepts))
    chosen = _layers(sa, sb, layers)

    pred = None
    if one_vs_two is not None:
        if [sa.kind, sb.kind].count("features") != 1:
            raise UserError("--one-vs-two needs one features file (the images) and one word space "
                            "(embeddings or csm)")
        feat, words = (sa, sb) if sa.kind == "features" else (sb, sa)
        _, labels0, _ = read_layer(feat.path, chosen[0])
        pred = read_predictions(str(one_vs_two))
        if pred.labels.size != labels0.size:
            raise UserError(f"--one-vs-two {one_vs_two}: {pred.labels.size} samples, but the features hold "
                            f"{labels0.size}")
        common = set(pred.classes) & set(feat.concepts)
        if len(common) != len(feat.concepts) or len(pred.classes) != len(feat.concepts):
            raise UserError(f"--one-vs-two {one_vs_two}: its classes differ from the features' "
                            f"({len(common)} of {len(feat.concepts)} match)")
        feat_index = {c: i for i, c in enumerate(feat.concepts)}
        predicted = np.array([feat_index[c] for c in pred.classes])[pred.predicted[pick_epsilon(pred, None)]]

    results: list[dict[str, Any]] = []
    for layer in chosen:
        ws = sa.similarities(layer, order_a)
        is_ = sb.similarities(layer, order_b)
        r = two_vs_two(ws, is_, permutations=permutations, seed=seed)
        row: dict[str, Any] = {"layer": layer or "-", "accuracy": r.accuracy, "passes": r.passes, "tests": r.tests,
                               "p_value": r.p_value, "null_count": r.null_count, "groups": r.groups, "null": r.null}
        if pred is not None:
            x, labels, _ = read_layer(feat.path, layer)
            # The word space in the features' class order.
            feat_order = order_a if feat is sa else order_b
            inv = np.empty_like(feat_order)
            inv[feat_order] = np.arange(len(feat_order))
            word_sim = words.similarities(None, order_b if words is sb else order_a)[0][np.ix_(inv, inv)]
            o = run_one_vs_two(x, labels, predicted, word_sim,
                               permutations=permutations, seed=seed)
            row.update({"one_vs_two_accuracy": o.accuracy, "one_vs_two_tests": o.tests,
                        "one_vs_two_p_value": o.p_value, "one_vs_two_passes": o.passes,
                        "one_vs_two_null_count": o.null_count, "one_vs_two_null": o.null})
        results.append(row)
    return sa, results


@dataclass
class RsmRun:
    """One RSM over the samples of a features layer, with its --evaluate metrics in ``info``."""

    matrix: np.ndarray
    labels: np.ndarray
    index: np.ndarray
    classes: list[str]
    layer: str
    result: Any
    info: dict[str, Any]


def rsm_file(features: str | os.PathLike, layer: str | None, *, kernel: str = "cosine", semantic: bool = False,
             matcher: str = "optimal", samples: int | None = None, evaluate: bool = False,
             predictions: str | os.PathLike | None = None, workers: int = 1, quality_pairs: int = 200,
             seed: int = 0, device: Any = "cpu") -> RsmRun:
    """The spatio-semantic or semantic RSM (Wald et al. 2024) of one layer of a features file.

    ``matcher`` is a resolved matcher name; ``evaluate`` adds retrieval top-1 / F1@1 and, with
    ``predictions``, the correlation with the Jensen–Shannon similarity of the predicted
    class probabilities.
    """
    from semtool import store
    from semtool.data.resultsio import layer_names, select_layers
    from semtool.measure.matching import check_optimal_size
    from semtool.measure.rsm import prediction_correlation, retrieval, semantic_rsm, spatio_semantic_rsm
    from semtool.report.progress import progress

    spec = matcher
    names = layer_names(str(features))
    if layer is None:
        if len(names) != 1:
            raise UserError(f"--layer: choose one of the layers ({', '.join(names)})")
        layer = names[0]
    select_layers(str(features), layer)
    if semantic and spec == "optimal":  # before reading the data: only its shape is needed
        with store.open_file(features, "features") as f:
            shape = f["layers"][layer].shape
        check_optimal_size(int(np.prod(shape[2:])) if len(shape) == 4 else (shape[1] if len(shape) == 3 else 1))
    x, labels, classes = read_layer(str(features), layer)
    n = len(x)
    probs = read_probabilities(str(predictions), n) if predictions is not None else None
    index = np.arange(n)
    if samples is not None and samples < n:
        index = np.sort(np.random.default_rng(seed).choice(n, size=samples, replace=False))
        x, labels = x[index], labels[index]

    info: dict[str, Any] = {}
    if semantic:
        total = len(x) * (len(x) - 1) // 2
        with progress(total, f"rsm {spec}", unit="pairs") as bar:
            res = semantic_rsm(x, kernel=kernel, matcher=spec, device=device, workers=workers,
                               quality_pairs=quality_pairs, seed=seed, on_progress=bar.advance)
        matrix = res.matrix
        if res.quality_fraction.size:
            info["matcher_fraction_mean"] = float(np.nanmean(res.quality_fraction))
            info["matcher_fraction_min"] = float(np.nanmin(res.quality_fraction))
    else:
        res = None
        matrix = spatio_semantic_rsm(x, kernel=kernel, device=device)
    if evaluate:
        info.update({k: v for k, v in retrieval(matrix, labels).items()})
        if probs is not None:
            info.update(prediction_correlation(matrix, probs[index]))
    return RsmRun(matrix, labels, index, classes, layer, res, info)


def read_probabilities(path: str, n: int) -> np.ndarray:
    """Predicted class probabilities (N, C): softmax of a predictions file's clean logits.

    The file is validated by the shared reader; an attack file's ε = 0 row is used; the
    sample count must be ``n``.
    """
    from semtool import store
    from semtool.measure.rsm import softmax

    pred = read_predictions(path)
    if pred.labels.size != n:
        raise UserError(f"--predictions {pred.path}: {pred.labels.size} samples, but the features hold {n}")
    row = pick_epsilon(pred, None)
    with store.open_file(path, "predictions") as f:
        if "logits" not in f:
            raise UserError(f"--predictions {pred.path}: holds no logits (needed for class probabilities)")
        logits = f["logits"][...]
    return softmax(logits if logits.ndim == 2 else logits[row])


def idm_files(predictions: str | os.PathLike, csm: str | os.PathLike, *, errors_only: bool = False):
    """IDM (Filus et al.) of a predictions file against a csm file, one value per ε row:
    (predictions, csm, values, mistakes). The CSM's classes are matched to the predictions' by name."""
    from semtool.data.csmio import read_csm
    from semtool.measure.align import align, take_classes
    from semtool.measure.idm import idm

    p = read_predictions(predictions)
    c = read_csm(csm)
    if c.is_stack:
        raise UserError(f"{c.path}: a stack of matrices; idm needs one CSM (write one epoch with csm ncsm)")
    _, ic, _ = align(p.classes, c.classes, names=(p.path, c.path))
    m = take_classes(c.matrix, ic)
    values = [idm(p.labels, row, m, errors_only=errors_only) for row in p.predicted]
    mistakes = [int(np.count_nonzero(row != p.labels)) for row in p.predicted]
    return p, c, values, mistakes
