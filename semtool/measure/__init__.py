"""Pure maths on arrays: class similarity matrices, their alignment, mistake severity.

No I/O happens here and nothing heavier than NumPy is imported at module level, so
``semtool sai`` and friends start fast. Shapes are given in each docstring. Matching
classes by name between files is :mod:`semtool.measure.align`; the WordNet CSM is
:func:`semtool.semantics.wordnet_csm.wordnet_csm` (it needs the WordNet graph).
"""

from semtool.measure.align import align, align_many, check_unique, take_classes
from semtool.measure.csm import ccsm, check_csm, class_means, cosine_matrix, groups_csm, ncsm, tncsm
from semtool.measure.idm import decision_margins, idm
from semtool.measure.sai import SAI_MEASURES, drop_diagonal, minmax, normalised, pairwise_sai, sai, ssim
from semtool.measure.wsi import wsi

__all__ = [
    "SAI_MEASURES", "align", "align_many", "ccsm", "check_csm", "check_unique", "class_means",
    "cosine_matrix", "decision_margins", "drop_diagonal", "groups_csm", "idm", "minmax", "ncsm",
    "normalised", "pairwise_sai", "sai", "ssim", "take_classes", "tncsm", "wsi",
]
