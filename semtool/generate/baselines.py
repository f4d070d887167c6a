"""Pixel-space hybrid baselines: mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019).

A hybrid of base image ``a`` toward target class ``t`` mixes ``a`` with a *partner* image
``b`` drawn at random from class ``t``; ``λ`` (``--factor``) is the target's share, as the
MagicMix factor ν is:

* mixup:  ``h = rint((1 − λ)·a + λ·b)`` (float64, then rounded half to even, uint8);
* CutMix: a box of side ``round(H·√λ) × round(W·√λ)`` placed uniformly at random *inside*
  the image (so its area is exactly what it claims; CutMix proper clips a box centred
  anywhere) is copied from ``b`` into ``a``.

The partner and the box come from the item's own generator
(:func:`semtool.generate._items.item_rng`), so results depend only on (seed, image, target).
No model and no torch: fast enough for CPU demos and ablations.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from semtool.data.imageset import ImageSet, read_imageset
from semtool.errors import UserError
from semtool.generate import _writer
from semtool.generate._items import item_rng, make_items


def mixup(a: np.ndarray, b: np.ndarray, lam: float) -> np.ndarray:
    """``rint((1 − λ)·a + λ·b)`` for uint8 images of one shape ``(..., H, W, C)``."""
    out = (1.0 - lam) * a.astype(np.float64) + lam * b.astype(np.float64)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def cutmix_box(height: int, width: int, lam: float, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """``(top, left, h, w)`` of a box covering about a share ``λ`` of the image, inside it."""
    h = int(round(height * math.sqrt(lam)))
    w = int(round(width * math.sqrt(lam)))
    top = int(rng.integers(0, height - h + 1))
    left = int(rng.integers(0, width - w + 1))
    return top, left, h, w


def cutmix(a: np.ndarray, b: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``a`` with the box ``(top, left, h, w)`` copied from ``b``; images ``(H, W, C)``."""
    top, left, h, w = box
    out = a.copy()
    out[top:top + h, left:left + w] = b[top:top + h, left:left + w]
    return out


def _partners(ims: ImageSet) -> dict[int, np.ndarray]:
    return {c: np.flatnonzero(ims.labels == c) for c in range(len(ims.classes))}


def check_targets_have_images(ims: ImageSet, items: np.ndarray) -> None:
    """Every target class needs at least one image to mix toward."""
    present = set(np.unique(ims.labels).tolist())
    missing = sorted(set(np.unique(items[:, 1]).tolist()) - present)
    if missing:
        names = ", ".join(ims.classes[c] for c in missing[:5])
        raise UserError(f"{ims.path}: no images of target class(es) {names} to mix toward")


def make_batch(ims: ImageSet, items: np.ndarray, *, method: str, factor: float, seed: int,
               partners: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """Hybrids ``(B, H, W, C)`` uint8 for the items ``(B, 2)`` (image index, target)."""
    partners = _partners(ims) if partners is None else partners
    H, W = ims.input_size
    rngs = [item_rng(seed, i, t) for i, t in items.tolist()]
    mates = np.array([int(rng.choice(partners[t])) for rng, t in zip(rngs, items[:, 1].tolist())], dtype=np.int64)
    a, b = ims.images[items[:, 0]], ims.images[mates]
    if method == "mixup":
        return mixup(a, b, factor)
    return np.stack([cutmix(a[k], b[k], cutmix_box(H, W, factor, rng)) for k, rng in enumerate(rngs)])


METHODS = {"mixup": "pixel blend toward a random image of the target class",
           "cutmix": "a box of a random image of the target class, area share = factor"}


def mix(imageset: str | os.PathLike, output: str | os.PathLike, *, method: str = "mixup", factor: float = 0.5,
        targets: str = "group", per_image: int | None = None, seed: int = 0, limit: int | None = None,
        batch_size: int = 1024, force: bool = False, resume: bool = False,
        parameters: dict[str, Any] | None = None, command: str = "mix") -> Path:
    """Write a ``hybrids`` file of mixup or CutMix hybrids (see the module docstring)."""
    if method not in METHODS:
        raise UserError(f"--method {method}: choose one of {', '.join(METHODS)}")
    if not 0.0 <= factor <= 1.0:
        raise UserError(f"--factor {factor}: the mix factor must lie in [0, 1]")
    ims = read_imageset(imageset)
    items = make_items(ims, targets, per_image=per_image, seed=seed, limit=limit)
    check_targets_have_images(ims, items)
    _writer.precheck(output, force=force, resume=resume, batch_size=batch_size, inputs=[imageset])
    layout = _writer.hybrids_layout(ims, items, method=method, factor=factor, model="",
                                    attrs={"seed": seed})
    partners = _partners(ims)
    return _writer.run(output, layout,
                       lambda rows: {"images": make_batch(ims, items[rows], method=method, factor=factor, seed=seed,
                                                          partners=partners)},
                       batch_size=batch_size, force=force, resume=resume, command=command,
                       parameters=parameters or {}, inputs=[imageset], description=method)
