"""Figures of semtool files: CSM heatmaps, training curves, attack sweeps, RSMs, 2 vs 2.

The names of every figure family in one place. Each ``plot_*`` function reads semtool
files, draws one figure and writes it atomically (a temporary file in the target folder,
renamed into place); the format follows the extension (``.png``, ``.svg``, ``.pdf``).
One module per figure (:mod:`~semtool.report.csm`, :mod:`~semtool.report.curves`,
:mod:`~semtool.report.attack`, :mod:`~semtool.report.rsm`, :mod:`~semtool.report.twovtwo`);
the layout they share (sizes, fitting titles and labels, legends, saving) lives in
:mod:`~semtool.report._layout`, the array helpers (colour scales, class orders) in
:mod:`~semtool.report._arrays`.

matplotlib (and SciPy for clustering) are imported inside the functions that need them;
figures are drawn on matplotlib's Agg canvas without pyplot, so no global backend state is
touched and no display is needed. Colours are colour-blind-safe (see ``_style``).
"""

from semtool.report._arrays import cluster_order, group_order, match_classes, minmax_offdiag, offdiag_limits
from semtool.report._layout import (
    DEFAULT_DPI,
    FORMATS,
    MIN_TITLE_FONTSIZE,
    Fitting,
    Run,
    check_figure_output,
    figure_format,
    fit_titles,
    parse_size,
    run_labels,
    save_figure,
    wrap_text,
)
from semtool.report.attack import ATTACK_PANELS, attack_figure, load_attack, plot_attack
from semtool.report.csm import CSM_ORDERS, CSM_SCALES, CSMPanel, csm_figure, csm_order, load_csm, plot_csm
from semtool.report.curves import DEFAULT_CURVE_PANELS, curve_panels, curves_figure, load_curves, plot_curves
from semtool.report.rsm import load_rsm, plot_rsm, rsm_figure
from semtool.report.twovtwo import load_twovtwo, null_threshold, plot_twovtwo, twovtwo_figure

__all__ = [
    "ATTACK_PANELS", "CSM_ORDERS", "CSM_SCALES", "DEFAULT_CURVE_PANELS", "DEFAULT_DPI", "FORMATS",
    "MIN_TITLE_FONTSIZE", "CSMPanel", "Fitting", "Run", "attack_figure", "check_figure_output",
    "cluster_order", "csm_figure", "csm_order", "curve_panels", "curves_figure", "figure_format",
    "fit_titles", "group_order", "load_attack", "load_csm", "load_curves", "load_rsm", "load_twovtwo",
    "match_classes", "minmax_offdiag", "null_threshold", "offdiag_limits", "parse_size", "plot_attack",
    "plot_csm", "plot_curves", "plot_rsm", "plot_twovtwo", "rsm_figure", "run_labels", "save_figure",
    "twovtwo_figure", "wrap_text",
]
