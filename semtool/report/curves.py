"""``semtool plot curves``: SAI, IDM, WSI and accuracy over epochs (Filus et al.), one line per run."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool.errors import UserError
from semtool.kinds import Curves
from semtool.report import _layout as layout
from semtool.report import _style
from semtool.report._layout import Run

# Curve panels by series prefix: (title, y-axis label).
_CURVE_PANELS = {
    "accuracy": ("Accuracy", "accuracy (fraction correct)"),
    "sai": ("SAI: similarity alignment index", "SAI (cosine: 1 = aligned)"),
    "idm": ("IDM: inverse dissimilarity metric", "IDM (higher: milder mistakes)"),
    "idm_errors": ("IDM over mistakes only", "IDM (higher: milder mistakes)"),
    "wsi": ("WSI: weight similarity indices", "cosine similarity of class weights"),
    "loss": ("Training loss", "loss (cross-entropy, nats)"),
    "lr": ("Learning rate", "learning rate"),
}
DEFAULT_CURVE_PANELS = ("accuracy", "sai", "idm", "idm_errors", "wsi")


def load_curves(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, np.ndarray], str | None]:
    """A ``curves`` file: (epochs (E,), {series path: (E,)}, its ``label`` attribute)."""
    c = Curves.read(path, snapshots=False).require_series()
    return c.epochs, c.series, c.label


def curve_panels(runs: Sequence[Run], patterns: Sequence[str] | None) -> list[tuple[str, list[str]]]:
    """Panels as (pattern, matching series names in first-seen order).

    Without ``patterns`` the defaults (accuracy, SAI, IDM, WSI) that match anything; with
    them, each pattern is one panel and must match something. A pattern is a shell glob on
    the series path (``sai/*``, ``wsi/m?x``) or, without glob characters, a path or folder
    (``accuracy/eval``; ``sai`` = ``sai`` and everything under ``sai/``).
    """

    def matches(key: str, pat: str) -> bool:
        if any(ch in pat for ch in "*?["):
            return fnmatch.fnmatchcase(key, pat)
        return key == pat or key.startswith(pat.rstrip("/") + "/")

    available: list[str] = []
    for r in runs:
        for k in r.series:
            if k not in available:
                available.append(k)
    panels, absent = [], []
    for pat in (patterns or DEFAULT_CURVE_PANELS):
        hit = [k for k in available if matches(k, pat)]
        if hit:
            panels.append((pat, hit))
        elif patterns:
            raise UserError(f"--series '{pat}': no series matches (available: {', '.join(available)})")
        else:
            absent.append(_CURVE_PANELS[pat][0].split(":")[0])
    if not panels:
        raise UserError(f"no accuracy, SAI, IDM or WSI series in the curves (available: {', '.join(available)}); "
                        "choose some with --series")
    missing = [f"{r.label}: {k}" for r in runs for _, names in panels for k in names if k not in r.series]
    if absent or missing:
        from semtool import _runtime

        said = ([f"no {', '.join(absent)} series, so no panel for them (train measures eval accuracy, CCSM and "
                 "IDM only with --eval, SAI only with --track-against)"] if absent else []) + \
            ([f"runs without a series the others have, not drawn: {'; '.join(missing)}"] if missing else [])
        _runtime.log("note: " + "; ".join(said))
    return panels


def _panel_text(pattern: str, series: Sequence[str]) -> tuple[str, str]:
    prefix = series[0].split("/")[0] if series else pattern.split("/")[0]
    if all(s.split("/")[0] == prefix for s in series) and prefix in _CURVE_PANELS:
        title, ylabel = _CURVE_PANELS[prefix]
        if len(series) == 1 and "/" in series[0]:  # name the one series: two SAI panels differ
            title = f"{title}: {series[0].split('/', 1)[1]}"
        return title, ylabel
    return (series[0] if len(series) == 1 else pattern, "value")  # one series: no legend, so name it


def _short(name: str, series: Sequence[str]) -> str:
    """A series name for a panel's legend: without the top-level prefix the panel shares."""
    head = name.split("/", 1)
    if len(head) == 2 and all(s.split("/", 1)[0] == head[0] for s in series):
        return head[1]
    return name




def curves_figure(runs: Sequence[Run], *, patterns: Sequence[str] | None = None,
                  size: tuple[float, float] | None = None, title: str | None = None) -> Any:
    """SAI / IDM / WSI / accuracy over epochs: one panel per series group, one colour per run.

    With one run every series gets its own colour and marker; with several, the colour names
    the run (one legend for the figure) and the marker and dash name the series (a legend per
    panel), so that a one-epoch run (a single point, no dash to see) stays readable beside
    a long one.
    """
    panels = curve_panels(runs, patterns)
    rows, cols = layout.grid(len(panels))
    multi = len(runs) > 1
    from matplotlib.lines import Line2D

    def series_label(s: str, names: Sequence[str]) -> str:
        return layout.legend_label(_short(s, names))

    # Legends sit right of their panels: widen each column by the longest legend line.
    room = layout.legend_width([series_label(s, names) for _, names in panels if len(names) > 1 for s in names])
    with layout.style_context():
        fig = layout.new_figure(((5.2 + room) * cols, 3.3 * rows + (0.4 if multi else 0)), size)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        for ax, (pat, names) in zip(axes, panels):
            ptitle, ylabel = _panel_text(pat, names)
            for j, s in enumerate(names):
                for i, r in enumerate(runs):
                    if s not in r.series:
                        continue
                    st = _style.run_style(i if multi else j)
                    if multi:
                        st["linestyle"] = _style.LINESTYLES[j % len(_style.LINESTYLES)]
                        st["marker"] = _style.MARKERS[j % len(_style.MARKERS)]
                    layout.plot_series(ax, r.x, r.series[s], label=None if multi else series_label(s, names), **st)
            ax.set_title(ptitle)
            ax.set_xlabel("epoch")
            ax.set_ylabel(ylabel)
            if all(np.allclose(r.x[np.isfinite(r.x)], np.round(r.x[np.isfinite(r.x)])) for r in runs):
                from matplotlib.ticker import MaxNLocator

                # no ticks at epoch 1.5; min_n_ticks=1: a one-epoch run gets its one integer tick
                ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            ax.grid(True)
            if multi and len(names) > 1:
                handles = [Line2D([], [], color="0.2", linestyle=_style.LINESTYLES[j % len(_style.LINESTYLES)],
                                  marker=_style.MARKERS[j % len(_style.MARKERS)], label=series_label(s, names))
                           for j, s in enumerate(names)]
                layout.legend_outside(ax, handles=handles)
            elif not multi and len(names) > 1:
                layout.legend_outside(ax)
        if multi:  # runs by colour alone: markers name the series here
            handles = [Line2D([], [], color=_style.run_style(i)["color"], label=layout.legend_label(r.label))
                       for i, r in enumerate(runs)]
            layout.figure_legend(fig, handles, f"outside {'lower' if title else 'upper'} center", 4)
        if title:
            layout.suptitle(fig, title)
        layout.fit_titles_and_labels(fig, axes)
    return fig


def plot_curves(files: Sequence[str | os.PathLike], output: str | os.PathLike, *,
                series: Sequence[str] | None = None, labels: Sequence[str] | None = None,
                size: tuple[float, float] | None = None, dpi: int = layout.DEFAULT_DPI, title: str | None = None,
                force: bool = False) -> Path:
    """``semtool plot curves``: training curves of one or several runs, written to ``output``."""
    return layout.draw_files(files, output, load_curves, lambda loaded: loaded[2],
                        lambda loaded, names: curves_figure([Run(label=n, x=e, series=s) for n, (e, s, _) in
                                                             zip(names, loaded)], patterns=series, size=size,
                                                            title=title),
                        labels=labels, dpi=dpi, force=force)
