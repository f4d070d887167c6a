"""``semtool wsi CSM``: Weight Similarity Indices of a network CSM (Filus et al.)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from semtool.cli._common import JsonOpt, guarded, print_table, records


@guarded
def wsi(
    csm: Annotated[Path, typer.Argument(help="An NCSM csm file: the raw cosine of a classifier's weights, from "
                                        "'semtool csm ncsm' (one matrix, or a stack over epochs from a curves file); "
                                        "'-' for stdin. Other CSMs (ccsm, tncsm, wordnet, …) are refused: WSI is "
                                        "defined on the weights.", show_default=False)],
    quantile: Annotated[float, typer.Option("--quantile", help="Max WSI averages each class's similarities at or "
                                            "above this quantile; Min WSI at or below 1 − quantile. In (0, 1). Taken over the class's C − 1 "
                                            "off-diagonal similarities (Filus et al. do not say; the whole row would "
                                            "count its self-similarity 1).")] = 0.95,
    as_json: JsonOpt = False,
) -> None:
    """Mean / Max / Min Weight Similarity Index of a class similarity matrix (Filus et al.).

    Mean WSI = mean of the upper triangle; Max WSI = mean over classes of the mean of the
    class's off-diagonal similarities at or above its own QUANTILE quantile; Min WSI
    likewise at or below its 1 − QUANTILE quantile. A stack gives one row per epoch.
    Only an NCSM (source 'ncsm') is accepted: on a confusion, WordNet or feature CSM the
    numbers would mean something else.
    """
    from semtool.data.csmio import read_csm
    from semtool.errors import UserError
    from semtool.measure.wsi import check_quantile, wsi as wsi_fn

    check_quantile(quantile)  # before reading the file
    c = read_csm(csm)
    if c.source and c.source != "ncsm":
        raise UserError(f"{c.path}: a '{c.source}' csm (measure '{c.measure}'), but WSI is defined on an NCSM, the raw "
                        "cosine of the classifier weights; make one: semtool csm ncsm MODEL -o ncsm.h5")
    if not c.is_stack:
        v = wsi_fn(c.matrix, quantile=quantile)
        print_table([(v["mean"], v["max"], v["min"])], ("mean", "max", "min"), title=f"WSI {c.path}",
                    as_json=as_json, json_obj=[{"file": c.path, "quantile": quantile, **v}])
        return
    vals = [wsi_fn(m, quantile=quantile) for m in c.matrix]
    rows = [(float(e), v["mean"], v["max"], v["min"]) for e, v in zip(c.epochs, vals)]
    columns = ("epoch", "mean", "max", "min")
    print_table(rows, columns, title=f"WSI {c.path}", as_json=as_json,
                json_obj=records(rows, columns, file=c.path, quantile=quantile))


def register(app: typer.Typer) -> None:
    app.command("wsi")(wsi)
