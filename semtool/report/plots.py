"""Figures of semtool files: CSM heatmaps, training curves, attack sweeps, RSMs, 2 vs 2.

Each ``plot_*`` function reads semtool files, draws one figure and writes it atomically
(a temporary file in the target folder, renamed into place); the format follows the
extension (``.png``, ``.svg``, ``.pdf``). The helpers they share (ordering classes, a shared
colour scale, matching classes by name) are plain functions on arrays, tested on their own.

matplotlib (and SciPy for clustering) are imported inside the functions that need them;
figures are drawn on matplotlib's Agg canvas without pyplot, so no global backend state is
touched and no display is needed. Colours are colour-blind-safe (see ``_style``).
"""

from __future__ import annotations

import contextlib
import fnmatch
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError
from semtool.report import _style

#: Figure formats by file extension.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Class orders for ``plot csm``: auto = groups when the file has them, else cluster.
CSM_ORDERS = ("auto", "groups", "cluster", "none")
#: Colour scales for several CSMs side by side: auto = shared when every panel holds the
#: same measure, else minmax (raw cosines and confusion rates share no meaningful range).
CSM_SCALES = ("auto", "shared", "minmax")
DEFAULT_DPI = 150

# What each CSM source is, for titles and colour-bar labels: (title, value label).
_CSM_SOURCES = {
    "ncsm": ("NCSM: cosine of class weight vectors", "cosine similarity"),
    "ccsm": ("CCSM: confusion matrix, rows normalised", "confusion rate (row sums to 1)"),
    "tncsm": ("TNCSM: cosine of class-mean features", "cosine similarity"),
    "wordnet": ("WordNet CSM", "WordNet similarity"),
    "groups": ("Group CSM: same semantic group", "same group (1) or not (0)"),
    "text": ("Text CSM: cosine of class-name embeddings", "cosine similarity"),
}
_WORDNET_MEASURES = {"path": "path similarity", "wup": "Wu–Palmer similarity",
                     "lch": "Leacock–Chodorow similarity"}

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

# Attack panels: (metric key, title, y-axis label).
_ATTACK_PANELS = (
    ("mistake_superclass_accuracy", "Superclass accuracy of mistakes (higher is better)",
     "share of mistakes in the true semantic group"),
    ("mistake_visual_share", "Mistakes inside the visual superclass (lower is better)",
     "share of mistakes in the true visual group"),
    ("accuracy", "Fine accuracy", "accuracy (fraction correct)"),
    ("superclass_accuracy", "Semantic-superclass accuracy", "superclass accuracy (fraction correct)"),
)
_EPS_LABEL = "L2 PGD budget ε (pixels in [0, 1])"

_RSM_KERNELS = {"inner": "inner product", "cosine": "cosine similarity", "rbf": "RBF similarity (median σ)"}


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
    if getattr(fig, "_semtool_titles", None):  # re-fit titles at the resolution they are drawn at
        fig.set_dpi(dpi)
        with _style_context():
            fit_titles(fig, fig._semtool_titles)
            if getattr(fig, "_semtool_label_axes", None):  # labels, then titles again: panels moved
                _fit_axis_labels(fig, fig._semtool_label_axes)
                fit_titles(fig, fig._semtool_titles)
    target = Path(path)
    with store.atomic_path(target, force=force) as tmp, _style_context():  # fonts apply when saving
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


def _new_figure(size: tuple[float, float], override: tuple[float, float] | None = None) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=override or size, layout="constrained")
    fig.get_layout_engine().set(w_pad=0.08, h_pad=0.08)  # inches; a little air at the edges
    return fig


@contextlib.contextmanager
def _style_context():
    import matplotlib

    with matplotlib.rc_context(_style.RC):
        yield


# Breaking long names: after these characters (layer paths, file stems, series paths).
_BREAK_AFTER = "._/-"
_TITLE_ROOM = 0.96  # share of its box a title may fill (text measures a little differently per backend)
_LEGEND_CHARS = 32  # legend labels wrap past this many characters
_TICK_CHARS = 20  # layer names on a tick axis wrap past this many characters
#: Smallest font (points) a title shrinks to when wrapping alone cannot make it fit.
MIN_TITLE_FONTSIZE = 6.5


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


def fit_titles(fig: Any, texts: Sequence[tuple[Any, Any]], *, rounds: int = 4) -> None:
    """Re-wrap (and if need be shrink) titles until each lies within its box.

    ``texts`` pairs a Text (an axes title, the suptitle) with a callable returning the
    box it must fit in (a display-space Bbox after layout: its grid cell, or the figure).
    Constrained layout leaves a title's width out of its sums, so a long title would
    otherwise run over its neighbour or off the figure's edge.
    """
    source = {id(t): getattr(t, "_semtool_source", t.get_text()) for t, _ in texts}
    for t, _ in texts:
        t._semtool_source = source[id(t)]
    width = {id(t): max(map(len, t.get_text().split("\n"))) for t, _ in texts}
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
            new = int(width[id(t)] * ratio)
            if new >= 24 or t.get_fontsize() <= MIN_TITLE_FONTSIZE:  # wrap while lines stay long
                width[id(t)] = max(new, 8)
                t.set_text(wrap_text(source[id(t)], width[id(t)]))
            else:  # a narrow panel: a smaller font first, then wrap again
                t.set_fontsize(max(MIN_TITLE_FONTSIZE, t.get_fontsize() * max(ratio, 0.8)))
        if done:
            return
    fig.draw_without_rendering()


def _cell_box(ax: Any) -> Any:
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


def _figure_box(fig: Any, pad: float = 0.1) -> Any:
    """The figure less ``pad`` inches at each side."""
    from matplotlib.transforms import Bbox

    def box():
        w, h = fig.bbox.width, fig.bbox.height
        p = pad * fig.dpi
        return Bbox([[p, p], [w - p, h - p]])

    return box


def _fit_all_titles(fig: Any, axes: Sequence[Any]) -> None:
    """Fit each visible axes' title to its grid cell and the suptitle to the figure."""
    texts = [(ax.title, _cell_box(ax)) for ax in axes if ax.get_visible() and ax.get_title()]
    if fig._suptitle is not None:
        texts.append((fig._suptitle, _figure_box(fig)))
    fig._semtool_titles = texts
    fit_titles(fig, texts)


def _legend_outside(ax: Any, **kw: Any) -> Any:
    """A legend right of ``ax``, top-aligned, so it hides no data (constrained layout makes room)."""
    n = len(kw.get("handles") or ax.get_legend_handles_labels()[0])
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     ncols=max(1, math.ceil(n / 14)), **kw)


def _legend_label(text: str) -> str:
    """A legend entry wrapped past ``_LEGEND_CHARS`` characters (run names, series paths)."""
    return wrap_text(text, _LEGEND_CHARS)


def _legend_width(labels: Sequence[str]) -> float:
    """Inches one legend column takes at the legend font: handle, padding and its longest line."""
    lines = [line for s in labels for line in s.split("\n")]
    return min(0.5 + 0.062 * max(map(len, lines)), 2.6) if lines else 0.0


def _figure_legend(fig: Any, handles: Sequence[Any], loc: str, most: int) -> Any:
    """A legend below (or above) the panels with as many columns (up to ``most``) as the figure fits."""
    fit = int(fig.get_figwidth() // max(_legend_width([h.get_label() for h in handles]), 0.1))
    return fig.legend(handles=handles, loc=loc, ncols=max(1, min(len(handles), most, fit)))


def _untangle_xticks(fig: Any, axes: Sequence[Any]) -> None:
    """Turn x tick labels upright (90°) on each axes where, as laid out, neighbours overlap."""
    fig.draw_without_rendering()
    for ax in axes:
        boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        if any(a.overlaps(b) for a, b in zip(boxes, boxes[1:])):
            ax.tick_params(axis="x", labelrotation=90)
            for t in ax.get_xticklabels():
                t.set_horizontalalignment("center")


def _fit_axis_labels(fig: Any, axes: Sequence[Any], *, rounds: int = 3) -> None:
    """Wrap axis labels longer than their axes (an x label wider, a y label taller): short panels, long labels.

    Call it after the titles are fitted: their line count sets how tall the panels end up.
    """
    for _ in range(rounds):  # a wrapped y label narrows its panel, a wrapped x label shortens it
        fig.draw_without_rendering()
        changed = False
        for ax in axes:
            if not ax.get_visible():
                continue
            frame = ax.get_window_extent()
            for label, room, extent in ((ax.yaxis.label, frame.height, lambda b: b.height),
                                        (ax.xaxis.label, frame.width, lambda b: b.width)):
                text = getattr(label, "_semtool_source", label.get_text())
                label._semtool_source = text
                have = extent(label.get_window_extent())
                width = max(map(len, label.get_text().split("\n")))
                if text and have > room and width > 12:
                    label.set_text(wrap_text(text, max(int(width * room / have), 12)))
                    changed = True
        if not changed:
            break
    fig._semtool_label_axes = list(axes)


def _fit_titles_and_labels(fig: Any, axes: Sequence[Any]) -> None:
    """Fit titles, then axis labels (which move the panels), then the titles again."""
    _fit_all_titles(fig, axes)
    _fit_axis_labels(fig, axes)
    fit_titles(fig, fig._semtool_titles)


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


def _attr(f: Any, name: str, default: str | None = None) -> str | None:
    v = f.attrs.get(name)
    if v is None:
        return default
    return v.decode() if isinstance(v, bytes) else str(v)


# ==================================================================== array helpers

def offdiag_limits(matrices: Sequence[np.ndarray]) -> tuple[float, float]:
    """One colour scale (vmin, vmax) for all matrices: the range of their finite off-diagonal values.

    The diagonal (self-similarity, 1 by construction) is left out, as every CSM comparison
    leaves it out, so that it does not wash out the structure. (0, 1) when nothing is finite.
    """
    vals = []
    for m in matrices:
        m = np.asarray(m, dtype=np.float64)
        off = m[~np.eye(m.shape[0], dtype=bool)] if m.ndim == 2 and m.shape[0] == m.shape[1] else m.ravel()
        off = off[np.isfinite(off)]
        if off.size:
            vals.append((off.min(), off.max()))
    if not vals:
        return 0.0, 1.0
    lo, hi = min(v[0] for v in vals), max(v[1] for v in vals)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    return float(lo), float(hi)


def minmax_offdiag(m: np.ndarray) -> np.ndarray:
    """Min–max normalise the off-diagonal values to [0, 1] (what SAI compares); diagonal NaN.

    A constant (or all-NaN) off-diagonal maps to 0.
    """
    m = np.asarray(m, dtype=np.float64).copy()
    np.fill_diagonal(m, np.nan)
    finite = m[np.isfinite(m)]
    if finite.size == 0 or finite.max() == finite.min():
        return np.where(np.isnan(m), np.nan, 0.0)
    return (m - finite.min()) / (finite.max() - finite.min())


def _boundaries(sorted_keys: np.ndarray) -> list[int]:
    """Positions where a sorted key changes (where a new group or label begins)."""
    return [int(i) for i in np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1]


def group_order(groups: Sequence[int]) -> tuple[np.ndarray, list[int]]:
    """Classes sorted by group (stable; group −1 last) and where each new group starts.

    Returns ``(order, starts)``: ``order`` (C,) indexes the classes; ``starts`` are the
    positions in ``order`` where a group begins (the first, 0, included).
    """
    g = np.asarray(groups, dtype=np.int64).reshape(-1)
    key = np.where(g < 0, np.iinfo(np.int64).max, g)
    order = np.argsort(key, kind="stable")
    return order, [0] + _boundaries(key[order])


def cluster_order(matrix: np.ndarray) -> np.ndarray:
    """Leaf order of average-linkage clustering on 1 − similarity: similar classes adjacent.

    The matrix is symmetrised ((S + Sᵀ)/2, a CCSM may be asymmetric), its off-diagonal
    values min–max normalised to [0, 1] and turned into distances 1 − s (NaN: distance 1);
    SciPy's ``linkage(method="average", optimal_ordering=True)`` then orders the leaves.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    s = np.asarray(matrix, dtype=np.float64)
    c = s.shape[0]
    if c < 3:
        return np.arange(c)
    s = (s + s.T) / 2.0
    n = minmax_offdiag(s)
    d = 1.0 - np.nan_to_num(n, nan=0.0)
    np.fill_diagonal(d, 0.0)
    z = linkage(squareform(d, checks=False), method="average", optimal_ordering=True)
    return leaves_list(z)


def match_classes(reference: Sequence[str], classes: Sequence[str], name: str) -> np.ndarray:
    """Indices into ``classes`` that put them in the order of ``reference`` (by name)."""
    from semtool.measure.align import align

    _, idx, _ = align(reference, classes, names=("the first file", name))
    return idx


# ========================================================================= CSM

@dataclass
class CSMPanel:
    """One CSM to draw: the matrix (C, C) and what it is."""

    matrix: np.ndarray
    classes: list[str]
    source: str | None = None
    measure: str | None = None
    groups: np.ndarray | None = None
    group_names: list[str] | None = None
    epoch: float | None = None
    label: str | None = None
    name: str = ""


def _pick(stack: Any, epochs: np.ndarray | None, epoch: int | None, name: str) -> tuple[np.ndarray, float | None]:
    """The ``epoch``-th matrix (an index; default the last) of an (E, C, C) stack."""
    e = stack.shape[0]
    i = -1 if epoch is None else epoch
    if not -e <= i < e:
        raise UserError(f"--epoch {epoch}: {name} holds {e} matrices "
                        f"(0 … {e - 1}, or negative counting from the last)")
    ep = float(epochs[i]) if epochs is not None and epochs.shape[0] == e else None
    return np.asarray(stack[i], dtype=np.float64), ep


def load_csm(path: str | os.PathLike, epoch: int | None = None, *, snapshot: str = "ncsm") -> CSMPanel:
    """One matrix of a ``csm`` file, or of a ``curves`` file's ``snapshots/<snapshot>`` stack.

    For a stack over epochs, ``epoch`` is an index (negative from the end; default last).
    """
    name = store.display_name(path)
    with store.open_file(path, ("csm", "curves")) as f:
        kind = _attr(f, "semtool_kind")
        key = f"snapshots/{snapshot}"
        if kind == "curves" and key not in f:
            have = sorted(f["snapshots"].keys()) if "snapshots" in f else []
            raise UserError(f"--snapshot {snapshot}: {name} has no '{key}' "
                            f"(it has: {', '.join(have) or 'no snapshots'})")
        if "classes" not in f:
            raise UserError(f"{name}: no 'classes' to label the matrix with")
        classes = store.read_strings(f["classes"])
        epochs = np.asarray(f["epochs"][...], dtype=np.float64).reshape(-1) if "epochs" in f else None
        source, measure = _attr(f, "source"), _attr(f, "measure")
        if kind == "curves":
            m, ep = _pick(f[key], epochs, epoch, name)
            source, measure = snapshot, {"ncsm": "cosine", "ccsm": "confusion"}.get(snapshot, measure)
        elif "matrices" in f:
            m, ep = _pick(f["matrices"], epochs, epoch, name)
        elif "matrix" in f:
            if epoch not in (None, 0, -1):
                raise UserError(f"--epoch {epoch}: {name} holds one matrix, not a stack over epochs")
            m, ep = np.asarray(f["matrix"][...], dtype=np.float64), None
        else:
            raise UserError(f"{name}: 'csm' file holds neither 'matrix' nor 'matrices'")
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(classes):
            raise UserError(f"{name}: matrix of shape {m.shape} does not match its {len(classes)} classes")
        groups = f["groups"][...].astype(np.int64) if "groups" in f else None
        gnames = store.read_strings(f["group_names"]) if "group_names" in f else None
        if groups is not None and groups.shape != (len(classes),):
            groups = None  # not per class: unusable for ordering
        return CSMPanel(matrix=m, classes=classes, source=source, measure=measure,
                        groups=groups, group_names=gnames, epoch=ep, label=_attr(f, "label"), name=name)


def _csm_titles(p: CSMPanel) -> tuple[str, str]:
    """(panel title naming the measure, colour-bar label) from the file's source/measure."""
    src = (p.source or "").lower()
    measure = p.measure or ""
    if src == "wordnet":
        kind = _WORDNET_MEASURES.get(measure, f"{measure} similarity".strip())
        return f"WordNet CSM: {kind}", f"WordNet {kind}"
    if src in _CSM_SOURCES:
        title, value = _CSM_SOURCES[src]
        if src != "groups" and measure and measure not in ("cosine", "confusion"):
            title += f" ({measure})"
        return title, value
    return (f"CSM ({p.source})" if p.source else "Class similarity matrix"), (measure or "similarity")


def _class_ticks(ax: Any, names: Sequence[str], axes: str = "xy") -> None:
    fs = _style.label_fontsize(len(names))
    if fs is None:
        ax.set_xticks([])
        ax.set_yticks([])
        return
    pos = np.arange(len(names))
    if "x" in axes:
        ax.set_xticks(pos, labels=names, rotation=90, fontsize=fs)
    if "y" in axes:
        ax.set_yticks(pos, labels=names, fontsize=fs)
    ax.tick_params(length=2, pad=1.5)


def _draw_boundaries(ax: Any, starts: Sequence[int], n: int, colour: str = "white") -> None:
    lw = 1.2 if n <= 40 else 0.7
    for b in starts:
        if 0 < b < n:
            ax.axhline(b - 0.5, color=colour, linewidth=lw)
            ax.axvline(b - 0.5, color=colour, linewidth=lw)


def _group_labels(ax: Any, starts: Sequence[int], n: int, names: Sequence[str], *, left: bool = True) -> None:
    """Group names centred on their blocks: above the heatmap, or (when the class labels
    are omitted, past 60 classes) as the left axis's labels, where they read horizontally."""
    if not names or len(names) > 30:
        return
    ends = list(starts[1:]) + [n]
    mids = [(s + e - 1) / 2 for s, e in zip(starts, ends)]
    if _style.label_fontsize(n) is None:
        if left:
            ax.set_yticks(mids, labels=list(names), fontsize=_style.label_fontsize(len(names)) or 6,
                          fontstyle="italic")
            ax.tick_params(axis="y", length=0)
        return
    top = ax.secondary_xaxis("top")
    top.set_xticks(mids, labels=list(names), rotation=35, ha="left", rotation_mode="anchor",
                   fontsize=max(5.0, (_style.label_fontsize(len(names) * 2) or 6) - 0.5), fontstyle="italic")
    top.tick_params(length=0, pad=2)
    top.spines["top"].set_visible(False)


def csm_order(panel: CSMPanel, order: str) -> tuple[np.ndarray, list[int], list[str] | None]:
    """The class order for ``order`` (auto|groups|cluster|none), group starts, group names."""
    if order not in CSM_ORDERS:
        raise UserError(f"--order: expected one of {', '.join(CSM_ORDERS)}; got '{order}'")
    c = len(panel.classes)
    if order == "auto":
        order = "groups" if panel.groups is not None else "cluster"
    if order == "groups":
        if panel.groups is None:
            raise UserError(f"--order groups: {panel.name} has no 'groups'; use --order cluster or none")
        idx, starts = group_order(panel.groups)
        g = panel.groups[idx]
        names = None
        if panel.group_names is not None:
            names = [panel.group_names[int(g[s])] if 0 <= g[s] < len(panel.group_names) else "(no group)"
                     for s in starts]
        return idx, starts, names
    if order == "cluster":
        return cluster_order(panel.matrix), [], None
    return np.arange(c), [], None


def csm_figure(panels: Sequence[CSMPanel], *, order: str = "auto", scale: str = "auto",
               labels: Sequence[str] | None = None, size: tuple[float, float] | None = None,
               title: str | None = None) -> Any:
    """Heatmaps of CSMs side by side: one class order (the first's), one colour scale.

    The diagonal is drawn grey and left out of the colour scale. ``scale='shared'`` spans
    all panels' off-diagonal values; ``'minmax'`` normalises each panel's off-diagonal to
    [0, 1] first (what SAI compares); ``'auto'`` is shared when every panel holds the same
    measure, else minmax. Either way one colour bar serves every panel.
    """
    if scale not in CSM_SCALES:
        raise UserError(f"--scale: expected one of {', '.join(CSM_SCALES)}; got '{scale}'")
    if scale == "auto":
        scale = "shared" if len({_csm_titles(p)[1] for p in panels}) == 1 else "minmax"
    first = panels[0]
    idx, starts, gnames = csm_order(first, order)
    names = [first.classes[i] for i in idx]
    mats = []
    for p in panels:
        m = p.matrix if p is first else p.matrix[np.ix_(*(2 * [match_classes(first.classes, p.classes, p.name)]))]
        m = m[np.ix_(idx, idx)]
        mats.append(minmax_offdiag(m) if scale == "minmax" else m)
    vmin, vmax = (0.0, 1.0) if scale == "minmax" else offdiag_limits(mats)
    c = len(names)
    side = float(np.clip(3.0 + 0.045 * c, 3.6, 7.5))
    n = len(panels)
    import matplotlib

    cmap = matplotlib.colormaps[_style.HEATMAP_CMAP].with_extremes(bad=_style.MISSING_COLOUR)
    with _style_context():
        top_labels = bool(gnames) and _style.label_fontsize(c) is not None
        fig = _new_figure((side * n + 1.2, side + 0.9 + (0.5 if top_labels else 0)), size)
        axes = fig.subplots(1, n, squeeze=False)[0]
        im = None
        values = set()
        for k, (ax, p, m) in enumerate(zip(axes, panels, mats)):
            shown = m.copy()
            np.fill_diagonal(shown, np.nan)
            im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=vmin, vmax=vmax,
                           interpolation="nearest", aspect="equal")
            _class_ticks(ax, names, "xy" if k == 0 else "x")
            if k:
                ax.set_yticks([])
            if _style.label_fontsize(c) is None:
                ax.set_xlabel(f"{c} classes (labels omitted)")
            if (p.source or "").lower() == "ccsm":  # rows: true class, columns: predicted
                omitted = _style.label_fontsize(c) is None
                ax.set_xlabel("predicted class" + (f" ({c}, labels omitted)" if omitted else ""))
                if k == 0:
                    ax.set_ylabel("true class")
            _draw_boundaries(ax, starts, c)
            if gnames:
                _group_labels(ax, starts, c, gnames, left=k == 0)
            for side_ in ("top", "right"):
                ax.spines[side_].set_visible(True)
            t, value = _csm_titles(p)
            values.add(value)
            who = labels[k] if labels else (p.label or Path(p.name).stem)
            sub = who + (f" · epoch {p.epoch:.4g}" if p.epoch is not None else "")
            ax.set_title(f"{t}\n{sub}", loc="center")
        if scale == "minmax":
            cb_label = "off-diagonal min–max normalised (as SAI compares)"
        else:
            cb_label = values.pop() if len(values) == 1 else "similarity"
        fig.colorbar(im, ax=list(axes), shrink=0.85 if n == 1 else 0.7, label=cb_label, pad=0.02)
        if title:
            fig.suptitle(title)
        _fit_all_titles(fig, axes)
    return fig


def plot_csm(files: Sequence[str | os.PathLike], output: str | os.PathLike, *, order: str = "auto",
             epoch: int | Sequence[int] | None = None, snapshot: str = "ncsm", scale: str = "auto",
             labels: Sequence[str] | None = None, size: tuple[float, float] | None = None,
             dpi: int = DEFAULT_DPI, title: str | None = None, force: bool = False) -> Path:
    """``semtool plot csm``: heatmaps of one or several CSMs, written to ``output``.

    ``epoch``: one index for every file, or one per file (``run.h5 run.h5`` with epochs
    ``[0, -1]`` shows the first and last snapshot of one run side by side).
    """
    check_figure_output(output, force=force)
    if epoch is None or isinstance(epoch, int):
        epochs: list[int | None] = [epoch] * len(files)
    elif len(epoch) in (0, 1):
        epochs = [epoch[0] if epoch else None] * len(files)
    elif len(epoch) == len(files):
        epochs = list(epoch)
    else:
        raise UserError(f"--epoch: given {len(epoch)} times for {len(files)} files; give one for all or one per file")
    panels = [load_csm(f, e, snapshot=snapshot) for f, e in zip(files, epochs)]
    names = run_labels(files, labels, [p.label for p in panels])
    fig = csm_figure(panels, order=order, scale=scale, labels=names, size=size, title=title)
    return save_figure(fig, output, force=force, dpi=dpi)


# ======================================================================= curves

@dataclass
class Run:
    """One run's series over an x axis (epochs or ε)."""

    label: str
    x: np.ndarray
    series: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def load_curves(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, np.ndarray], str | None]:
    """A ``curves`` file: (epochs (E,), {series path: (E,)}, its ``label`` attribute)."""
    import h5py

    name = store.display_name(path)
    with store.open_file(path, "curves") as f:
        epochs = np.asarray(f["epochs"][...], dtype=np.float64).reshape(-1)
        series: dict[str, np.ndarray] = {}

        def visit(key: str, obj: Any) -> None:
            if key.startswith(("provenance", "snapshots")) or key == "epochs":
                return
            if isinstance(obj, h5py.Dataset) and obj.ndim == 1 and obj.dtype.kind in "fiu":
                if obj.shape[0] == epochs.size:
                    series[key] = np.asarray(obj[...], dtype=np.float64)

        f.visititems(visit)
        if not series:
            raise UserError(f"{name}: 'curves' file holds no series over its {epochs.size} epochs")
        return epochs, series, _attr(f, "label")


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
    panels = []
    for pat in (patterns or DEFAULT_CURVE_PANELS):
        hit = [k for k in available if matches(k, pat)]
        if hit:
            panels.append((pat, hit))
        elif patterns:
            raise UserError(f"--series '{pat}': no series matches (available: {', '.join(available)})")
    if not panels:
        raise UserError(f"no accuracy, SAI, IDM or WSI series in the curves (available: {', '.join(available)}); "
                        "choose some with --series")
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


def _grid(n: int) -> tuple[int, int]:
    cols = 1 if n == 1 else 2
    return math.ceil(n / cols), cols


def _plot_series(ax: Any, x: np.ndarray, y: np.ndarray, **kw: Any) -> None:
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return
    n = int(ok.sum())
    if n > 12 and kw.get("marker"):
        kw = {**kw, "markevery": max(1, n // 10)}  # markers name runs in greyscale; ~10 suffice
    ax.plot(x[ok], y[ok], **kw)


def curves_figure(runs: Sequence[Run], *, patterns: Sequence[str] | None = None,
                  size: tuple[float, float] | None = None, title: str | None = None) -> Any:
    """SAI / IDM / WSI / accuracy over epochs: one panel per series group, one colour per run.

    With one run every series gets its own colour; with several, the colour names the run
    (one legend for the figure) and the dash names the series (a legend per panel).
    """
    panels = curve_panels(runs, patterns)
    rows, cols = _grid(len(panels))
    multi = len(runs) > 1
    from matplotlib.lines import Line2D

    def series_label(s: str, names: Sequence[str]) -> str:
        return _legend_label(_short(s, names))

    # Legends sit right of their panels: widen each column by the longest legend line.
    room = _legend_width([series_label(s, names) for _, names in panels if len(names) > 1 for s in names])
    with _style_context():
        fig = _new_figure(((5.2 + room) * cols, 3.3 * rows + (0.4 if multi else 0)), size)
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
                    _plot_series(ax, r.x, r.series[s], label=None if multi else series_label(s, names), **st)
            ax.set_title(ptitle)
            ax.set_xlabel("epoch")
            ax.set_ylabel(ylabel)
            if all(np.allclose(r.x[np.isfinite(r.x)], np.round(r.x[np.isfinite(r.x)])) for r in runs):
                from matplotlib.ticker import MaxNLocator

                ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no ticks at epoch 1.5
            ax.grid(True)
            if multi and len(names) > 1:
                handles = [Line2D([], [], color="0.2", linestyle=_style.LINESTYLES[j % len(_style.LINESTYLES)],
                                  label=series_label(s, names)) for j, s in enumerate(names)]
                _legend_outside(ax, handles=handles)
            elif not multi and len(names) > 1:
                _legend_outside(ax)
        if multi:
            handles = [Line2D([], [], **_style.run_style(i), label=_legend_label(r.label)) for i, r in enumerate(runs)]
            _figure_legend(fig, handles, f"outside {'lower' if title else 'upper'} center", 4)
        if title:
            fig.suptitle(title)
        _fit_titles_and_labels(fig, axes)
    return fig


def plot_curves(files: Sequence[str | os.PathLike], output: str | os.PathLike, *,
                series: Sequence[str] | None = None, labels: Sequence[str] | None = None,
                size: tuple[float, float] | None = None, dpi: int = DEFAULT_DPI, title: str | None = None,
                force: bool = False) -> Path:
    """``semtool plot curves``: training curves of one or several runs, written to ``output``."""
    check_figure_output(output, force=force)
    loaded = [load_curves(f) for f in files]
    names = run_labels(files, labels, [a for _, _, a in loaded])
    runs = [Run(label=n, x=e, series=s) for n, (e, s, _) in zip(names, loaded)]
    fig = curves_figure(runs, patterns=series, size=size, title=title)
    return save_figure(fig, output, force=force, dpi=dpi)


# ======================================================================= attack

def load_attack(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float], str | None]:
    """A ``predictions`` file with an ε axis: (ε (E,), attack metrics per ε, chance levels, label).

    The metrics come from :func:`semtool.measure.attack_metrics.attack_metrics`; chance
    levels (uniform mistakes) from :func:`~semtool.measure.attack_metrics.mistake_chance`.
    """
    from semtool.measure.attack_metrics import attack_metrics, mistake_chance

    name = store.display_name(path)
    with store.open_file(path, "predictions") as f:
        if "epsilons" not in f:
            raise UserError(f"{name}: no ε axis ('epsilons'); plot attack needs an attack sweep "
                            "(semtool attack --eps …), not clean predictions")
        eps = np.asarray(f["epsilons"][...], dtype=np.float64).reshape(-1)
        labels = f["labels"][...]
        if "predictions" in f:
            pred = f["predictions"][...]
        elif "logits" in f:
            pred = np.argmax(f["logits"][...], axis=-1)
        else:
            raise UserError(f"{name}: holds neither 'predictions' nor 'logits'")
        if pred.ndim != 2 or pred.shape[0] != eps.size:
            raise UserError(f"{name}: predictions of shape {pred.shape} do not follow its {eps.size} ε values")
        c = len(store.read_strings(f["classes"]))
        groups = f["groups"][...] if "groups" in f else None
        visual = f["visual_groups"][...] if "visual_groups" in f else None
        for key, g in (("groups", groups), ("visual_groups", visual)):
            if g is not None and g.shape != (c,):
                raise UserError(f"{name}: '{key}' of shape {g.shape}, expected one entry per class ({c})")
        if labels.size and (labels.min() < 0 or labels.max() >= c or pred.min() < 0 or pred.max() >= c):
            raise UserError(f"{name}: a label or prediction lies outside its {c} classes")
        metrics = attack_metrics(labels, pred, groups, visual)
        chance = {}
        if groups is not None:
            chance["mistake_superclass_accuracy"] = mistake_chance(labels, groups, c)
        if visual is not None:
            chance["mistake_visual_share"] = mistake_chance(labels, visual, c)
        return eps, metrics, chance, _attr(f, "label")


def attack_figure(runs: Sequence[Run], *, size: tuple[float, float] | None = None,
                  title: str | None = None) -> Any:
    """Seed 000's figures: where mistakes go under attack, against ε, one line per model.

    Panels (those some run can fill): superclass accuracy of the mistakes, share of
    mistakes inside the visual superclass, fine accuracy, superclass accuracy. Grey dashed
    lines mark what uniformly random mistakes would give.
    """
    panels = [p for p in _ATTACK_PANELS if any(np.isfinite(r.series[p[0]]).any() for r in runs)]
    if not panels:
        raise UserError("no measure can be drawn: every value is undefined")
    rows, cols = _grid(len(panels))
    from matplotlib.lines import Line2D

    with _style_context():
        fig = _new_figure((5.0 * cols, 3.4 * rows + 0.5), size)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        drew_chance = False
        ticks = sorted({float(e) for r in runs for e in r.x if np.isfinite(e)})
        for ax, (key, ptitle, ylabel) in zip(axes, panels):
            for i, r in enumerate(runs):
                _plot_series(ax, r.x, r.series[key], **_style.run_style(i))
            levels = sorted({round(r.extra.get(key, float("nan")), 6) for r in runs
                             if np.isfinite(r.extra.get(key, float("nan")))})
            for lv in levels:
                ax.axhline(lv, color=_style.REFERENCE_COLOUR, linestyle="--", linewidth=1.0, zorder=0)
                drew_chance = True
            ax.set_title(ptitle)
            ax.set_xlabel(_EPS_LABEL)
            ax.set_ylabel(ylabel)
            ax.set_ylim(-0.02, 1.02)
            if len(ticks) <= 10:
                ax.set_xticks(ticks, labels=[f"{t:g}" for t in ticks])
            ax.grid(True)
        handles = [Line2D([], [], **_style.run_style(i), label=_legend_label(r.label)) for i, r in enumerate(runs)]
        if drew_chance:
            handles.append(Line2D([], [], color=_style.REFERENCE_COLOUR, linestyle="--", linewidth=1.0,
                                  label=_legend_label("chance (mistakes uniform over the other classes)")))
        _figure_legend(fig, handles, "outside lower center", 3)
        fig.suptitle(title or "Mistake severity under L2 PGD attack (Abreu et al. 2023)")
        _untangle_xticks(fig, axes)
        _fit_titles_and_labels(fig, axes)
    return fig


def plot_attack(files: Sequence[str | os.PathLike], output: str | os.PathLike, *,
                labels: Sequence[str] | None = None, size: tuple[float, float] | None = None,
                dpi: int = DEFAULT_DPI, title: str | None = None, force: bool = False) -> Path:
    """``semtool plot attack``: seed 000's mistake-severity figure, written to ``output``."""
    check_figure_output(output, force=force)
    loaded = [load_attack(f) for f in files]
    names = run_labels(files, labels, [x[3] for x in loaded])
    runs = [Run(label=n, x=eps, series=m, extra=ch) for n, (eps, m, ch, _) in zip(names, loaded)]
    fig = attack_figure(runs, size=size, title=title)
    return save_figure(fig, output, force=force, dpi=dpi)


# ========================================================================== RSM

def load_rsm(path: str | os.PathLike) -> dict[str, Any]:
    """An ``rsm`` file: matrix (N, N), labels (N,), optional classes, and its attributes."""
    name = store.display_name(path)
    with store.open_file(path, "rsm") as f:
        m = np.asarray(f["matrix"][...], dtype=np.float64)
        labels = np.asarray(f["labels"][...]).reshape(-1).astype(np.int64)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != labels.size:
            raise UserError(f"{name}: matrix of shape {m.shape} does not match its {labels.size} labels")
        classes = store.read_strings(f["classes"]) if "classes" in f else None
        matcher = _attr(f, "matcher")
        semantic = f.attrs.get("semantic")
        if semantic is None:  # no explicit flag: a matcher means the semantic RSM
            semantic = (matcher or "").lower() not in ("", "none", "spatial", "spatio-semantic")
        return {"matrix": m, "labels": labels, "classes": classes, "layer": _attr(f, "layer"),
                "kernel": _attr(f, "kernel"), "matcher": matcher, "semantic": bool(semantic),
                "label": _attr(f, "label"), "name": name}


def rsm_figure(rsms: Sequence[dict[str, Any]], *, labels: Sequence[str] | None = None,
               size: tuple[float, float] | None = None, title: str | None = None) -> Any:
    """RSM heatmaps with samples sorted by label and lines between labels; one colour bar each."""
    import matplotlib

    cmap = matplotlib.colormaps[_style.HEATMAP_CMAP].with_extremes(bad=_style.MISSING_COLOUR)
    n = len(rsms)
    with _style_context():
        fig = _new_figure((5.4 * n + 0.4, 5.2), size)
        axes = fig.subplots(1, n, squeeze=False)[0]
        for k, (ax, r) in enumerate(zip(axes, rsms)):
            order = np.argsort(r["labels"], kind="stable")
            lab = r["labels"][order]
            m = r["matrix"][np.ix_(order, order)]
            vmin, vmax = offdiag_limits([m])
            im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, vmin=vmin, vmax=vmax,
                           interpolation="nearest", aspect="equal")
            starts = _boundaries(lab)
            _draw_boundaries(ax, starts, lab.size)
            bounds = [0] + starts + [lab.size]
            mids = [(a + b - 1) / 2 for a, b in zip(bounds[:-1], bounds[1:])]
            ids = [int(lab[a]) for a in bounds[:-1]]
            cls = r["classes"]
            names = [cls[i] if cls is not None and 0 <= i < len(cls) else str(i) for i in ids]
            fs = _style.label_fontsize(len(names))
            if fs is not None:
                ax.set_xticks(mids, labels=names, rotation=90, fontsize=fs)
                ax.set_yticks(mids, labels=names, fontsize=fs)
                ax.tick_params(length=0)
            else:
                ax.set_xticks([])
                ax.set_yticks([])
            ax.set_xlabel(f"{lab.size} samples, sorted by label")
            if r["semantic"]:
                kind = "Semantic RSM" + (f" ({r['matcher']} matching)" if r["matcher"] else "")
            else:
                kind = "Spatio-semantic RSM"
            kernel = _RSM_KERNELS.get((r["kernel"] or "").lower(), r["kernel"] or "similarity")
            who = labels[k] if labels else (r["label"] or Path(r["name"]).stem)
            layer = f" · layer {r['layer']}" if r["layer"] else ""
            ax.set_title(f"{kind}, {kernel}\n{who}{layer}")
            fig.colorbar(im, ax=ax, shrink=0.8, label=kernel, pad=0.02)
        if title:
            fig.suptitle(title)
        _fit_all_titles(fig, axes)
    return fig


def plot_rsm(files: Sequence[str | os.PathLike], output: str | os.PathLike, *,
             labels: Sequence[str] | None = None, size: tuple[float, float] | None = None,
             dpi: int = DEFAULT_DPI, title: str | None = None, force: bool = False) -> Path:
    """``semtool plot rsm``: RSM heatmaps sorted by label, written to ``output``."""
    check_figure_output(output, force=force)
    rsms = [load_rsm(f) for f in files]
    names = run_labels(files, labels, [r["label"] for r in rsms])
    fig = rsm_figure(rsms, labels=names, size=size, title=title)
    return save_figure(fig, output, force=force, dpi=dpi)


# ===================================================================== 2 vs 2

def load_twovtwo(path: str | os.PathLike) -> dict[str, Any]:
    """A ``twovtwo`` file as per-layer arrays: layers (L,), accuracy (L,), null (L, N) or None, p (L,)."""
    name = store.display_name(path)
    with store.open_file(path, "twovtwo") as f:
        acc = np.asarray(f["accuracy"][...], dtype=np.float64).reshape(-1)
        layers = store.read_strings(f["layers"]) if "layers" in f else (["all"] if acc.size == 1 else
                                                                         [str(i) for i in range(acc.size)])
        if len(layers) != acc.size:
            raise UserError(f"{name}: {len(layers)} layers but {acc.size} accuracies")
        null = None
        if "null" in f:
            null = np.asarray(f["null"][...], dtype=np.float64)
            if null.ndim == 1:
                null = null[None, :]
            if null.shape[0] != acc.size:
                raise UserError(f"{name}: null distribution of shape {null.shape} "
                                f"does not follow its {acc.size} layers")
        p = np.asarray(f["p_value"][...], dtype=np.float64).reshape(-1) if "p_value" in f else None
        return {"layers": layers, "accuracy": acc, "null": null, "p_value": p,
                "label": _attr(f, "label"), "name": name}


def null_threshold(null: np.ndarray, q: float = 95.0) -> np.ndarray:
    """The permutation null's ``q``-th percentile per layer: (L, N) -> (L,)."""
    return np.percentile(np.asarray(null, dtype=np.float64), q, axis=-1)


def twovtwo_figure(results: Sequence[dict[str, Any]], *, labels: Sequence[str] | None = None,
                   size: tuple[float, float] | None = None, title: str | None = None) -> Any:
    """2 vs 2 accuracy per layer, with each run's permutation-null 95th percentile (dashed).

    Filled markers: p < 0.05; hollow: not significant. Dotted grey: chance (0.5).
    """
    order: list[str] = []
    for r in results:
        for layer in r["layers"]:
            if layer not in order:
                order.append(layer)
    pos = {layer: i for i, layer in enumerate(order)}
    from matplotlib.lines import Line2D

    names = [_legend_label(labels[i] if labels else (r["label"] or Path(r["name"]).stem))
             for i, r in enumerate(results)]
    keys = [_legend_label(k) for k in ("p < 0.05", "not significant", "chance",
                                       "null 95th percentile" + (" (band: 5th–95th)" if len(results) == 1 else ""))]
    ticks = [wrap_text(layer, _TICK_CHARS) for layer in order]
    tick_in = 0.062 * max(len(line) for t in ticks for line in t.split("\n")) + 0.15  # one label's width
    rotate = len(order) > 4 or 0.55 * len(order) + 2.0 < len(order) * tick_in
    step = 0.55 if rotate else max(0.55, tick_in)  # inches per layer: unrotated labels side by side
    with _style_context():
        fig = _new_figure((max(5.5, step * len(order) + 3.0) + _legend_width(names + keys), 4.2), size)
        ax = fig.subplots()
        lows = [0.45]
        any_null = False
        run_handles: list[Any] = []
        for i, r in enumerate(results):
            st = _style.run_style(i)
            x = np.array([pos[layer] for layer in r["layers"]], dtype=np.float64)
            y = r["accuracy"]
            ax.plot(x, y, color=st["color"], linestyle=st["linestyle"])
            run_handles.append(Line2D([], [], **st, label=names[i]))
            sig = r["p_value"] < 0.05 if r["p_value"] is not None else np.ones(y.size, dtype=bool)
            ax.plot(x[sig], y[sig], linestyle="none", marker=st["marker"], color=st["color"])
            ax.plot(x[~sig], y[~sig], linestyle="none", marker=st["marker"], markerfacecolor="white",
                    color=st["color"])
            if r["null"] is not None:
                any_null = True
                thr = null_threshold(r["null"])
                ax.plot(x, thr, color=st["color"], linestyle="--", linewidth=1.0, alpha=0.8)
                if len(results) == 1:
                    lo = np.percentile(r["null"], 5, axis=-1)
                    ax.fill_between(x, lo, thr, color=st["color"], alpha=0.12, linewidth=0)
                    lows.append(float(np.nanmin(lo)))
            lows.append(float(np.nanmin(y)) if np.isfinite(y).any() else 0.45)
        ax.axhline(0.5, color=_style.REFERENCE_COLOUR, linestyle=":", linewidth=1.0, zorder=0)
        fs = 8 if len(order) <= 12 else max(5.0, 8 - 0.1 * (len(order) - 12))
        ax.set_xticks(range(len(order)), labels=ticks, rotation=30 if rotate else 0,
                      ha="right" if rotate else "center", fontsize=fs)
        ax.set_xlabel("layer")
        ax.set_ylabel("2 vs 2 accuracy (fraction of pairs; chance 0.5)")
        ax.set_ylim(min(lows) - 0.03, 1.0)
        ax.grid(True, axis="y")
        handles = list(run_handles)
        if any(r["p_value"] is not None for r in results):
            handles += [Line2D([], [], color="0.3", linestyle="none", marker="o", label=keys[0]),
                        Line2D([], [], color="0.3", linestyle="none", marker="o", markerfacecolor="white",
                               label=keys[1])]
        if any_null:
            handles.append(Line2D([], [], color="0.3", linestyle="--", linewidth=1.0, label=keys[3]))
        handles.append(Line2D([], [], color=_style.REFERENCE_COLOUR, linestyle=":", label=keys[2]))
        _legend_outside(ax, handles=handles)
        ax.set_title(title or "2 vs 2 test per layer (Dharmaretnam & Fyshe 2018)")
        _untangle_xticks(fig, [ax])
        _fit_titles_and_labels(fig, [ax])
    return fig


def plot_twovtwo(files: Sequence[str | os.PathLike], output: str | os.PathLike, *,
                 labels: Sequence[str] | None = None, size: tuple[float, float] | None = None,
                 dpi: int = DEFAULT_DPI, title: str | None = None, force: bool = False) -> Path:
    """``semtool plot twovtwo``: 2 vs 2 accuracy per layer with the null, written to ``output``."""
    check_figure_output(output, force=force)
    results = [load_twovtwo(f) for f in files]
    names = run_labels(files, labels, [r["label"] for r in results])
    fig = twovtwo_figure(results, labels=names, size=size, title=title)
    return save_figure(fig, output, force=force, dpi=dpi)
