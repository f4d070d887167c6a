"""The look of semtool's figures: colour-blind-safe colours, markers, font sizes.

Lines use the Okabe–Ito palette (Okabe & Ito 2008), distinguishable with every common
colour-vision deficiency; each run also gets its own marker so a greyscale print still
separates them. Heatmaps use viridis (perceptually uniform, readable in greyscale).
"""

from __future__ import annotations

import math

# Okabe–Ito, most contrasting first; yellow (#F0E442) is last-but-one: pale on white.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)))
HEATMAP_CMAP = "viridis"
MISSING_COLOUR = "0.85"  # masked cells (the diagonal of a CSM, NaN): light grey
REFERENCE_COLOUR = "0.45"  # chance lines, null thresholds

RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "lines.markersize": 4.5,
    "legend.frameon": False,
    "svg.fonttype": "none",  # keep SVG text editable
    "pdf.fonttype": 42,  # TrueType in PDFs (editable, accepted by journals)
}


def run_style(i: int) -> dict:
    """Colour and marker of the i-th run (cycles, with a new dash after 8 runs)."""
    n = len(OKABE_ITO)
    return {"color": OKABE_ITO[i % n], "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[(i // n) % len(LINESTYLES)]}


def label_fontsize(n: int, *, max_labels: int = 60) -> float | None:
    """Tick-label font size for n class labels on one axis; None: too many to show."""
    if n > max_labels:
        return None
    # 9 pt up to 12 labels, then shrinking so that labels fit a ~4.5-inch axis.
    return float(min(9.0, max(4.0, 9.0 * math.sqrt(12.0 / max(n, 1)))))
