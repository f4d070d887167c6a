"""``semtool twovtwo A B``: the 2 vs 2 (and 1 vs 2) test between two spaces of the same concepts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

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
        "misclassified ones against the other (word) space.")] = None,
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
    p = (1 + #null ≥ score) / (1 + N). Features (layer outputs flattened per image) with
    several images per concept are split into groups of one image per concept and the
    result averaged over groups. --one-vs-two adds the 1 vs 2 test: each misclassified
    image, correlated with the mean features of correctly classified images per concept,
    must correlate more with its true concept's word-space row than with the predicted one's.
    """
    from semtool import store
    from semtool.data.analyses import two_vs_two_files

    stdin_once(a, b, one_vs_two)
    if output is not None:
        store.check_output(output, force=force, kind="twovtwo")
    sa, results = two_vs_two_files(a, b, layers=layers, one_vs_two=one_vs_two, permutations=permutations,
                                   seed=seed)
    pred = one_vs_two
    if output is not None:
        params = {"layers": layers, "permutations": permutations, "seed": seed,
                  "one_vs_two": str(one_vs_two) if one_vs_two else None}
        inputs = [a, b] + ([one_vs_two] if one_vs_two is not None else [])
        from semtool.data.resultsio import write_twovtwo

        write_twovtwo(output, results, sa.concepts, permutations=permutations, seed=seed, force=force,
                      parameters=params, inputs=inputs)
        wrote(output, f"{len(results)} layer(s)")

    shown = [{k: v for k, v in r.items() if not k.endswith("null")} for r in results]
    if len(shown) == 1 and pred is None and not as_json and not stdout_is_terminal():
        print_value(shown[0]["accuracy"], label="accuracy")
        return
    columns = ["layer", "accuracy", "tests", "p_value"]
    if pred is not None:
        columns += ["one_vs_two_accuracy", "one_vs_two_tests", "one_vs_two_p_value"]
    rows = [[r[c] for c in columns] for r in shown]
    print_table(rows, columns, title=f"2 vs 2 ({permutations} permutations)", as_json=as_json,
                json_obj=shown if len(shown) > 1 else shown[0])


def register(app: typer.Typer) -> None:
    app.command("twovtwo")(twovtwo)
