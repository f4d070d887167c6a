"""Figures across the models of a zoo (``semtool report --zoo``): accuracy against SAI(NCSM,
WordNet) (Filus et al.), and 2 vs 2 accuracy against relative depth (Dharmaretnam & Fyshe 2018)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool.report import _layout as layout
from semtool.report import _style


def zoo_figure(records: Sequence[dict[str, Any]], *, size: tuple[float, float] | None = None,
               title: str | None = None) -> Any:
    """Two panels: one point per model (accuracy, SAI(NCSM, WordNet)); one line per model
    (2 vs 2 accuracy of each layer at its relative depth 0 = pixels … 1 = last stage)."""
    from matplotlib.lines import Line2D

    names = [layout.legend_label(r["model"]) for r in records]
    with layout.style_context():
        fig = layout.new_figure((10.0 + layout.legend_width(names), 4.2), size)
        ax1, ax2 = fig.subplots(1, 2)
        handles = []
        for i, r in enumerate(records):
            st = _style.run_style(i)
            sai = r.get("sai_ncsm_wordnet")
            if sai is not None and r.get("accuracy") is not None:
                ax1.plot([sai], [r["accuracy"]], linestyle="none", marker=st["marker"], color=st["color"])
            acc = np.array([np.nan if a is None else a for a in r.get("twovtwo", [])], dtype=np.float64)
            if acc.size:
                depth = np.linspace(0.0, 1.0, acc.size) if acc.size > 1 else np.zeros(1)
                ax2.plot(depth, acc, color=st["color"], linestyle=st["linestyle"], marker=st["marker"])
            handles.append(Line2D([], [], **st, label=names[i]))
        ax1.set_xlabel("SAI(NCSM, WordNet), cosine")
        ax1.set_ylabel("top-1 accuracy")
        ax1.set_title("accuracy against alignment with WordNet")
        ax1.grid(True)
        ax2.axhline(0.5, color=_style.REFERENCE_COLOUR, linestyle=":", linewidth=1.0, zorder=0)
        ax2.set_xlabel("relative depth (0 = pixels, 1 = last stage)")
        ax2.set_ylabel("2 vs 2 accuracy (chance 0.5)")
        ax2.set_title("2 vs 2 against depth")
        ax2.grid(True, axis="y")
        layout.legend_outside(ax2, handles=handles)
        layout.suptitle(fig, title or f"{len(records)} models")
        layout.fit_titles_and_labels(fig, [ax1, ax2])
    return fig


def plot_zoo(records: Sequence[dict[str, Any]], output: str | os.PathLike, *, size: tuple[float, float] | None = None,
             dpi: int = layout.DEFAULT_DPI, force: bool = True) -> Path:
    """The zoo figure written to ``output``."""
    return layout.save_figure(zoo_figure(records, size=size), output, force=force, dpi=dpi)
