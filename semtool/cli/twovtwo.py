"""``semtool twovtwo A B``: the 2 vs 2 (and 1 vs 2) test between two spaces of the same concepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import numpy as np
import typer

from semtool.cli._common import (ForceOpt, JsonOpt, OptionalOutputOpt, SeedOpt, guarded, print_table,
                                 print_value, stdin_once, stdout_is_terminal, wrote)

_KINDS = ("embeddings", "features", "csm")


@dataclass
class _Space:
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


def _read_space(path: str) -> _Space:
    from semtool import _runtime, store
    from semtool.data.csmio import read_csm
    from semtool.kinds import Embeddings, Features
    from semtool.kinds.features import layer_names
    from semtool.measure.twovtwo import correlation_matrix

    name = store.display_name(path)
    kind = store.kind_of(path, _KINDS)
    if kind == "embeddings":
        e = Embeddings.read(path)
        return _Space(path, kind, e.concepts, matrix=correlation_matrix(e.vectors))
    if kind == "csm":
        csm = read_csm(path)
        m = csm.matrix
        if csm.is_stack:
            _runtime.log(f"{name}: using the last of {len(m)} matrices")
            m = m[-1]
        return _Space(path, kind, csm.classes, matrix=np.asarray(m, dtype=np.float64))
    return _Space(path, "features", Features.read(path, []).classes, layers=layer_names(path))


def _match(a: _Space, b: _Space, *, common: bool = False) -> tuple[np.ndarray, np.ndarray]:
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


def _layers(a: _Space, b: _Space, spec: str | None) -> list[str | None]:
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


@guarded
def twovtwo(
    a: Annotated[Path, typer.Argument(help="First space: an embeddings, features or csm file.", show_default=False)],
    b: Annotated[Path, typer.Argument(help="Second space of the same concepts (matched by name).", show_default=False)],
    output: OptionalOutputOpt = None,
    layers: Annotated[Optional[str], typer.Option(
        "--layers", help="Layers of a features input: 'all' (one result per layer, a curve) or 'a,b'.")] = "all",
    one_vs_two: Annotated[Optional[Path], typer.Option(
        "--one-vs-two", help="A predictions file for the features' images: also run the 1 vs 2 test on the "
        "misclassified ones against the other (word) space. Its classes may be more than the features' (a "
        "pretrained network's 1000, matched by name); a mistake toward a class not compared is left out.")] = None,
    exclude_predicted: Annotated[bool, typer.Option(
        "--exclude-predicted", help="1 vs 2, semtool's stricter variant: drop the true and the predicted class from "
        "each mistake's reference concepts. Default (the paper and the authors' one_vs_two_vgg16.py): every "
        "concept with a correctly classified image, the predicted one included.")] = False,
    null: Annotated[str, typer.Option(
        "--null", help="1 vs 2 null: rows (the authors' one_vs_two_vgg16.py, used for the paper's figure: each "
        "mistake's true-class and predicted-class word rows shuffled across the mistakes) or concepts (the word "
        "space's concepts relabelled, as the 2 vs 2 null).")] = "rows",
    min_reference: Annotated[int, typer.Option(
        "--min-reference", help="1 vs 2: a mistake with fewer reference concepts is not testable (reported, never "
        "counted as a failure); none testable is an error. At least 3 (Pearson r over 2 values is ±1).",
        min=3)] = 3,
    drop_constant: Annotated[bool, typer.Option(
        "--drop-constant", help="Leave out concepts whose vector is constant (e.g. an all-zero ReLU feature). "
        "Without it every test that uses one fails (as in the authors' code) and a warning names them.")] = False,
    common: Annotated[bool, typer.Option(
        "--common", help="Compare the concepts both inputs name and drop the rest (Dharmaretnam & Fyshe keep "
        "the concepts found in every word space); says how many were kept and dropped.")] = False,
    permutations: Annotated[int, typer.Option(
        "--permutations", help="Permutations of the null distribution (concepts of B relabelled).", min=0)] = 1000,
    seed: SeedOpt = 0,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """2 vs 2 test (Dharmaretnam & Fyshe 2018): do two spaces agree on which concepts are alike?

    Each space gives a k×k Pearson correlation matrix of its concept vectors (a csm file
    is used as the matrix). For every pair (a, b) the test passes iff r(W_a, I_a) +
    r(W_b, I_b) > r(W_a, I_b) + r(W_b, I_a) over the other k − 2 concepts (ties and NaN
    fail). Prints accuracy (chance 0.5), tests and the permutation p-value,
    p = (1 + #null ≥ score) / (1 + N), never 0; the paper gives no formula, and --json also
    reports the authors' #null > score / N (p_value_authors). Features (layer outputs
    flattened per image, as the authors do) with several images per concept are split into
    groups of one image per concept and the result averaged over groups. A constant concept
    vector fails every test that uses it: a warning names it (--drop-constant leaves it out).
    --one-vs-two adds the 1 vs 2 test: each misclassified image, correlated with the mean
    features of the correctly classified images of every concept that has one (the
    reference concepts), must correlate more with its true concept's word-space row than
    with the predicted one's; it reports how many mistakes were testable and how many
    reference concepts each used.
    Both inputs must name the same concepts; --common compares the ones they share (as
    Dharmaretnam & Fyshe keep the concepts found in every word space) and drops, for 1 vs 2,
    the images whose true or predicted concept was dropped.
    """
    from semtool import _runtime, store
    from semtool.data.csmio import pick_epsilon, read_predictions
    from semtool.kinds.features import read_layer
    from semtool.errors import UserError
    from semtool.measure.twovtwo import ONE_VS_TWO_NULLS
    from semtool.measure.twovtwo import one_vs_two as run_one_vs_two
    from semtool.measure.twovtwo import two_vs_two

    if null not in ONE_VS_TWO_NULLS:
        raise UserError(f"--null: expected one of {', '.join(ONE_VS_TWO_NULLS)}, got '{null}'")
    if one_vs_two is None and (exclude_predicted or null != "rows" or min_reference != 3):
        raise UserError("--exclude-predicted, --null and --min-reference are for the 1 vs 2 test; add --one-vs-two")
    stdin_once(a, b, one_vs_two)
    if output is not None:
        store.check_output(output, force=force, kind="twovtwo")
    sa, sb = _read_space(str(a)), _read_space(str(b))
    order_a, order_b = _match(sa, sb, common=common)
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

    if output is not None:
        params = {"layers": layers, "permutations": permutations, "seed": seed, "common": common,
                  "drop_constant": drop_constant, "one_vs_two": str(one_vs_two) if one_vs_two else None,
                  "exclude_predicted": exclude_predicted, "null": null, "min_reference": min_reference}
        inputs = [a, b] + ([one_vs_two] if one_vs_two is not None else [])
        from semtool.kinds import TwoVsTwo

        def per_layer(key: str) -> np.ndarray:
            return np.array([r[key] for r in results])

        one_vs_two = {}
        if pred is not None:
            one_vs_two = {key: per_layer(f"one_vs_two_{key}") for key in (
                "accuracy", "passes", "tests", "p_value", "p_value_authors", "null_count", "mistakes", "untestable",
                "reference_min", "reference_max")}
            one_vs_two["null"] = np.stack([r["one_vs_two_null"] for r in results]).reshape(len(results), permutations)
        TwoVsTwo(str(output), [r["layer"] for r in results], per_layer("accuracy"),
                 np.stack([r["null"] for r in results]).reshape(len(results), permutations), per_layer("p_value"),
                 per_layer("passes"), results[0]["tests"], per_layer("groups"), per_layer("null_count"),
                 per_layer("p_value_authors"), [sa.concepts[i] for i in order_a], one_vs_two,
                 attrs={"permutations": permutations, "seed": seed}).write(
            output, force=force, command="twovtwo", parameters=params, inputs=inputs)
        wrote(output, f"{len(results)} layer(s)")

    shown = [{k: v for k, v in r.items() if not k.endswith("null")} for r in results]
    if len(shown) == 1 and pred is None and not as_json and not stdout_is_terminal():
        print_value(shown[0]["accuracy"], label="accuracy")
        return
    columns = ["layer", "accuracy", "tests", "p_value"]
    if pred is not None:
        # tested of all mistakes, and the reference concepts each used (a range when they differ)
        columns += ["one_vs_two_accuracy", "one_vs_two_tests", "one_vs_two_mistakes", "one_vs_two_reference",
                    "one_vs_two_p_value"]
    rows = [[_reference_range(r) if c == "one_vs_two_reference" else r[c] for c in columns] for r in shown]
    print_table(rows, columns, title=f"2 vs 2 ({permutations} permutations)", as_json=as_json,
                json_obj=shown)


def _reference_range(row: dict[str, Any]) -> str:
    lo, hi = row["one_vs_two_reference_min"], row["one_vs_two_reference_max"]
    return str(lo) if lo == hi else f"{lo}–{hi}"


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


def register(app: typer.Typer) -> None:
    app.command("twovtwo")(twovtwo)
