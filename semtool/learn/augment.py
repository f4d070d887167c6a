"""Batch augmentation on uint8 tensors: random crop with zero padding and horizontal flip.

The standard CIFAR recipe (pad 4, random 32×32 crop, flip with probability 1/2), applied
to a whole (B, C, H, W) batch on its device with one ``torch.Generator``: no per-item PIL.
"""

from __future__ import annotations

import torch


def random_crop_flip(batch: torch.Tensor, generator: torch.Generator, *, pad: int = 4, flip: bool = True) -> torch.Tensor:
    """Each image shifted by a random offset in [−pad, pad]² (zeros fill in), then flipped.

    ``generator`` lives on the CPU; offsets are drawn there (3 numbers per image) so that
    a seed gives the same augmentation on every device.
    """
    b, c, h, w = batch.shape
    if pad > 0:
        offs = torch.randint(0, 2 * pad + 1, (2, b), generator=generator).to(batch.device)
        padded = torch.nn.functional.pad(batch, (pad, pad, pad, pad))
        rows = offs[0][:, None] + torch.arange(h, device=batch.device)[None, :]  # (B, H)
        cols = offs[1][:, None] + torch.arange(w, device=batch.device)[None, :]  # (B, W)
        idx_b = torch.arange(b, device=batch.device)[:, None, None, None]
        idx_c = torch.arange(c, device=batch.device)[None, :, None, None]
        batch = padded[idx_b, idx_c, rows[:, None, :, None], cols[:, None, None, :]]
    if flip:
        mask = (torch.rand(b, generator=generator) < 0.5).to(batch.device)
        batch = torch.where(mask[:, None, None, None], batch.flip(-1), batch)
    return batch
