"""``semtool plot rsm``: heatmaps of representational similarity matrices (Wald et al. 2024)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from semtool.kinds import Rsm
from semtool.report import _layout as layout
from semtool.report import _style
from semtool.report._arrays import boundaries, offdiag_limits

_RSM_KERNELS = {"inner": "inner product", "cosine": "cosine similarity", "rbf": "RBF similarity (median σ)"}


def load_rsm(path: str | os.PathLike) -> Rsm:
    """An ``rsm`` file (:class:`~semtool.kinds.Rsm`): matrix (N, N), labels (N,), classes and attributes."""
    return Rsm.read(path)


def rsm_figure(rsms: Sequence[Rsm], *, labels: Sequence[str] | None = None,
               size: tuple[float, float] | None = None, title: str | None = None) -> Any:
    """RSM heatmaps with samples sorted by label and lines between labels; one colour bar each."""
    cmap = layout.heatmap_cmap()
    n = len(rsms)
    with layout.style_context():
        fig = layout.new_figure((5.4 * n + 0.4, 5.2), size)
        axes = fig.subplots(1, n, squeeze=False)[0]
        for k, (ax, r) in enumerate(zip(axes, rsms)):
            order = np.argsort(r.labels, kind="stable")
            lab = r.labels[order]
            m = r.matrix[np.ix_(order, order)]
            vmin, vmax = offdiag_limits([m])
            im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, vmin=vmin, vmax=vmax,
                           interpolation="nearest", aspect="equal")
            starts = boundaries(lab)
            layout.draw_boundaries(ax, starts, lab.size)
            bounds = [0] + starts + [lab.size]
            mids = [(a + b - 1) / 2 for a, b in zip(bounds[:-1], bounds[1:])]
            ids = [int(lab[a]) for a in bounds[:-1]]
            cls = r.classes
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
            if r.semantic:
                kind = "Semantic RSM" + (f" ({r.matcher} matching)" if r.matcher else "")
            else:
                kind = "Spatio-semantic RSM"
            kernel = _RSM_KERNELS.get((r.kernel or "").lower(), r.kernel or "similarity")
            who = labels[k] if labels else (r.label or Path(r.path).stem)
            layer = f" · layer {r.layer}" if r.layer else ""
            ax.set_title(f"{kind}, {kernel}\n{who}{layer}")
            fig.colorbar(im, ax=ax, shrink=0.8, label=kernel, pad=0.02)
        if title:
            layout.suptitle(fig, title)
        layout.fit_all_titles(fig, axes)
    return fig


def plot_rsm(files: Sequence[str | os.PathLike], output: str | os.PathLike, *,
             labels: Sequence[str] | None = None, size: tuple[float, float] | None = None,
             dpi: int = layout.DEFAULT_DPI, title: str | None = None, force: bool = False) -> Path:
    """``semtool plot rsm``: RSM heatmaps sorted by label, written to ``output``."""
    return layout.draw_files(files, output, load_rsm, lambda r: r.label,
                        lambda rsms, names: rsm_figure(rsms, labels=names, size=size, title=title),
                        labels=labels, dpi=dpi, force=force)
