"""Adversarial evaluation: L2 PGD (Madry et al. 2018) and the mistake-severity sweep.

>>> from semtool.attack import pgd_l2, sweep

Importing this package imports torch.
"""

from semtool.attack.pgd import TARGETS, attack_mode, pgd_l2, random_start
from semtool.attack.sweep import SweepResult, check_options, iter_sweep, severity, sweep, sweep_to_file

__all__ = ["TARGETS", "SweepResult", "attack_mode", "check_options", "iter_sweep", "pgd_l2", "random_start", "severity",
           "sweep", "sweep_to_file"]
