"""``semtool plot attack``: where mistakes go under L2 PGD, against ε (Abreu et al. 2023)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool.errors import UserError
from semtool.kinds import Predictions
from semtool.report import _layout as layout
from semtool.report import _style
from semtool.report._layout import Run

# Attack panels: (metric key, title, y-axis label).
ATTACK_PANELS = (
    ("mistake_superclass_accuracy", "Superclass accuracy of mistakes (higher is better)",
     "share of mistakes in the true semantic group"),
    ("mistake_visual_share", "Mistakes inside the visual superclass (lower is better)",
     "share of mistakes in the true visual group"),
    ("accuracy", "Fine accuracy", "accuracy (fraction correct)"),
    ("superclass_accuracy", "Semantic-superclass accuracy", "superclass accuracy (fraction correct)"),
)
_EPS_LABEL = "L2 PGD budget ε (pixels in [0, 1])"


def load_attack(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float], str | None]:
    """A ``predictions`` file with an ε axis: (ε (E,), attack metrics per ε, chance levels, label).

    The metrics come from :func:`semtool.measure.attack_metrics.attack_metrics`; chance
    levels (uniform mistakes) from :func:`~semtool.measure.attack_metrics.mistake_chance`.
    """
    from semtool.measure.attack_metrics import attack_metrics, mistake_chance

    p = Predictions.read(path)
    if p.epsilons is None:
        raise UserError(f"{p.path}: no ε axis ('epsilons'); plot attack needs an attack sweep "
                        "(semtool attack --eps …), not clean predictions")
    labels, pred, c = p.labels, p.predicted, len(p.classes)
    groups = None if p.groups is None else p.groups.index
    visual = None if p.visual_groups is None else p.visual_groups.index
    metrics = attack_metrics(labels, pred, groups, visual)
    chance = {}
    if groups is not None:
        chance["mistake_superclass_accuracy"] = mistake_chance(labels, groups, c)
    if visual is not None:
        chance["mistake_visual_share"] = mistake_chance(labels, visual, c)
    return p.epsilons, metrics, chance, p.label


def attack_figure(runs: Sequence[Run], *, size: tuple[float, float] | None = None,
                  title: str | None = None) -> Any:
    """The figures of Abreu et al. (2023): where mistakes go under attack, against ε, one line per model.

    Panels (those some run can fill): superclass accuracy of the mistakes, share of
    mistakes inside the visual superclass, fine accuracy, superclass accuracy. Grey dashed
    lines mark what uniformly random mistakes would give.
    """
    panels = [p for p in ATTACK_PANELS if any(np.isfinite(r.series[p[0]]).any() for r in runs)]
    if not panels:
        raise UserError("no measure can be drawn: every value is undefined")
    rows, cols = layout.grid(len(panels))
    from matplotlib.lines import Line2D

    with layout.style_context():
        fig = layout.new_figure((5.0 * cols, 3.4 * rows + 0.5), size)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        drew_chance = False
        ticks = sorted({float(e) for r in runs for e in r.x if np.isfinite(e)})
        for ax, (key, ptitle, ylabel) in zip(axes, panels):
            for i, r in enumerate(runs):
                layout.plot_series(ax, r.x, r.series[key], **_style.run_style(i))
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
        handles = layout.run_handles(runs)
        if drew_chance:
            handles.append(Line2D([], [], color=_style.REFERENCE_COLOUR, linestyle="--", linewidth=1.0,
                                  label=layout.legend_label("chance (mistakes uniform over the other classes)")))
        layout.figure_legend(fig, handles, "outside lower center", 3)
        layout.suptitle(fig, title or "Mistake severity under L2 PGD attack (Abreu et al. 2023)")
        layout.untangle_xticks(fig, axes)
        layout.fit_titles_and_labels(fig, axes)
    return fig


def plot_attack(files: Sequence[str | os.PathLike], output: str | os.PathLike, *,
                labels: Sequence[str] | None = None, size: tuple[float, float] | None = None,
                dpi: int = layout.DEFAULT_DPI, title: str | None = None, force: bool = False) -> Path:
    """``semtool plot attack``: the mistake-severity figure of Abreu et al. (2023), written to ``output``."""
    return layout.draw_files(files, output, load_attack, lambda loaded: loaded[3],
                        lambda loaded, names: attack_figure([Run(label=n, x=eps, series=m, extra=ch)
                                                             for n, (eps, m, ch, _) in zip(names, loaded)],
                                                            size=size, title=title),
                        labels=labels, dpi=dpi, force=force)
