"""Choosing the torch device from ``--device`` (auto, cpu, cuda, cuda:1, mps)."""

from __future__ import annotations

import torch

from semtool.errors import UserError


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu; an unavailable device is a UserError."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise UserError(f"--device: expected cpu, cuda, cuda:N, mps or auto, got '{name}'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError("--device: cuda requested but no CUDA device is available (use --device cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"--device: {name} requested but only {torch.cuda.device_count()} CUDA devices exist")
    elif dev.type == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise UserError("--device: mps requested but not available")
    elif dev.type != "cpu":
        raise UserError(f"--device: unsupported device '{name}'")
    return dev
