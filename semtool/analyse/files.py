"""The 2 vs 2 / 1 vs 2 tests and IDM on semtool files, as ``twovtwo`` and ``idm`` run them.

The single commands and ``semtool report`` call these, so a number in a report card is
the number the command prints on the same files. Reading, matching and checking happen
here; the arithmetic is :mod:`semtool.measure`'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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
        from semtool.kinds.features import read_layer
        from semtool.measure.twovtwo import correlation_matrix, image_groups

        if self.kind != "features":
            return [self.matrix[np.ix_(order, order)]]
        x, labels, _ = read_layer(self.path, layer)
        x = x.reshape(len(x), -1)
        # Images of the concepts in ``order`` only (--common drops the others), relabelled 0..k-1.
        pos = np.full(len(self.concepts), -1)
        pos[order] = np.arange(len(order))
        sel = np.flatnonzero(pos[labels] >= 0)
        return [correlation_matrix(x[sel[g]]) for g in image_groups(pos[labels[sel]], len(order))]


def read_space(path: str) -> Space:
    from semtool import _runtime, store
    from semtool.data.csmio import read_csm
    from semtool.kinds import Embeddings, Features
    from semtool.kinds.features import layer_names
    from semtool.measure.twovtwo import correlation_matrix

    name = store.display_name(path)
    kind = store.kind_of(path, _KINDS)
    if kind == "embeddings":
        e = Embeddings.read(path)
        return Space(path, kind, e.concepts, matrix=correlation_matrix(e.vectors))
    if kind == "csm":
        csm = read_csm(path)
        m = csm.matrix
        if csm.is_stack:
            _runtime.log(f"{name}: using the last of {len(m)} matrices")
            m = m[-1]
        return Space(path, kind, csm.classes, matrix=np.asarray(m, dtype=np.float64))
    return Space(path, "features", Features.read(path, []).classes, layers=layer_names(path))


def match_spaces(a: Space, b: Space, *, common: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the compared concepts in A and in B, matched by name, in A's order.

    Without ``common`` both must name the same concepts (one line saying how many match
    otherwise); with it the shared ones are kept and the counts kept and dropped logged.
    """
    from semtool import _runtime
    from semtool.errors import UserError
    from semtool.measure.align import align

    shared = set(a.concepts) & set(b.concepts)
    if common:
        if len(shared) < 4:
            raise UserError(f"--common: {a.path} and {b.path} share {len(shared)} concepts; 2 vs 2 needs at least 4")
        idx_a, idx_b, _ = align(a.concepts, b.concepts, intersect=True, names=(a.path, b.path))
        _runtime.log(f"--common: {len(shared)} shared concepts kept; dropped {len(a.concepts) - len(shared)} of "
                     f"{len(a.concepts)} in {a.path} and {len(b.concepts) - len(shared)} of {len(b.concepts)} in {b.path}")
        return idx_a, idx_b
    if len(a.concepts) < 4:
        raise UserError(f"{a.path}: 2 vs 2 needs at least 4 concepts, got {len(a.concepts)}")
    if len(shared) != len(a.concepts) or len(b.concepts) != len(a.concepts):
        only = next((c for c in a.concepts if c not in shared), None)
        hint = f", e.g. '{only}' is only in A" if only else ""
        raise UserError(f"{a.path} and {b.path} name different concepts: {len(shared)} of "
                        f"{len(a.concepts)} (A) and {len(b.concepts)} (B) match{hint}; "
                        "--common compares the shared ones")
    _, idx_b, _ = align(a.concepts, b.concepts, names=(a.path, b.path))
    return np.arange(len(a.concepts)), idx_b


def pick_layers(a: Space, b: Space, spec: str | None) -> list[str | None]:
    from semtool.kinds.features import select_layers
    from semtool.errors import UserError

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


def _at(layer: str | None, several: bool) -> str:
    return f" (layer {layer})" if several and layer else ""


def _warn_constant(test: str, layer: str | None, names: list[str], result: Any, several: bool) -> None:
    """One line naming the constant concepts and how many tests they decided."""
    from semtool import _runtime

    if not names:
        return
    shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    if result.dropped:
        _runtime.warn(f"{test}{_at(layer, several)}: left out {len(names)} concept(s) with a constant vector: {shown}")
        return
    _runtime.warn(f"{test}{_at(layer, several)}: constant vector for {shown}: {result.nan_tests:g} of {result.tests} "
                  "tests are undefined and fail (--drop-constant runs without them)")


def two_vs_two_files(a: str | os.PathLike, b: str | os.PathLike, *, layers: str | None = "all",
                     one_vs_two: str | os.PathLike | None = None, permutations: int = 1000, seed: int = 0,
                     common: bool = False, drop_constant: bool = False, exclude_predicted: bool = False,
                     null: str = "rows", min_reference: int = 3) -> tuple[list[str], list[dict[str, Any]]]:
    """2 vs 2 (Dharmaretnam & Fyshe 2018) between two files of the same concepts, per layer, as
    ``semtool twovtwo`` runs it; with ``one_vs_two`` (a predictions file of the features' images)
    also the 1 vs 2 test on the mistakes. Returns the compared concepts (A's order) and one
    result dict per layer (accuracy, passes, tests, p_value, null, and the one_vs_two_* keys).
    """
    from semtool import _runtime
    from semtool.data.csmio import pick_epsilon, read_predictions
    from semtool.kinds.features import read_layer
    from semtool.measure.twovtwo import one_vs_two as run_one_vs_two
    from semtool.measure.twovtwo import two_vs_two

    sa, sb = read_space(str(a)), read_space(str(b))
    order_a, order_b = match_spaces(sa, sb, common=common)
    chosen = pick_layers(sa, sb, layers)

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
        # Predictions may be over more classes than the features hold (a pretrained network's
        # 1000): matched by name, a prediction outside the features' concepts is -1.
        lacking = [c for c in feat.concepts if c not in set(pred.classes)]
        if lacking:
            raise UserError(f"--one-vs-two {one_vs_two}: its classes lack {len(lacking)} of the features' "
                            f"{len(feat.concepts)} ({', '.join(lacking[:3])})")
        feat_index = {c: i for i, c in enumerate(feat.concepts)}
        to_feat = np.array([feat_index.get(c, -1) for c in pred.classes])
        if not np.array_equal(to_feat[pred.labels], labels0):
            raise UserError(f"--one-vs-two {one_vs_two}: its labels differ from the features' (another image order?)")
        predicted = to_feat[pred.predicted[pick_epsilon(pred, None)]]
        # The compared concepts in the features' class order; images whose true or predicted
        # concept is not compared (dropped by --common, or outside the features) leave the
        # 1 vs 2 test. pos has one extra -1 at the end, where predicted == -1 points.
        feat_order = order_a if feat is sa else order_b
        by_class = np.argsort(feat_order)
        pos = np.full(len(feat.concepts) + 1, -1)
        compared = np.sort(feat_order)  # position in the 1 vs 2 test -> the features' class index
        pos[compared] = np.arange(len(feat_order))
        kept = np.flatnonzero((pos[labels0] >= 0) & (pos[predicted] >= 0))
        if kept.size < labels0.size:
            _runtime.log(f"1 vs 2 on the {kept.size} of {labels0.size} images whose true and predicted "
                         "concepts are both compared")

    results: list[dict[str, Any]] = []
    for layer in chosen:
        ws = sa.similarities(layer, order_a)
        is_ = sb.similarities(layer, order_b)
        r = two_vs_two(ws, is_, permutations=permutations, seed=seed, drop_constant=drop_constant)
        row: dict[str, Any] = {"layer": layer or "-", "accuracy": r.accuracy, "passes": r.passes, "tests": r.tests,
                               "p_value": r.p_value, "p_value_authors": r.p_value_authors,
                               "null_count": r.null_count, "groups": r.groups, "null": r.null,
                               "constant": [sa.concepts[order_a[i]] for i in r.constant]}
        _warn_constant("2 vs 2", layer, row["constant"], r, len(chosen) > 1)
        if pred is not None:
            x, labels, _ = read_layer(feat.path, layer)
            word_sim = words.similarities(None, order_b if words is sb else order_a)[0][np.ix_(by_class, by_class)]
            o = run_one_vs_two(x[kept], pos[labels[kept]], pos[predicted[kept]], word_sim,
                               exclude_predicted=exclude_predicted, null=null,
                               min_reference=min_reference, drop_constant=drop_constant,
                               permutations=permutations, seed=seed)
            row.update({"one_vs_two_accuracy": o.accuracy, "one_vs_two_tests": o.tests,
                        "one_vs_two_p_value": o.p_value, "one_vs_two_p_value_authors": o.p_value_authors,
                        "one_vs_two_passes": o.passes, "one_vs_two_null_count": o.null_count,
                        "one_vs_two_mistakes": o.mistakes, "one_vs_two_untestable": o.untestable,
                        "one_vs_two_reference_min": int(o.reference.min()),
                        "one_vs_two_reference_max": int(o.reference.max()),
                        "one_vs_two_constant": [feat.concepts[compared[i]] for i in o.constant],
                        "one_vs_two_null": o.null})
            _warn_constant("1 vs 2", layer, row["one_vs_two_constant"], o, len(chosen) > 1)
            if o.untestable:
                _runtime.warn(f"1 vs 2{_at(layer, len(chosen) > 1)}: {o.untestable} of {o.mistakes} mistakes have "
                              f"fewer than {min_reference} reference concepts and were not tested (not counted)")
        results.append(row)
    return [sa.concepts[i] for i in order_a], results


def twovtwo_record(path: str | os.PathLike, results: list[dict[str, Any]], concepts: list[str], *,
                   permutations: int, seed: int) -> Any:
    """The 'twovtwo' record of :func:`two_vs_two_files`' results (write it with ``.write``)."""
    from semtool.kinds import TwoVsTwo

    def per_layer(key: str) -> np.ndarray:
        return np.array([r[key] for r in results])

    one_vs_two = {}
    if "one_vs_two_accuracy" in results[0]:
        one_vs_two = {key: per_layer(f"one_vs_two_{key}") for key in (
            "accuracy", "passes", "tests", "p_value", "p_value_authors", "null_count", "mistakes", "untestable",
            "reference_min", "reference_max")}
        one_vs_two["null"] = np.stack([r["one_vs_two_null"] for r in results]).reshape(len(results), permutations)
    return TwoVsTwo(str(path), [r["layer"] for r in results], per_layer("accuracy"),
                    np.stack([r["null"] for r in results]).reshape(len(results), permutations), per_layer("p_value"),
                    per_layer("passes"), results[0]["tests"], per_layer("groups"), per_layer("null_count"),
                    per_layer("p_value_authors"), concepts, one_vs_two,
                    attrs={"permutations": permutations, "seed": seed})


def ccsm_file(predictions: str | os.PathLike, *, eps: float | None = None, symmetric: bool = False,
              all_classes: bool = False) -> tuple[Any, float | None]:
    """The CCSM of a predictions file as ``semtool csm ccsm`` writes it: (Csm record, the ε used).

    Predictions over more classes than the images hold (a network on some of its classes)
    give a CCSM over the classes with samples, rows and columns, each row still divided by
    all of its class's samples, with a note on stderr; ``all_classes`` keeps the others as
    zero rows (which SAI and IDM would count as never confused), with a warning.
    """
    from semtool import _runtime, store
    from semtool.data.csmio import pick_epsilon, read_predictions
    from semtool.kinds import Csm, Grouping
    from semtool.measure.csm import ccsm

    p = read_predictions(predictions)
    row = pick_epsilon(p, eps)
    m = ccsm(p.labels, p.predicted[row], len(p.classes), symmetric=symmetric)
    chosen = None if p.epsilons is None else float(p.epsilons[row])
    name = store.display_name(predictions)
    keep = np.flatnonzero(np.bincount(p.labels, minlength=len(p.classes)) > 0)
    classes, synsets, groups = list(p.classes), p.synsets, p.groups
    if len(keep) < len(classes) and not all_classes:
        if len(keep) < 2:
            raise UserError(f"{name}: samples of {len(keep)} class; a CCSM needs at least 2")
        _runtime.log(f"note: {name} holds samples of {len(keep)} of its {len(classes)} classes; the CCSM covers "
                     f"those {len(keep)} (mistakes into the others still count in each row); --all-classes keeps "
                     "every class")
        m = m[np.ix_(keep, keep)]
        classes = [classes[i] for i in keep]
        synsets = None if synsets is None else [synsets[i] for i in keep]
        groups = None if groups is None else Grouping(groups.index[keep], groups.names)
    elif len(keep) < len(classes):
        _runtime.log(f"warning: {len(classes) - len(keep)} of the {len(classes)} classes have no samples in {name}: "
                     "their rows are zero, and SAI or IDM against this CCSM count them as never confused")
    return Csm(name, m, classes, None, synsets, "ccsm", "confusion", groups), chosen


def idm_files(predictions: str | os.PathLike, csm: str | os.PathLike, *, errors_only: bool = False):
    """IDM (Filus et al.) of a predictions file against a csm file, one value per ε row:
    (predictions, csm, values, mistakes). The CSM's classes are matched to the predictions' by name."""
    from semtool.data.csmio import read_csm, read_predictions
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


@dataclass
class RsmRun:
    """One RSM over the samples of a features layer, with its --evaluate metrics in ``info``."""

    matrix: np.ndarray
    labels: np.ndarray
    index: np.ndarray
    classes: list[str]
    layer: str
    kernel: str
    matcher: str
    semantic: bool
    result: Any
    info: dict[str, Any]

    def record(self, path: str | os.PathLike) -> Any:
        """The 'rsm' record (write it with ``.write``)."""
        from semtool.kinds import Rsm

        res = self.result
        return Rsm(str(path), self.matrix, self.labels, self.classes, self.index, self.layer, self.kernel, self.matcher,
                   self.semantic, quality_pairs=None if res is None else res.quality_pairs,
                   quality_fraction=None if res is None else res.quality_fraction, evaluation=self.info)


def layer_set_size(features: str | os.PathLike, layer: str) -> int:
    """S, the spatial positions (N, C, H, W) or tokens (N, T, D) of one sample of a layer: what a
    semantic RSM matches (1 for pooled (N, D) features)."""
    from semtool.kinds.features import layer_shape

    shape = layer_shape(features, layer)
    return int(np.prod(shape[2:])) if len(shape) == 4 else (shape[1] if len(shape) == 3 else 1)


def rsm_file(features: str | os.PathLike, layer: str | None, *, kernel: str = "cosine", sigma: float | str = "median",
             semantic: bool = False, matcher: str = "optimal", samples: int | None = None, evaluate: bool = False,
             predictions: str | os.PathLike | None = None, workers: int = 1, quality_pairs: int = 200,
             seed: int = 0, device: Any = "cpu") -> RsmRun:
    """The spatio-semantic or semantic RSM (Wald et al. 2024) of one layer of a features file, as
    ``semtool rsm`` computes it. ``matcher`` is a resolved matcher name; ``evaluate`` adds
    retrieval top-1 / F1@1 and, with ``predictions``, the correlation with the Jensen–Shannon
    similarity of the predicted class probabilities."""
    from semtool import store
    from semtool._progress import progress
    from semtool.analyse.rsm import semantic_rsm, spatio_semantic_rsm
    from semtool.kinds.features import pick_layer, read_layer
    from semtool.measure.matching import check_optimal_size
    from semtool.measure.rsm import prediction_correlation, retrieval

    spec, sigma_value = matcher, sigma
    layer = pick_layer(features, layer)
    if semantic:  # before reading the data: only its shape is needed
        set_size = layer_set_size(features, layer)
        if set_size == 1:
            raise UserError(f"--semantic: layer '{layer}' of {store.display_name(features)} holds one vector per "
                            "sample (pooled), so there is nothing to match and the result would equal the plain "
                            "RSM; extract the maps with 'semtool features --pool none'")
        if spec == "optimal":
            check_optimal_size(set_size)
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
                               quality_pairs=quality_pairs, seed=seed, on_progress=bar.advance, sigma=sigma_value)
        matrix = res.matrix
        if res.quality_fraction.size:
            info["matcher_fraction_mean"] = float(np.nanmean(res.quality_fraction))
            info["matcher_fraction_min"] = float(np.nanmin(res.quality_fraction))
    else:
        res = None
        matrix = spatio_semantic_rsm(x, kernel=kernel, device=device, sigma=sigma_value)
    if evaluate:
        info.update({k: v for k, v in retrieval(matrix, labels).items()})
        if probs is not None:
            info.update(prediction_correlation(matrix, probs[index]))
    return RsmRun(matrix, labels, index, classes, layer, kernel, spec, semantic, res, info)


def read_probabilities(path: str, n: int) -> np.ndarray:
    """Predicted class probabilities (N, C): softmax of a predictions file's clean logits.

    The file is validated by the shared reader; an attack file's ε = 0 row is used; the
    sample count must be ``n``.
    """
    from semtool.errors import UserError
    from semtool.kinds.predictions import Predictions, pick_epsilon
    from semtool.measure.rsm import softmax

    pred = Predictions.read(path, logits=True)
    if pred.labels.size != n:
        raise UserError(f"--predictions {pred.path}: {pred.labels.size} samples, but the features hold {n}")
    row = pick_epsilon(pred, None)
    if pred.logits is None:
        raise UserError(f"--predictions {pred.path}: holds no logits (needed for class probabilities)")
    return softmax(pred.logits if pred.logits.ndim == 2 else pred.logits[row])


# ------------------------------------------------------------------------ command
