"""``semtool plot …``: figures of semtool files (CSMs, curves, attack sweeps, RSMs, 2 vs 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from semtool.cli._common import ForceOpt, guarded, wrote

plot_app = typer.Typer(
    name="plot",
    no_args_is_help=True,
    help=(
        "Draw figures of semtool files: PNG by default, SVG or PDF by the output's extension.\n\n"
        "Colour-blind-safe colours (Okabe–Ito lines, viridis heatmaps), titles naming the "
        "measure, axis labels with units. Several files give several runs (one line each) "
        "or several heatmaps side by side."
    ),
)

# The choices of semtool.report.plots.CSM_ORDERS / CSM_SCALES (a test keeps them equal),
# spelled out so that --help lists them without importing the plotting module.
Order = Literal["auto", "groups", "cluster", "none"]
Scale = Literal["auto", "shared", "panel", "minmax"]

FigureOpt = Annotated[Path, typer.Option("--output", "-o", help="Figure file: .png, .svg or .pdf.",
                                         show_default=False)]
LabelOpt = Annotated[Optional[list[str]], typer.Option(
    "--label", help="Name of each file's run in legends and titles (repeat once per file; "
                    "default: the file's 'label' attribute, else its name).", show_default=False)]
SizeOpt = Annotated[Optional[str], typer.Option(
    "--size", help="Figure size WIDTHxHEIGHT in inches, e.g. 8x6 (default: fitted to the content).",
    show_default=False)]
DpiOpt = Annotated[int, typer.Option("--dpi", min=20, max=1200,
                                     help="Resolution of PNG output: pixels = inches × dpi.")]
TitleOpt = Annotated[Optional[str], typer.Option("--title", help="A title over the whole figure.",
                                                 show_default=False)]


def _files(help_text: str) -> object:
    return typer.Argument(help=help_text, show_default=False)


@plot_app.command("csm")
@guarded
def csm(
    files: Annotated[list[Path], _files("One or more csm files (or curves files with CSM snapshots), "
                                        "drawn side by side.")],
    output: FigureOpt,
    order: Annotated[Order, typer.Option(
        "--order", help="Class order: groups (by the file's semantic groups, with lines between "
                        "groups), cluster (average-linkage clustering on 1 − similarity), none "
                        "(file order), or auto (groups when the file has them, else cluster). "
                        "Every panel uses the first file's order; classes are matched by name.")] = "auto",
    epoch: Annotated[Optional[list[int]], typer.Option(
        "--epoch", help="For stacks over epochs: which matrix, as an index (0 = first, "
                        "-1 = last, the default). Once for all files, or once per file "
                        "(run.h5 run.h5 --epoch 0 --epoch -1: first vs last).",
        show_default=False)] = None,
    snapshot: Annotated[str, typer.Option(
        "--snapshot", help="For curves files: which CSM snapshot stack (snapshots/NAME), "
                           "e.g. ncsm or ccsm.")] = "ncsm",
    scale: Annotated[Scale, typer.Option(
        "--scale", help="Colour scale: shared (one range over every panel's off-diagonal values, "
                        "one colour bar), panel (each panel its own range and colour bar), minmax "
                        "(each panel's off-diagonal normalised to [0, 1], as SAI compares them; one "
                        "colour bar), or auto (shared when every file holds the same measure over "
                        "comparable ranges, each at least half the widest; else panel).")] = "auto",
    label: LabelOpt = None,
    size: SizeOpt = None,
    dpi: DpiOpt = 150,
    title: TitleOpt = None,
    force: ForceOpt = False,
) -> None:
    """Heatmap of class similarity matrices (NCSM, CCSM, WordNet, …) with class labels.

    The diagonal (self-similarity) is grey and left out of the colour scale. Class labels
    are shown up to 60 classes.
    """
    from semtool.report import plots

    out = plots.plot_csm([str(f) for f in files], output, order=order, epoch=epoch, snapshot=snapshot, scale=scale,
                         labels=label, size=plots.parse_size(size), dpi=dpi, title=title, force=force)
    wrote(out, f"{len(files)} CSM{'s' if len(files) > 1 else ''}")


@plot_app.command("curves")
@guarded
def curves(
    files: Annotated[list[Path], _files("One or more curves files (from train --curves or sai -o).")],
    output: FigureOpt,
    series: Annotated[Optional[list[str]], typer.Option(
        "--series", help="One panel of the series matching this path, folder or glob, e.g. "
                         "'accuracy/eval', 'sai' (everything under sai/), 'wsi/m?x' (repeat "
                         "for more panels; default: accuracy, SAI, IDM and WSI panels, "
                         "whichever exist).",
        show_default=False)] = None,
    label: LabelOpt = None,
    size: SizeOpt = None,
    dpi: DpiOpt = 150,
    title: TitleOpt = None,
    force: ForceOpt = False,
) -> None:
    """SAI, IDM, WSI and accuracy over epochs, one line per run.

    With several runs the colour names the run and the dash names the series.
    """
    from semtool.report import plots

    out = plots.plot_curves([str(f) for f in files], output, series=series, labels=label,
                            size=plots.parse_size(size), dpi=dpi, title=title, force=force)
    wrote(out, f"{len(files)} run{'s' if len(files) > 1 else ''}")


@plot_app.command("attack")
@guarded
def attack(
    files: Annotated[list[Path], _files("predictions files of attack sweeps (with an ε axis), one per model.")],
    output: FigureOpt,
    label: LabelOpt = None,
    size: SizeOpt = None,
    dpi: DpiOpt = 150,
    title: TitleOpt = None,
    force: ForceOpt = False,
) -> None:
    """Where mistakes go under L2 PGD, against ε, one line per model (Abreu et al. 2023).

    Panels: semantic-superclass accuracy of the mistakes, share of mistakes inside the
    visual superclass, fine accuracy, superclass accuracy (those the files' groups allow).
    Dashed grey: what mistakes spread uniformly over the other classes would give.
    """
    from semtool.report import plots

    out = plots.plot_attack([str(f) for f in files], output, labels=label, size=plots.parse_size(size),
                            dpi=dpi, title=title, force=force)
    wrote(out, f"{len(files)} model{'s' if len(files) > 1 else ''}")


@plot_app.command("rsm")
@guarded
def rsm(
    files: Annotated[list[Path], _files("One or more rsm files, drawn side by side.")],
    output: FigureOpt,
    label: LabelOpt = None,
    size: SizeOpt = None,
    dpi: DpiOpt = 150,
    title: TitleOpt = None,
    force: ForceOpt = False,
) -> None:
    """Heatmap of a representational similarity matrix, samples sorted by label.

    Lines separate the labels; each panel has its own colour bar (kernels differ in range).
    """
    from semtool.report import plots

    out = plots.plot_rsm([str(f) for f in files], output, labels=label, size=plots.parse_size(size),
                         dpi=dpi, title=title, force=force)
    wrote(out)


@plot_app.command("twovtwo")
@guarded
def twovtwo(
    files: Annotated[list[Path], _files("One or more twovtwo files (per layer: twovtwo --layers all).")],
    output: FigureOpt,
    label: LabelOpt = None,
    size: SizeOpt = None,
    dpi: DpiOpt = 150,
    title: TitleOpt = None,
    force: ForceOpt = False,
) -> None:
    """2 vs 2 accuracy per layer with the permutation null's 95th percentile (dashed).

    Filled markers: p < 0.05; hollow: not significant; dotted: chance (0.5).
    """
    from semtool.report import plots

    out = plots.plot_twovtwo([str(f) for f in files], output, labels=label, size=plots.parse_size(size),
                             dpi=dpi, title=title, force=force)
    wrote(out)


def register(app: typer.Typer) -> None:
    app.add_typer(plot_app, name="plot")
