"""The mistake-severity sweep (Abreu, Vaska, Helus 2023): L2 PGD at growing ε.

Per ε: fine accuracy; semantic-superclass accuracy (prediction in the true class's
semantic group); the semantic-superclass accuracy of the *mistakes*; the share of
mistakes that stay inside the true class's *visual* superclass (lower is better: the
network errs by meaning, not by looks); and IDM (Filus et al.) against a reference CSM.
The measures are :func:`semtool.measure.attack_metrics.severity`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from semtool.attack.pgd import TARGETS, pgd_l2
from semtool.errors import UserError
from semtool.measure.attack_metrics import severity
from semtool.models._build import to_pixels
from semtool._progress import progress


@dataclass
class SweepResult:
    epsilons: np.ndarray  # (E,)
    labels: np.ndarray  # (N,)
    logits: np.ndarray  # (E, N, C) float32
    predictions: np.ndarray  # (E, N) int64
    metrics: list[dict[str, float]]
    targets: np.ndarray | None = None  # (N,) int64, the target classes of a targeted attack


def sweep(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, epsilons: Sequence[float], *,
          steps: int = 20, step_size: float | None = None, random_init: bool = False, targeted: str | None = None,
          batch_size: int = 100, device: Any = "cpu", seed: int = 0, groups: np.ndarray | None = None,
          visual_groups: np.ndarray | None = None, csm: np.ndarray | None = None,
          use_best: bool = False) -> SweepResult:
    """Attack every image at every ε; returns logits, predictions and per-ε
    :func:`~semtool.measure.attack_metrics.severity`.

    ``images`` are uint8 (N, H, W, C); ``targeted`` names a target choice of
    :data:`semtool.attack.pgd.TARGETS` (None: untargeted); ``use_best`` as in
    :func:`semtool.attack.pgd.pgd_l2`.
    """
    eps = [float(e) for e in epsilons]
    if any(e < 0 or not math.isfinite(e) for e in eps):
        raise UserError(f"--eps: expected non-negative radii, got {','.join(f'{e:g}' for e in eps)}")
    if len(set(eps)) < len(eps):
        raise UserError(f"--eps: each radius once, got {','.join(f'{e:g}' for e in eps)}")
    if steps < 1:
        # zero steps would leave every image clean: each row would repeat the clean evaluation
        raise UserError(f"--steps {steps}: PGD needs at least 1 step (with 0 every row would equal the clean "
                        "evaluation, which ε = 0 already gives)")
    if step_size is not None and not (step_size > 0 and math.isfinite(step_size)):
        raise UserError(f"--step-size: expected a positive step, got {step_size:g}")
    if targeted is not None and targeted not in TARGETS:
        raise UserError(f"--targeted: expected one of {', '.join(TARGETS)}, got '{targeted}'")
    if batch_size < 1:
        raise UserError(f"--batch-size: expected at least 1, got {batch_size}")
    n = images.shape[0]
    gen = torch.Generator().manual_seed(seed)
    model = model.to(device)
    model.eval()
    chunks_logits: list[np.ndarray] = []
    chunks_targets: list[np.ndarray] = []
    with progress(n * len(eps), "attack", unit="images") as bar:
        for s in range(0, n, batch_size):
            x = to_pixels(torch.from_numpy(np.ascontiguousarray(images[s:s + batch_size].transpose(0, 3, 1, 2))).to(device))
            y = torch.from_numpy(labels[s:s + batch_size]).to(device)
            with torch.no_grad():
                clean = model(x)
            tgt = TARGETS[targeted](y, clean, gen) if targeted else None
            if tgt is not None:
                chunks_targets.append(tgt.cpu().numpy().astype(np.int64))
            per_eps = []
            for e in eps:
                if e == 0:
                    out = clean
                else:
                    adv = pgd_l2(model, x, y, e, steps=steps, step_size=step_size, random_init=random_init,
                                 targets=tgt, generator=gen, use_best=use_best)
                    with torch.no_grad():
                        out = model(adv)
                per_eps.append(out.float().cpu().numpy())
                bar.advance(x.shape[0])
            chunks_logits.append(np.stack(per_eps))
    logits = np.concatenate(chunks_logits, axis=1) if chunks_logits else np.zeros((len(eps), 0, 0), np.float32)
    preds = logits.argmax(-1).astype(np.int64)
    metrics = [severity(labels, preds[i], groups=groups, visual_groups=visual_groups, csm=csm) for i in range(len(eps))]
    targets = None
    if targeted:
        targets = np.concatenate(chunks_targets) if chunks_targets else np.zeros(0, np.int64)
        for i, m in enumerate(metrics):  # how often the attack reached its goal at this ε
            m["target_hit_rate"] = float(np.mean(preds[i] == targets)) if targets.size else math.nan
    return SweepResult(np.asarray(eps, np.float64), labels, logits.astype(np.float32), preds, metrics, targets)
