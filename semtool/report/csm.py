"""``semtool plot csm``: heatmaps of class similarity matrices (Filus et al.), one or several side by side."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool import store
from semtool.errors import UserError
from semtool.kinds import Csm, Curves
from semtool.report import _layout as layout
from semtool.report import _style
from semtool.report._arrays import cluster_order, group_order, match_classes, minmax_offdiag, offdiag_limits

#: Class orders for ``plot csm``: auto = groups when the file has them, else cluster.
CSM_ORDERS = ("auto", "groups", "cluster", "none")
#: Colour scales for several CSMs side by side: auto = shared when every panel holds the
#: same measure over comparable ranges, else one per panel (raw cosines and confusion rates
#: share no meaningful range, and an early NCSM's narrow range would wash out in a late
#: one's); minmax normalises each panel as SAI compares them.
CSM_SCALES = ("auto", "shared", "panel", "minmax")
#: auto shares one scale only while every panel's off-diagonal span is at least this share
#: of the widest one
_COMPARABLE_SPAN = 0.5

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
    NaN cells are drawn (grey), not refused.
    """
    name = store.display_name(path)
    if store.kind_of(path, ("csm", "curves")) == "curves":  # refuses any other kind
        curves = Curves.read(path, snapshots=[snapshot])
        if snapshot not in curves.snapshots:
            have = sorted(Curves.read(path, snapshots=True).snapshots)
            raise UserError(f"--snapshot {snapshot}: {name} has no 'snapshots/{snapshot}' "
                            f"(it has: {', '.join(have) or 'no snapshots'})")
        if curves.classes is None:
            raise UserError(f"{name}: no 'classes' to label the matrix with")
        m, ep = _pick(curves.snapshots[snapshot], curves.epochs, epoch, name)
        if m.shape != (len(curves.classes),) * 2:
            raise UserError(f"{name}: matrix of shape {m.shape} does not match its {len(curves.classes)} classes")
        return CSMPanel(matrix=m, classes=curves.classes, source=snapshot,
                        measure={"ncsm": "cosine", "ccsm": "confusion"}.get(snapshot), epoch=ep,
                        label=curves.label, name=name)
    csm = Csm.read(path, finite=False)
    if csm.is_stack:
        m, ep = _pick(csm.matrix, csm.epochs, epoch, name)
    elif epoch not in (None, 0, -1):
        raise UserError(f"--epoch {epoch}: {name} holds one matrix, not a stack over epochs")
    else:
        m, ep = csm.matrix, None
    groups = csm.groups if csm.groups is not None and csm.groups.index.shape == (len(csm.classes),) else None
    return CSMPanel(matrix=m, classes=csm.classes, source=csm.source or None, measure=csm.measure or None,
                    groups=None if groups is None else groups.index, group_names=None if groups is None else groups.names,
                    epoch=ep, label=csm.label, name=name)


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
    all panels' off-diagonal values with one colour bar; ``'panel'`` gives each panel its
    own range and colour bar; ``'minmax'`` normalises each panel's off-diagonal to [0, 1]
    first (what SAI compares), one colour bar; ``'auto'`` is shared when every panel holds
    the same measure over comparable ranges (each span at least half the widest), else
    per panel. Every axis is labelled (class, or true / predicted class for a CCSM).
    """
    if scale not in CSM_SCALES:
        raise UserError(f"--scale: expected one of {', '.join(CSM_SCALES)}; got '{scale}'")
    first = panels[0]
    idx, starts, gnames = csm_order(first, order)
    names = [first.classes[i] for i in idx]
    mats = []
    for p in panels:
        m = p.matrix if p is first else p.matrix[np.ix_(*(2 * [match_classes(first.classes, p.classes, p.name)]))]
        m = m[np.ix_(idx, idx)]
        mats.append(minmax_offdiag(m) if scale == "minmax" else m)
    if scale == "auto":
        spans = [hi - lo for lo, hi in (offdiag_limits([m]) for m in mats)]
        same = len({_csm_titles(p)[1] for p in panels}) == 1 and min(spans) >= _COMPARABLE_SPAN * max(spans)
        scale = "shared" if same else "panel"
    limits = [(0.0, 1.0) if scale == "minmax" else offdiag_limits(mats if scale == "shared" else [m]) for m in mats]
    c = len(names)
    side = float(np.clip(3.0 + 0.045 * c, 3.6, 7.5))
    n = len(panels)
    cmap = layout.heatmap_cmap()
    with layout.style_context():
        top_labels = bool(gnames) and _style.label_fontsize(c) is not None
        fig = layout.new_figure((side * n + 1.2, side + 0.9 + (0.5 if top_labels else 0)), size)
        axes = fig.subplots(1, n, squeeze=False)[0]
        im = None
        values = set()
        for k, (ax, p, m) in enumerate(zip(axes, panels, mats)):
            shown = m.copy()
            np.fill_diagonal(shown, np.nan)
            im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=limits[k][0], vmax=limits[k][1],
                           interpolation="nearest", aspect="equal")
            _class_ticks(ax, names, "xy" if k == 0 or scale == "panel" else "x")
            if k and scale != "panel":
                ax.set_yticks([])
            # every axis says what it holds: rows and columns of a CCSM are true and predicted classes
            omitted = f" ({c} classes, labels omitted)" if _style.label_fontsize(c) is None else ""
            ccsm = (p.source or "").lower() == "ccsm"
            ax.set_xlabel(("predicted class" if ccsm else "class") + omitted)
            ax.set_ylabel(("true class" if ccsm else "class") + omitted)
            layout.draw_boundaries(ax, starts, c)
            if gnames:
                _group_labels(ax, starts, c, gnames, left=k == 0)
            for side_ in ("top", "right"):
                ax.spines[side_].set_visible(True)
            t, value = _csm_titles(p)
            values.add(value)
            who = labels[k] if labels else (p.label or Path(p.name).stem)
            sub = who + (f" · epoch {p.epoch:.4g}" if p.epoch is not None else "")
            ax.set_title(f"{t}\n{sub}", loc="center")
            if scale == "panel":
                fig.colorbar(im, ax=ax, shrink=0.85 if n == 1 else 0.7, label=value, pad=0.02)
        if scale == "minmax":
            cb_label = "off-diagonal min–max normalised (as SAI compares)"
        else:
            cb_label = values.pop() if len(values) == 1 else "similarity"
        if scale != "panel":
            fig.colorbar(im, ax=list(axes), shrink=0.85 if n == 1 else 0.7, label=cb_label, pad=0.02)
        if title:
            layout.suptitle(fig, title)
        layout.fit_all_titles(fig, axes)
    return fig


def plot_csm(files: Sequence[str | os.PathLike], output: str | os.PathLike, *, order: str = "auto",
             epoch: int | Sequence[int] | None = None, snapshot: str = "ncsm", scale: str = "auto",
             labels: Sequence[str] | None = None, size: tuple[float, float] | None = None,
             dpi: int = layout.DEFAULT_DPI, title: str | None = None, force: bool = False) -> Path:
    """``semtool plot csm``: heatmaps of one or several CSMs, written to ``output``.

    ``epoch``: one index for every file, or one per file (``run.h5 run.h5`` with epochs
    ``[0, -1]`` shows the first and last snapshot of one run side by side).
    """
    layout.check_figure_output(output, force=force)
    if epoch is None or isinstance(epoch, int):
        epochs: list[int | None] = [epoch] * len(files)
    elif len(epoch) in (0, 1):
        epochs = [epoch[0] if epoch else None] * len(files)
    elif len(epoch) == len(files):
        epochs = list(epoch)
    else:
        raise UserError(f"--epoch: given {len(epoch)} times for {len(files)} files; give one for all or one per file")
    which = iter(epochs)  # draw_files loads the files in order
    return layout.draw_files(files, output, lambda f: load_csm(f, next(which), snapshot=snapshot), lambda p: p.label,
                        lambda panels, names: csm_figure(panels, order=order, scale=scale, labels=names,
                                                         size=size, title=title),
                        labels=labels, dpi=dpi, force=force)
