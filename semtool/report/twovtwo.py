"""``semtool plot twovtwo``: 2 vs 2 accuracy per layer with its permutation null (Dharmaretnam & Fyshe 2018)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool.kinds import TwoVsTwo
from semtool.report import _layout as layout
from semtool.report import _style


def load_twovtwo(path: str | os.PathLike) -> TwoVsTwo:
    """A ``twovtwo`` file (:class:`~semtool.kinds.TwoVsTwo`): layers (L,), accuracy (L,), null (L, N) or None, p (L,)."""
    return TwoVsTwo.read(path)


def null_threshold(null: np.ndarray, q: float = 95.0) -> np.ndarray:
    """The permutation null's ``q``-th percentile per layer: (L, N) -> (L,)."""
    return np.percentile(np.asarray(null, dtype=np.float64), q, axis=-1)


def twovtwo_figure(results: Sequence[TwoVsTwo], *, labels: Sequence[str] | None = None,
                   size: tuple[float, float] | None = None, title: str | None = None) -> Any:
    """2 vs 2 accuracy per layer, with each run's permutation-null 95th percentile (dashed).

    Filled markers: p < 0.05; hollow: not significant. Dotted grey: chance (0.5).
    """
    order: list[str] = []
    for r in results:
        for layer in r.layers:
            if layer not in order:
                order.append(layer)
    pos = {layer: i for i, layer in enumerate(order)}
    from matplotlib.lines import Line2D

    names = [layout.legend_label(labels[i] if labels else (r.label or Path(r.path).stem))
             for i, r in enumerate(results)]
    keys = [layout.legend_label(k) for k in ("p < 0.05", "not significant", "chance",
                                       "null 95th percentile" + (" (band: 5th–95th)" if len(results) == 1 else ""))]
    ticks = [layout.wrap_text(layer, layout.TICK_CHARS) for layer in order]
    tick_in = 0.062 * max(len(line) for t in ticks for line in t.split("\n")) + 0.15  # one label's width
    rotate = len(order) > 4 or 0.55 * len(order) + 2.0 < len(order) * tick_in
    step = 0.55 if rotate else max(0.55, tick_in)  # inches per layer: unrotated labels side by side
    with layout.style_context():
        fig = layout.new_figure((max(5.5, step * len(order) + 3.0) + layout.legend_width(names + keys), 4.2), size)
        ax = fig.subplots()
        lows = [0.45]
        any_null = False
        run_handles: list[Any] = []
        for i, r in enumerate(results):
            st = _style.run_style(i)
            x = np.array([pos[layer] for layer in r.layers], dtype=np.float64)
            y = r.accuracy
            ax.plot(x, y, color=st["color"], linestyle=st["linestyle"])
            run_handles.append(Line2D([], [], **st, label=names[i]))
            sig = r.p_value < 0.05 if r.p_value is not None else np.ones(y.size, dtype=bool)
            ax.plot(x[sig], y[sig], linestyle="none", marker=st["marker"], color=st["color"])
            ax.plot(x[~sig], y[~sig], linestyle="none", marker=st["marker"], markerfacecolor="white",
                    color=st["color"])
            if r.null is not None:
                any_null = True
                thr = null_threshold(r.null)
                ax.plot(x, thr, color=st["color"], linestyle="--", linewidth=1.0, alpha=0.8)
                if len(results) == 1:
                    lo = np.percentile(r.null, 5, axis=-1)
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
        if any(r.p_value is not None for r in results):
            handles += [Line2D([], [], color="0.3", linestyle="none", marker="o", label=keys[0]),
                        Line2D([], [], color="0.3", linestyle="none", marker="o", markerfacecolor="white",
                               label=keys[1])]
        if any_null:
            handles.append(Line2D([], [], color="0.3", linestyle="--", linewidth=1.0, label=keys[3]))
        handles.append(Line2D([], [], color=_style.REFERENCE_COLOUR, linestyle=":", label=keys[2]))
        layout.legend_outside(ax, handles=handles)
        ax.set_title(title or "2 vs 2 test per layer (Dharmaretnam & Fyshe 2018)")
        layout.untangle_xticks(fig, [ax])
        layout.fit_titles_and_labels(fig, [ax])
    return fig


def plot_twovtwo(files: Sequence[str | os.PathLike], output: str | os.PathLike, *,
                 labels: Sequence[str] | None = None, size: tuple[float, float] | None = None,
                 dpi: int = layout.DEFAULT_DPI, title: str | None = None, force: bool = False) -> Path:
    """``semtool plot twovtwo``: 2 vs 2 accuracy per layer with the null, written to ``output``."""
    return layout.draw_files(files, output, load_twovtwo, lambda r: r.label,
                        lambda results, names: twovtwo_figure(results, labels=names, size=size, title=title),
                        labels=labels, dpi=dpi, force=force)
