"""``semtool sai A B``: how well two class similarity matrices agree (Filus et al.)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from semtool.cli._common import (ForceOpt, JsonOpt, complete, guarded, plural, print_json, print_table, print_value, records,
                                 stdin_once, wrote)

_MEASURES = ("cosine", "ssim", "mse", "mae")
_HELP_MEASURE = ("cosine (default; 1 = aligned), ssim (scikit-image's SSIM, 7×7 window, needs ≥ 8 classes; "
                 "see --ssim-window), mse or mae (0 = aligned), or all.")
_SSIM_WINDOWS = ("uniform", "gaussian")


@guarded
def sai(
    files: Annotated[list[Path], typer.Argument(
        help="Two csm files A B (or, with --all-pairs, any number). '-' reads one from stdin.",
        show_default=False)],
    measure: Annotated[str, typer.Option("--measure", "-m", help=_HELP_MEASURE,
                                         autocompletion=complete("sai --measure"))] = "cosine",
    intersect: Annotated[bool, typer.Option("--intersect", help="Compare only the classes both files share "
                                            "(otherwise differing class names are an error).")] = False,
    all_pairs: Annotated[bool, typer.Option("--all-pairs", help="SAI of every pair of FILES in one process: "
                                            "an F×F matrix (TSV when piped, --json, or -o as a csm file).")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="For stacks: write a 'curves' file "
                                                   "(sai/<measure> per epoch); with --all-pairs: a csm file of "
                                                   "the file-by-file matrix.")] = None,
    ssim_window: Annotated[str, typer.Option(
        "--ssim-window", help="SSIM's window (Filus et al. do not state it): uniform (scikit-image's default, 7×7, "
        "sample covariance) or gaussian (Wang et al. 2004: 11×11, σ 1.5, population covariance; needs ≥ 12 "
        "classes).")] = "uniform",
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Similarity Alignment Index of two class similarity matrices (Filus et al.).

    Classes are matched by name (B is reordered to A's order). Each matrix loses its
    diagonal (C × (C−1)) and is min–max normalised to [0, 1]; then the two are compared by
    cosine, SSIM, MSE or MAE. A stack of per-epoch matrices gives one value per epoch (a
    curve). Piped, a single result is the bare number: x=$(semtool sai a.h5 b.h5).
    """
    from semtool import store
    from semtool.errors import UserError

    stdin_once(*files)
    measures = list(_MEASURES) if measure == "all" else [measure]
    if measures[0] not in _MEASURES:
        raise UserError(f"--measure: expected one of {', '.join(_MEASURES)} or all, got '{measure}'")
    if ssim_window not in _SSIM_WINDOWS:
        raise UserError(f"--ssim-window: expected one of {', '.join(_SSIM_WINDOWS)}, got '{ssim_window}'")
    if ssim_window != "uniform" and "ssim" not in measures:
        raise UserError("--ssim-window is SSIM's; add --measure ssim")
    if all_pairs:
        if len(files) < 2:
            raise UserError("--all-pairs: give at least two csm files")
        if measure == "all":
            raise UserError("--all-pairs: choose one --measure (all gives one matrix per measure)")
        if output is not None:
            store.check_output(output, force=force, kind="csm")
        _all_pairs(files, measures[0], intersect, output, force, as_json, ssim_window)
        return
    if len(files) != 2:
        raise UserError(f"expected two csm files A B, got {len(files)} (compare many with --all-pairs)")
    if output is not None:
        store.check_output(output, force=force, kind="curves")
    _two(files[0], files[1], measures, intersect, output, force, as_json, ssim_window)


def _two(a_path: Path, b_path: Path, measures: list[str], intersect: bool, output: Optional[Path],
         force: bool, as_json: bool, ssim_window: str = "uniform") -> None:
    import numpy as np

    from semtool.data.csmio import read_aligned
    from semtool.errors import UserError
    from semtool.measure.sai import sai as sai_fn

    a, b, ma, mb, classes = read_aligned(a_path, b_path, intersect=intersect)
    values = {m: sai_fn(ma, mb, m, names=(a.path, b.path), ssim_window=ssim_window) for m in measures}
    stack = a if a.is_stack else (b if b.is_stack else None)
    if stack is None:
        if output is not None:
            raise UserError("-o writes a curves file for stacks of matrices; A and B are single matrices")
        if as_json:
            print_json([{"a": a.path, "b": b.path, "classes": len(classes), **values}])
        elif len(measures) == 1:
            print_value(values[measures[0]], label=f"SAI ({measures[0]})")
        else:
            print_table([(m, v) for m, v in values.items()], ("measure", "sai"), title=f"SAI {a.path} vs {b.path}")
        return
    epochs = stack.epochs
    if a.is_stack and b.is_stack and not np.array_equal(a.epochs, b.epochs):
        from semtool import _runtime

        _runtime.log(f"note: {a.path} and {b.path} list different epochs; using {a.path}'s")
    if output is not None:
        from semtool.kinds import Curves

        Curves(str(output), np.asarray(epochs, dtype=np.float64), {f"sai/{m}": v for m, v in values.items()},
               classes=classes, label=f"{Path(a.path).stem} vs {Path(b.path).stem}").write(
            output, force=force, command="sai",
            parameters={"measures": measures, "intersect": intersect, "ssim_window": ssim_window},
            inputs=[str(a_path), str(b_path)])
        wrote(output, plural(len(epochs), "epoch"))
        return
    rows = [(float(e), *(float(values[m][k]) for m in measures)) for k, e in enumerate(epochs)]
    print_table(rows, ("epoch", *measures), title=f"SAI {a.path} vs {b.path}", as_json=as_json,
                json_obj=records(rows, ("epoch", *measures), a=a.path, b=b.path, classes=len(classes)))


def _all_pairs(files: list[Path], measure: str, intersect: bool, output: Optional[Path], force: bool,
               as_json: bool, ssim_window: str = "uniform") -> None:
    from semtool.data.csmio import read_csm
    from semtool.errors import UserError
    from semtool.measure.align import align_many, take_classes
    from semtool.measure.sai import normalised, pairwise_sai

    csms = [read_csm(p) for p in files]
    for c in csms:
        if c.is_stack:
            raise UserError(f"{c.path}: a stack of matrices; --all-pairs compares single matrices")
    names = [c.path for c in csms]
    idx, classes = align_many([c.classes for c in csms], intersect=intersect, names=names)
    mats = [normalised(take_classes(c.matrix, i), name=c.path) for c, i in zip(csms, idx)]
    matrix = pairwise_sai(mats, measure, ssim_window=ssim_window)
    if output is not None:
        from semtool.data.csmio import write_csm

        write_csm(output, matrix, names, source="sai", measure=measure, force=force, command="sai --all-pairs",
                  parameters={"measure": measure, "intersect": intersect, "classes": len(classes),
                              "ssim_window": ssim_window},
                  inputs=[str(p) for p in files])
        wrote(output, f"{len(names)}×{len(names)} SAI ({measure})")
        return
    rows = [(n, *(float(v) for v in row)) for n, row in zip(names, matrix)]
    print_table(rows, ("file", *names), title=f"SAI ({measure})", as_json=as_json,
                json_obj=[{"a": a, "b": b, "classes": len(classes), measure: float(matrix[i, j])}
                          for i, a in enumerate(names) for j, b in enumerate(names)])


def register(app: typer.Typer) -> None:
    app.command("sai")(sai)
