"""Hybrid sampling with soft labels (Abreu, Vaska, Helus 2023, semantic mixing augmentation).

For every training instance of a batch, with probability ``p`` one pre-generated hybrid
is added, drawn uniformly among the hybrids whose *base* class is the instance's class.
A hybrid's target is ``(1 − w)·onehot(base) + w·onehot(target)`` (w = 0.5 in the paper).
Several hybrid files (e.g. mix factors 0.5 and 0.75) form one pool.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from semtool.kinds import Hybrids
from semtool.errors import UserError


@dataclass
class HybridPool:
    """All hybrids of one or more files, labels mapped to the training classes.

    ``images`` (M, C, H, W) uint8; ``base``/``target`` (M,) training class indices;
    hybrids sorted by base class, class c owning rows ``start[c] : start[c] + count[c]``.
    """

    images: torch.Tensor
    base: torch.Tensor
    target: torch.Tensor
    start: torch.Tensor
    count: torch.Tensor

    def __len__(self) -> int:
        return int(self.base.shape[0])

    def to(self, device: torch.device) -> "HybridPool":
        return HybridPool(self.images.to(device), self.base.to(device), self.target.to(device),
                          self.start.to(device), self.count.to(device))

    def sample(self, labels: torch.Tensor, prob: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(instances (K,), hybrids (K,)): which instances of a batch drew which hybrid.

        Instance i of ``labels`` (B,) gets a hybrid with probability ``prob`` when its class
        has any; the hybrid is uniform among those with base class ``labels[i]``.
        """
        labels_cpu = labels.to("cpu")
        coin = torch.rand(labels_cpu.shape[0], generator=generator) < prob
        u = torch.rand(labels_cpu.shape[0], generator=generator)
        count = self.count.to("cpu")[labels_cpu]
        chosen = coin & (count > 0)
        pick = self.start.to("cpu")[labels_cpu] + torch.floor(u * count).long().clamp_max(torch.clamp(count - 1, min=0))
        return torch.nonzero(chosen).flatten(), pick[chosen]

    def targets(self, idx: torch.Tensor, num_classes: int, target_weight: float) -> torch.Tensor:
        """Soft targets (K, C): (1 − w) on the base class, w on the target class."""
        t = torch.zeros(idx.shape[0], num_classes, device=self.base.device)
        rows = torch.arange(idx.shape[0], device=self.base.device)
        t[rows, self.base[idx]] += 1.0 - target_weight
        t[rows, self.target[idx]] += target_weight
        return t


def load_hybrids(paths: Sequence[str | os.PathLike], classes: list[str], image_shape: tuple[int, int, int]) -> HybridPool:
    """Read ``hybrids`` files and map their class names onto the training ``classes``.

    ``image_shape`` is the training images' (H, W, C); hybrids must have the same. A
    class named by a hybrid (as base or target) but absent from training is a UserError.
    """
    index = {c: i for i, c in enumerate(classes)}
    imgs, bases, targets = [], [], []
    for p in paths:
        h = Hybrids.read(p)  # an unfinished generator file: only its finished rows
        if tuple(h.images.shape[1:]) != tuple(image_shape):
            raise UserError(f"{h.path}: hybrids of shape {tuple(h.images.shape[1:])}, training images are "
                            f"{tuple(image_shape)}")
        used = sorted({h.classes[i] for i in np.concatenate([h.base_labels, h.target_labels])})
        missing = [c for c in used if c not in index]
        if missing:
            raise UserError(f"{h.path}: hybrid classes not in the training classes: {', '.join(missing[:5])}"
                            + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""))
        remap = np.array([index.get(c, -1) for c in h.classes], dtype=np.int64)
        imgs.append(h.images)
        bases.append(remap[h.base_labels])
        targets.append(remap[h.target_labels])
    images = np.concatenate(imgs) if imgs else np.zeros((0,) + tuple(image_shape), np.uint8)
    base = np.concatenate(bases) if bases else np.zeros(0, np.int64)
    target = np.concatenate(targets) if targets else np.zeros(0, np.int64)
    order = np.argsort(base, kind="stable")
    count = np.bincount(base, minlength=len(classes))
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return HybridPool(torch.from_numpy(np.ascontiguousarray(images[order].transpose(0, 3, 1, 2))),
                      torch.from_numpy(base[order]), torch.from_numpy(target[order]),
                      torch.from_numpy(start.astype(np.int64)), torch.from_numpy(count.astype(np.int64)))
