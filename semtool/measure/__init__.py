"""Pure maths on arrays: class similarity matrices, their alignment, mistake severity.

No I/O happens here and nothing heavier than NumPy is imported at module level, so
``semtool sai`` and friends start fast. Shapes are given in each docstring. Matching
classes by name between files is :mod:`semtool.measure.align`; the WordNet CSM is
:func:`semtool.semantics.wordnet_csm.wordnet_csm` (it needs the WordNet graph).
"""

from semtool.measure.align import align, align_many, check_same_classes, check_unique, take_classes
from semtool.measure.attack_metrics import ATTACK_METRICS, attack_metrics, mistake_chance, severity
from semtool.measure.csm import ccsm, check_csm, class_means, cosine_matrix, groups_csm, ncsm, tncsm
from semtool.measure.idm import decision_margins, dissimilarity_metric, idm
from semtool.measure.sai import SAI_MEASURES, drop_diagonal, minmax, normalised, pairwise_sai, sai, ssim
from semtool.measure.wsi import wsi

__all__ = [
    "ATTACK_METRICS", "attack_metrics", "mistake_chance", "severity", "SAI_MEASURES", "align", "align_many", "ccsm", "check_csm", "check_same_classes", "check_unique", "class_means",
    "cosine_matrix", "decision_margins", "dissimilarity_metric", "drop_diagonal", "groups_csm", "idm", "minmax", "ncsm",
    "normalised", "pairwise_sai", "sai", "ssim", "take_classes", "tncsm", "wsi",
]

# ---- representation analysis (Wald et al. 2024; Dharmaretnam & Fyshe 2018): RSM kernels,
# matchers, 2 vs 2 / 1 vs 2. The RSMs over all samples are computed by semtool.analyse.rsm.
from semtool.measure.matching import MATCHERS, get_matcher  # noqa: E402
from semtool.measure.rsm import KERNELS, kernel_matrix, prediction_correlation, retrieval  # noqa: E402
from semtool.measure.twovtwo import correlation_matrix, one_vs_two, two_vs_two  # noqa: E402

__all__ += [
    "KERNELS", "MATCHERS", "correlation_matrix", "get_matcher", "kernel_matrix", "one_vs_two",
    "prediction_correlation", "retrieval", "two_vs_two",
]
# ---- end representation analysis ----
