"""Pure maths on arrays: class similarity matrices, their alignment, mistake severity.

No I/O happens here and nothing heavier than NumPy is imported at module level, so
``semtool sai`` and friends start fast. Shapes are given in each docstring.
"""

from semtool.measure.csm import ccsm, cosine_matrix, groups_csm, ncsm, tncsm
from semtool.measure.idm import decision_margins, idm
from semtool.measure.sai import SAI_MEASURES, drop_diagonal, minmax, sai, ssim
from semtool.measure.wsi import wsi

__all__ = [
    "SAI_MEASURES", "ccsm", "cosine_matrix", "decision_margins", "drop_diagonal", "groups_csm",
    "idm", "minmax", "ncsm", "sai", "ssim", "tncsm", "wsi",
]
