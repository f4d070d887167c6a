"""Layout shared by every figure: output files, sizes, fitting titles, labels and legends.

Constrained layout leaves a title's width out of its sums, so a long title would run over
its neighbour or off the figure's edge; the fitting here wraps (and if need be shrinks)
titles and axis labels until each lies within its box. What to fit is kept in a
:class:`Fitting` carried by the figure (:func:`new_figure` makes one), so that
:func:`save_figure` fits again at the resolution it draws at. No attribute is set on
matplotlib's own objects and none of its private ones is read.

matplotlib is imported inside the functions that need them; figures are drawn on
matplotlib's Agg canvas without pyplot, so no global backend state is touched.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError
from semtool.report import _style

#: Figure formats by file extension.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
DEFAULT_DPI = 150

# Breaking long names: after these characters (layer paths, file stems, series paths).
_BREAK_AFTER = "._/-"
_TITLE_ROOM = 0.96  # share of its box a title may fill (text measures a little differently per backend)
_LEGEND_CHARS = 32  # legend labels wrap past this many characters
TICK_CHARS = 20  # layer names on a tick axis wrap past this many characters
#: Smallest font (points) a title shrinks to when wrapping alone cannot make it fit.
MIN_TITLE_FONTSIZE = 6.5


# ============================================================================ output

def figure_format(path: str | os.PathLike) -> str:
    """'png', 'svg' or 'pdf' from the output's extension; a UserError otherwise."""
    if str(path) == "-":
        raise UserError("-o -: figures are written to a file (.png, .svg or .pdf), not stdout")
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise UserError(f"{path}: unknown figure extension '{ext or '(none)'}'; use .png, .svg or .pdf")
    return FORMATS[ext]


def check_figure_output(path: str | os.PathLike, *, force: bool = False) -> str:
    """Refuse a bad output early (extension, existing file, missing folder); the format."""
    fmt = figure_format(path)
    store.check_output(path, force=force)
    return fmt


def save_figure(fig: Any, path: str | os.PathLike, *, force: bool = False, dpi: int = DEFAULT_DPI) -> Path:
    """Write ``fig`` atomically: a temporary file in the target folder, then a rename."""
    fmt = check_figure_output(path, force=force)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fitting = getattr(fig, "fitting", None)
    if fitting is not None and fitting.titles:  # re-fit titles at the resolution they are drawn at
        fig.set_dpi(dpi)
        with style_context():
            fitting.refit(fig)
    target = Path(path)
    with store.atomic_path(target, force=force) as tmp, style_context():  # fonts apply when saving
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return target


def parse_size(text: str | None, option: str = "--size") -> tuple[float, float] | None:
    """'8x6' -> (8.0, 6.0) inches; None stays None (the figure picks its own size)."""
    if text is None:
        return None
    parts = text.lower().replace("×", "x").split("x")
    try:
        w, h = (float(p) for p in parts)
    except ValueError:
        raise UserError(f"{option}: expected WIDTHxHEIGHT in inches, e.g. 8x6; got '{text}'") from None
    if not (0 < w <= 100 and 0 < h <= 100):
        raise UserError(f"{option}: width and height must lie in (0, 100] inches; got '{text}'")
    return w, h


def run_labels(files: Sequence[str | os.PathLike], labels: Sequence[str] | None,
               attrs: Sequence[str | None] | None = None) -> list[str]:
    """Legend names: ``--label`` values, else each file's ``label`` attribute, else its stem.

    Stems that collide (``a/run.h5``, ``b/run.h5``) fall back to the paths as given.
    """
    if labels:
        if len(labels) != len(files):
            raise UserError(f"--label: given {len(labels)} times for {len(files)} files; "
                            "give one per file or none")
        return [str(x) for x in labels]
    out = []
    for i, f in enumerate(files):
        a = attrs[i] if attrs else None
        out.append(str(a) if a else Path(str(f)).stem)
    stems = [Path(str(f)).stem for f in files]
    if len(set(out)) < len(out) and len(set(map(str, files))) == len(files):
        out = [o if stems.count(o) < 2 else str(f) for o, f in zip(out, files)]
    return out


def draw_files(files: Sequence[str | os.PathLike], output: str | os.PathLike, load: Callable[[Any], Any],
               label_of: Callable[[Any], str | None], draw: Callable[[list[Any], list[str]], Any], *,
               labels: Sequence[str] | None, dpi: int, force: bool) -> Path:
    """What every ``plot_*`` does: check the output, ``load`` each file, name the runs, ``draw``, save."""
    check_figure_output(output, force=force)
    loaded = [load(f) for f in files]
    names = run_labels(files, labels, [label_of(x) for x in loaded])
    return save_figure(draw(loaded, names), output, force=force, dpi=dpi)


# ======================================================================= figures

@dataclass
class Fitting:
    """What a figure's layout fits, kept so that :func:`save_figure` can fit it again.

    ``titles`` pairs each title (a Text: an axes title, the suptitle) with a callable
    giving the display-space box it must fit in; ``label_axes`` are the axes whose labels
    wrap; ``sources`` keeps each text as written, before any wrapping.
    """

    titles: list[tuple[Any, Callable[[], Any]]] = field(default_factory=list)
    label_axes: list[Any] = field(default_factory=list)
    sources: dict[Any, str] = field(default_factory=dict)
    suptitle: Any = None

    def source(self, text: Any) -> str:
        """``text``'s string as first seen (wrapping rewrites what the Text holds)."""
        return self.sources.setdefault(text, text.get_text())

    def refit(self, fig: Any) -> None:
        """Titles, then (if any) axis labels, which move the panels, then the titles again."""
        fit_titles(fig, self.titles)
        if self.label_axes:
            fit_axis_labels(fig, self.label_axes)
            fit_titles(fig, self.titles)


@functools.cache
def _figure_class() -> type:
    from matplotlib.figure import Figure

    class FittedFigure(Figure):
        """A matplotlib Figure carrying its :class:`Fitting`."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.fitting = Fitting()

    return FittedFigure


def new_figure(size: tuple[float, float], override: tuple[float, float] | None = None) -> Any:
    """A constrained-layout figure of ``override`` or else ``size`` inches, with its :class:`Fitting`."""
    fig = _figure_class()(figsize=override or size, layout="constrained")
    fig.get_layout_engine().set(w_pad=0.08, h_pad=0.08)  # inches; a little air at the edges
    return fig


def suptitle(fig: Any, text: str) -> Any:
    """Set the figure's title and remember it for fitting."""
    fig.fitting.suptitle = fig.suptitle(text)
    return fig.fitting.suptitle


@contextlib.contextmanager
def style_context():
    import matplotlib

    with matplotlib.rc_context(_style.RC):
        yield


def wrap_text(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters where it can be.

    Existing line breaks are kept; lines break at spaces, and a word longer than
    ``width`` (a layer path, a file stem) after one of ``. _ / -``, else anywhere.
    """
    width = max(int(width), 4)
    out: list[str] = []
    for line in text.split("\n"):
        pieces: list[tuple[str, str]] = []  # (glue before it, piece)
        for word in line.split(" "):
            glue = " "
            while len(word) > width:
                cut = max(word.rfind(ch, 0, width) for ch in _BREAK_AFTER) + 1
                cut = cut if cut >= width // 3 else width
                pieces.append((glue, word[:cut]))
                word, glue = word[cut:], ""
            pieces.append((glue, word))
        cur = ""
        for glue, piece in pieces:
            if cur and len(cur) + len(glue) + len(piece) > width:
                out.append(cur)
                cur = piece
            else:
                cur = cur + glue + piece if cur else piece
        out.append(cur)
    return "\n".join(out)


def fit_titles(fig: Any, texts: Sequence[tuple[Any, Callable[[], Any]]], *, rounds: int = 4) -> None:
    """Re-wrap (and if need be shrink) titles until each lies within its box.

    ``texts`` pairs a Text (an axes title, the suptitle) with a callable returning the
    box it must fit in (a display-space Bbox after layout: its grid cell, or the figure).
    The texts as first written are kept in ``fig.fitting`` (when the figure has one).
    """
    fitting = getattr(fig, "fitting", None) or Fitting()
    source = {t: fitting.source(t) for t, _ in texts}
    width = {t: max(map(len, t.get_text().split("\n"))) for t, _ in texts}
    for _ in range(rounds):
        fig.draw_without_rendering()
        done = True
        for t, box in texts:
            if not t.get_text():
                continue
            have = t.get_window_extent().width
            room = box().width * _TITLE_ROOM
            if have <= room:
                continue
            done = False
            ratio = room / have
            new = int(width[t] * ratio)
            if new >= 24 or t.get_fontsize() <= MIN_TITLE_FONTSIZE:  # wrap while lines stay long
                width[t] = max(new, 8)
                t.set_text(wrap_text(source[t], width[t]))
            else:  # a narrow panel: a smaller font first, then wrap again
                t.set_fontsize(max(MIN_TITLE_FONTSIZE, t.get_fontsize() * max(ratio, 0.8)))
        if done:
            return
    fig.draw_without_rendering()


def _cell_box(ax: Any) -> Callable[[], Any]:
    """The widest span centred on ``ax`` inside its grid cell(s) (colour bar and labels included).

    Titles are centred on their axes; bounding them by the cell rather than the axes keeps
    them clear of neighbours without tying their width to an aspect-locked heatmap.
    """
    from matplotlib.transforms import Bbox

    def box():
        ss = ax.get_subplotspec()
        ncols = ss.get_gridspec().ncols
        w = ax.figure.bbox.width
        left, right = w * ss.colspan.start / ncols, w * ss.colspan.stop / ncols
        a = ax.get_window_extent()
        centre = (a.x0 + a.x1) / 2
        half = max(min(centre - left, right - centre), 0.0)
        return Bbox([[centre - half, a.y0], [centre + half, a.y1]])

    return box


def _figure_box(fig: Any, pad: float = 0.1) -> Callable[[], Any]:
    """The figure less ``pad`` inches at each side."""
    from matplotlib.transforms import Bbox

    def box():
        w, h = fig.bbox.width, fig.bbox.height
        p = pad * fig.dpi
        return Bbox([[p, p], [w - p, h - p]])

    return box


def fit_all_titles(fig: Any, axes: Sequence[Any]) -> None:
    """Fit each visible axes' title to its grid cell and the suptitle to the figure."""
    texts = [(ax.title, _cell_box(ax)) for ax in axes if ax.get_visible() and ax.get_title()]
    if fig.fitting.suptitle is not None:
        texts.append((fig.fitting.suptitle, _figure_box(fig)))
    fig.fitting.titles = texts
    fit_titles(fig, texts)


def fit_axis_labels(fig: Any, axes: Sequence[Any], *, rounds: int = 3) -> None:
    """Wrap axis labels longer than their axes (an x label wider, a y label taller): short panels, long labels.

    Call it after the titles are fitted: their line count sets how tall the panels end up.
    """
    fitting = fig.fitting
    for _ in range(rounds):  # a wrapped y label narrows its panel, a wrapped x label shortens it
        fig.draw_without_rendering()
        changed = False
        for ax in axes:
            if not ax.get_visible():
                continue
            frame = ax.get_window_extent()
            for label, room, extent in ((ax.yaxis.label, frame.height, lambda b: b.height),
                                        (ax.xaxis.label, frame.width, lambda b: b.width)):
                text = fitting.source(label)
                have = extent(label.get_window_extent())
                width = max(map(len, label.get_text().split("\n")))
                if text and have > room and width > 12:
                    label.set_text(wrap_text(text, max(int(width * room / have), 12)))
                    changed = True
        if not changed:
            break
    fitting.label_axes = list(axes)


def fit_titles_and_labels(fig: Any, axes: Sequence[Any]) -> None:
    """Fit titles, then axis labels (which move the panels), then the titles again."""
    fit_all_titles(fig, axes)
    fit_axis_labels(fig, axes)
    fit_titles(fig, fig.fitting.titles)


def legend_outside(ax: Any, **kw: Any) -> Any:
    """A legend right of ``ax``, top-aligned, so it hides no data (constrained layout makes room)."""
    n = len(kw.get("handles") or ax.get_legend_handles_labels()[0])
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     ncols=max(1, math.ceil(n / 14)), **kw)


def legend_label(text: str) -> str:
    """A legend entry wrapped past ``_LEGEND_CHARS`` characters (run names, series paths)."""
    return wrap_text(text, _LEGEND_CHARS)


def legend_width(labels: Sequence[str]) -> float:
    """Inches one legend column takes at the legend font: handle, padding and its longest line."""
    lines = [line for s in labels for line in s.split("\n")]
    return min(0.5 + 0.062 * max(map(len, lines)), 2.6) if lines else 0.0


def figure_legend(fig: Any, handles: Sequence[Any], loc: str, most: int) -> Any:
    """A legend below (or above) the panels with as many columns (up to ``most``) as the figure fits."""
    fit = int(fig.get_figwidth() // max(legend_width([h.get_label() for h in handles]), 0.1))
    return fig.legend(handles=handles, loc=loc, ncols=max(1, min(len(handles), most, fit)))


def run_handles(runs: Sequence[Run]) -> list[Any]:
    """Legend entries naming each run in its colour, dash and marker."""
    from matplotlib.lines import Line2D

    return [Line2D([], [], **_style.run_style(i), label=legend_label(r.label)) for i, r in enumerate(runs)]


def untangle_xticks(fig: Any, axes: Sequence[Any]) -> None:
    """Turn x tick labels upright (90°) on each axes where, as laid out, neighbours overlap."""
    fig.draw_without_rendering()
    for ax in axes:
        boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        if any(a.overlaps(b) for a, b in zip(boxes, boxes[1:])):
            ax.tick_params(axis="x", labelrotation=90)
            for t in ax.get_xticklabels():
                t.set_horizontalalignment("center")


def draw_boundaries(ax: Any, starts: Sequence[int], n: int, colour: str = "white") -> None:
    """Lines between blocks of a heatmap (groups, labels) starting at ``starts``."""
    lw = 1.2 if n <= 40 else 0.7
    for b in starts:
        if 0 < b < n:
            ax.axhline(b - 0.5, color=colour, linewidth=lw)
            ax.axvline(b - 0.5, color=colour, linewidth=lw)


def heatmap_cmap() -> Any:
    """The heatmap colour map, masked cells (diagonal, NaN) in the missing colour."""
    import matplotlib

    return matplotlib.colormaps[_style.HEATMAP_CMAP].with_extremes(bad=_style.MISSING_COLOUR)


def grid(n: int) -> tuple[int, int]:
    """(rows, columns) for ``n`` panels: one column for one panel, else two."""
    cols = 1 if n == 1 else 2
    return math.ceil(n / cols), cols


@dataclass
class Run:
    """One run's series over an x axis (epochs or ε): a line per series in the curves and attack figures."""

    label: str
    x: np.ndarray
    series: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def plot_series(ax: Any, x: np.ndarray, y: np.ndarray, **kw: Any) -> None:
    """A line of the finite points of ``y`` over ``x``; about ten markers however long."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return
    n = int(ok.sum())
    if n > 12 and kw.get("marker"):
        kw = {**kw, "markevery": max(1, n // 10)}  # markers name runs in greyscale; ~10 suffice
    ax.plot(x[ok], y[ok], **kw)
