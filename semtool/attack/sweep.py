"""The mistake-severity sweep (Abreu, Vaska, Helus 2023): L2 PGD at growing ε.

Per ε: fine accuracy; semantic-superclass accuracy (prediction in the true class's
semantic group); the semantic-superclass accuracy of the *mistakes*; the share of
mistakes that stay inside the true class's *visual* superclass (lower is better: the
network errs by meaning, not by looks); and IDM (Filus et al.) against a reference CSM.
The measures are :func:`semtool.measure.attack_metrics.severity`'s.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from semtool import _runtime, store
from semtool.attack.pgd import TARGETS, pgd_l2
from semtool.errors import UserError
from semtool.kinds.predictions import AttackPredictionsWriter, Predictions
from semtool.measure.attack_metrics import severity
from semtool.models._build import to_pixels
from semtool._progress import progress


@dataclass
class SweepResult:
    epsilons: np.ndarray  # (E,)
    labels: np.ndarray  # (N,)
    logits: np.ndarray | None  # (E, N, C) float32 (None: written to a file batch by batch)
    predictions: np.ndarray  # (E, N) int64
    metrics: list[dict[str, float]]
    targets: np.ndarray | None = None  # (N,) int64, the target classes of a targeted attack


def check_options(epsilons: Sequence[float], *, steps: int, step_size: float | None, targeted: str | None,
                  batch_size: int) -> list[float]:
    """The radii as floats, after refusing options that would give no meaningful sweep."""
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
    return eps


@dataclass
class SweepBatch:
    """One batch of the sweep: rows ``start …`` of every ε."""

    start: int
    logits: np.ndarray  # (E, B, C) float32
    targets: np.ndarray | None  # (B,) int64 when targeted
    generator_state: np.ndarray  # (L,) uint8: the random generator's state after this batch


def iter_sweep(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, epsilons: Sequence[float], *,
               steps: int = 20, step_size: float | None = None, random_init: bool = False,
               targeted: str | None = None, batch_size: int = 100, device: Any = "cpu", seed: int = 0,
               use_best: bool = False, start: int = 0,
               generator_state: np.ndarray | None = None) -> Iterator[SweepBatch]:
    """Attack the images from row ``start`` on, batch by batch, at every ε.

    One ``torch.Generator`` seeded with ``seed`` feeds random starts and random targets
    across the batches; a run continued at ``start`` (a multiple of ``batch_size``) takes
    the generator's state after the batch before (``generator_state``, as the interrupted
    run's :class:`SweepBatch` gave it), so its numbers equal an uninterrupted run's.
    """
    eps = check_options(epsilons, steps=steps, step_size=step_size, targeted=targeted, batch_size=batch_size)
    n = images.shape[0]
    gen = torch.Generator().manual_seed(seed)
    if generator_state is not None:
        gen.set_state(torch.from_numpy(np.asarray(generator_state, dtype=np.uint8).copy()))
    model = model.to(device)
    model.eval()
    with progress((n - start) * len(eps), "attack", unit="images",
                  enabled=None if _runtime.ranks().main else False) as bar:
        for s in range(start, n, batch_size):
            x = to_pixels(torch.from_numpy(np.ascontiguousarray(images[s:s + batch_size].transpose(0, 3, 1, 2))).to(device))
            y = torch.from_numpy(labels[s:s + batch_size]).to(device)
            with torch.no_grad():
                clean = model(x)
            tgt = TARGETS[targeted](y, clean, gen) if targeted else None
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
            yield SweepBatch(s, np.stack(per_eps).astype(np.float32),
                             None if tgt is None else tgt.cpu().numpy().astype(np.int64), gen.get_state().numpy())


def severity_per_eps(labels: np.ndarray, predictions: np.ndarray, *, targets: np.ndarray | None = None,
                     groups: np.ndarray | None = None, visual_groups: np.ndarray | None = None,
                     csm: np.ndarray | None = None) -> list[dict[str, float]]:
    """:func:`~semtool.measure.attack_metrics.severity` of each row of ``predictions`` (E, N),
    with a targeted attack's ``target_hit_rate`` (how often it reached its goal at that ε)."""
    metrics = [severity(labels, p, groups=groups, visual_groups=visual_groups, csm=csm) for p in predictions]
    if targets is not None:
        for p, m in zip(predictions, metrics):
            m["target_hit_rate"] = float(np.mean(p == targets)) if targets.size else math.nan
    return metrics


def sweep(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, epsilons: Sequence[float], *,
          steps: int = 20, step_size: float | None = None, random_init: bool = False, targeted: str | None = None,
          batch_size: int = 100, device: Any = "cpu", seed: int = 0, groups: np.ndarray | None = None,
          visual_groups: np.ndarray | None = None, csm: np.ndarray | None = None,
          use_best: bool = False) -> SweepResult:
    """Attack every image at every ε; returns logits, predictions and per-ε
    :func:`~semtool.measure.attack_metrics.severity`.

    ``images`` are uint8 (N, H, W, C); ``targeted`` names a target choice of
    :data:`semtool.attack.pgd.TARGETS` (None: untargeted); ``use_best`` as in
    :func:`semtool.attack.pgd.pgd_l2`. All logits are held in memory:
    :func:`sweep_to_file` writes them batch by batch instead.
    """
    eps = check_options(epsilons, steps=steps, step_size=step_size, targeted=targeted, batch_size=batch_size)
    chunks = list(iter_sweep(model, images, labels, eps, steps=steps, step_size=step_size, random_init=random_init,
                             targeted=targeted, batch_size=batch_size, device=device, seed=seed, use_best=use_best))
    logits = (np.concatenate([c.logits for c in chunks], axis=1) if chunks
              else np.zeros((len(eps), 0, 0), np.float32))
    preds = logits.argmax(-1).astype(np.int64)
    targets = None
    if targeted:
        targets = np.concatenate([c.targets for c in chunks]) if chunks else np.zeros(0, np.int64)
    metrics = severity_per_eps(labels, preds, targets=targets, groups=groups, visual_groups=visual_groups, csm=csm)
    return SweepResult(np.asarray(eps, np.float64), labels, logits, preds, metrics, targets)


def sweep_to_file(writer: AttackPredictionsWriter, model: torch.nn.Module, images: np.ndarray, labels: np.ndarray,
                  epsilons: Sequence[float], *, steps: int = 20, step_size: float | None = None,
                  random_init: bool = False, targeted: str | None = None, batch_size: int = 100,
                  device: Any = "cpu", seed: int = 0, groups: np.ndarray | None = None,
                  visual_groups: np.ndarray | None = None, csm: np.ndarray | None = None,
                  use_best: bool = False) -> SweepResult | None:
    """:func:`sweep` into ``writer`` (an unopened predictions file with an ε axis), one
    batch of rows at a time: a resumable writer continues after the rows an interrupted run
    finished, with its random generator's state. The metrics are computed from the finished
    file, so a resumed run prints what an uninterrupted one does; the result holds no logits.

    Under torchrun (``WORLD_SIZE`` > 1) rank *r* attacks its contiguous block of the images
    (whole batches of ``batch_size``, the batches one process makes) into its own part file ``<name>.rank<r>of<W>`` (resumable as the whole file is), with a
    generator seeded from (``seed``, *r*) (:func:`rank_seed`); after a barrier rank 0 copies
    the parts into ``writer``'s file and removes them. Rank 0 returns the result, the other
    ranks None. Without random draws (no random start, no random targets) the file equals a
    single process's.
    """
    eps = check_options(epsilons, steps=steps, step_size=step_size, targeted=targeted, batch_size=batch_size)
    options = dict(steps=steps, step_size=step_size, random_init=random_init, targeted=targeted,
                   batch_size=batch_size, device=device, use_best=use_best)
    r = _runtime.ranks()
    if not r.on:
        _attack_into(writer, model, images, labels, eps, seed=seed, **options)
        return _result(writer.path, groups=groups, visual_groups=visual_groups, csm=csm)
    n = len(labels)
    with _runtime.process_group(r.world) as dist:
        blocks = rank_blocks(n, batch_size, r.world)
        lo, hi = blocks[r.rank]
        part = _runtime.shard_path(writer.path, r.rank, r.world)
        # nothing to do with no images (fewer than processes), or a part finished before another rank was
        # interrupted; a part never begun begins
        resume = writer.resume and store.Resumable.partial_path(part).exists()
        if hi > lo and not (writer.resume and part.exists()):
            _attack_into(writer.block(part, lo, hi, resume=resume, force=writer.force), model,
                         images[lo:hi], labels[lo:hi], eps, seed=rank_seed(seed, r.rank), **options)
        dist.barrier()
        if r.main:
            _combine(writer.block(writer.path, 0, n, resume=False, force=True),
                     [_runtime.shard_path(writer.path, k, r.world) for k, (a, b) in enumerate(blocks) if b > a])
        # leave together: a rank that tears gloo down while its peer still holds the connection can abort
        dist.barrier()
    return _result(writer.path, groups=groups, visual_groups=visual_groups, csm=csm) if r.main else None


def rank_blocks(n: int, batch_size: int, world: int) -> list[tuple[int, int]]:
    """Each torchrun rank's rows (start, stop) of ``n``: contiguous runs of whole batches, so
    every rank attacks exactly the batches one process would (bit-identical where batched
    kernels round differently per batch size); with fewer batches than ranks some get none."""
    return [(min(a * batch_size, n), min(b * batch_size, n))
            for a, b in (_runtime.shard_bounds(-(-n // batch_size), k, world) for k in range(world))]


def rank_seed(seed: int, rank: int) -> int:
    """The seed of torchrun rank ``rank``'s random generator: drawn from (``seed``, ``rank``)
    by NumPy's ``SeedSequence``, so the ranks' streams differ and a rerun with the same
    seed and number of processes draws the same numbers."""
    return int(np.random.SeedSequence([seed % (1 << 64), rank]).generate_state(1)[0])


def _attack_into(writer: AttackPredictionsWriter, model: torch.nn.Module, images: np.ndarray, labels: np.ndarray,
                 eps: list[float], *, seed: int, **options: Any) -> None:
    with writer:
        start = writer.first_undone()
        if start > 0:
            _runtime.log(f"resuming: {start} of {len(labels)} images already attacked")
        for b in iter_sweep(model, images, labels, eps, seed=seed, start=start,
                            generator_state=writer.generator_state(start), **options):
            writer.add(b.start, b.logits, b.targets, b.generator_state)


def _combine(writer: AttackPredictionsWriter, parts: list[Path]) -> None:
    """Rank 0: the parts' rows, in order, into the one file; then the parts are removed."""
    with writer:
        start = 0
        for part in parts:
            with store.open_file(part, "predictions") as f:
                m = f["labels"].shape[0]
                for a in range(0, m, writer.batch_size):
                    b = min(a + writer.batch_size, m)
                    writer.add(start + a, f["logits"][:, a:b], f["targets"][a:b] if "targets" in f else None, None)
            start += m
    for part in parts:
        part.unlink()


def _result(path: str | os.PathLike, *, groups: np.ndarray | None, visual_groups: np.ndarray | None,
            csm: np.ndarray | None) -> SweepResult:
    done = Predictions.read(path)
    metrics = severity_per_eps(done.labels, done.predicted, targets=done.targets, groups=groups,
                               visual_groups=visual_groups, csm=csm)
    return SweepResult(done.epsilons, done.labels, None, done.predicted, metrics, done.targets)
