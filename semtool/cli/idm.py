"""``semtool idm PREDICTIONS --csm CSM``: how semantically reasonable the mistakes are (Filus et al.)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from semtool.cli._common import JsonOpt, guarded, print_json, print_table, print_value, records, stdin_once


@guarded
def idm(
    predictions: Annotated[Path, typer.Argument(help="A predictions file (clean, or an attack file with an ε axis).",
                                                show_default=False)],
    csm: Annotated[Path, typer.Option("--csm", help="The reference CSM: an NCSM gives the network-based IDM, a "
                                      "WordNet CSM the WordNet-based one. Classes are matched by name.",
                                      show_default=False)],
    errors_only: Annotated[bool, typer.Option("--errors-only", help="Average over the mistakes only "
                                              "(NaN when there are none).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """IDM, the Inverse Dissimilarity Metric: 1 − mean DM, the Dissimilarity Metric (Filus et al.).

    A correct prediction has DM = 0; a mistake (true c, predicted w) has DM = r / (C − 1),
    r the rank of w among the other classes by decreasing similarity to c in the CSM (ties
    share their average rank). Attack files give one value per ε.
    """
    from semtool.analyse.files import idm_files

    stdin_once(predictions, csm)
    p, c, values, mistakes = idm_files(predictions, csm, errors_only=errors_only)
    if errors_only and 0 in mistakes:
        from semtool import _runtime

        where = "" if p.epsilons is None else " at ε = " + ", ".join(
            f"{e:g}" for e, k in zip(p.epsilons, mistakes) if k == 0)
        _runtime.log(f"warning: {p.path} has no mistakes{where}: the errors-only IDM is undefined there (NaN)")
    kind = {"ncsm": "network-based", "wordnet": "WordNet-based"}.get(c.source, c.source or "csm")
    label = f"IDM ({kind}{', errors only' if errors_only else ''})"
    context = {"predictions": p.path, "csm": c.path, "source": c.source, "errors_only": errors_only,
               "samples": int(p.labels.size)}
    if p.epsilons is None:
        if as_json:
            print_json(records([(values[0], mistakes[0])], ("idm", "mistakes"), **context))
        else:
            print_value(values[0], label=label)
        return
    rows = [(float(e), v, k) for e, v, k in zip(p.epsilons, values, mistakes)]
    columns = ("eps", "idm", "mistakes")
    print_table(rows, columns, title=f"{label} of {p.path} against {c.path}", as_json=as_json,
                json_obj=records(rows, columns, **context))


def register(app: typer.Typer) -> None:
    app.command("idm")(idm)
