"""``semtool twovtwo A B``: the 2 vs 2 (and 1 vs 2) test between two spaces of the same concepts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from semtool.cli._common import (ForceOpt, JsonOpt, OptionalOutputOpt, SeedOpt, guarded, print_table,
                                 print_value, stdin_once, stdout_is_terminal, wrote)


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
    from semtool import store
    from semtool.analyse.files import two_vs_two_files, twovtwo_record
    from semtool.errors import UserError
    from semtool.measure.twovtwo import ONE_VS_TWO_NULLS

    if null not in ONE_VS_TWO_NULLS:
        raise UserError(f"--null: expected one of {', '.join(ONE_VS_TWO_NULLS)}, got '{null}'")
    if one_vs_two is None and (exclude_predicted or null != "rows" or min_reference != 3):
        raise UserError("--exclude-predicted, --null and --min-reference are for the 1 vs 2 test; add --one-vs-two")
    stdin_once(a, b, one_vs_two)
    if output is not None:
        store.check_output(output, force=force, kind="twovtwo")
    concepts, results = two_vs_two_files(a, b, layers=layers, one_vs_two=one_vs_two, permutations=permutations,
                                         seed=seed, common=common, drop_constant=drop_constant,
                                         exclude_predicted=exclude_predicted, null=null, min_reference=min_reference)
    pred = one_vs_two

    if output is not None:
        params = {"layers": layers, "permutations": permutations, "seed": seed, "common": common,
                  "drop_constant": drop_constant, "one_vs_two": str(one_vs_two) if one_vs_two else None,
                  "exclude_predicted": exclude_predicted, "null": null, "min_reference": min_reference}
        inputs = [a, b] + ([one_vs_two] if one_vs_two is not None else [])
        twovtwo_record(output, results, concepts, permutations=permutations, seed=seed).write(
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


def register(app: typer.Typer) -> None:
    app.command("twovtwo")(twovtwo)
