"""Soft-label cross-entropy for hybrid targets (Abreu, Vaska, Helus 2023)."""

from __future__ import annotations

import torch


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of −Σ_c t_c log softmax(z)_c.

    Parameters
    ----------
    logits : (B, C) raw scores z.
    targets : (B, C) probability vectors t (rows sum to 1); a one-hot row gives the usual
        cross-entropy, a hybrid's row is (1 − w)·onehot(base) + w·onehot(target).
    """
    return -(targets * torch.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B,) int -> (B, C) float32 one-hot targets."""
    return torch.nn.functional.one_hot(labels, num_classes).float()
