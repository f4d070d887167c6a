"""Atomic training checkpoints without arbitrary pickle.

A checkpoint is ``torch.save`` of a dict holding only tensors, numbers, strings, lists and
dicts (model, optimizer and scheduler state, the curves so far), read back with
``torch.load(weights_only=True)`` — torch's restricted unpickler, which refuses anything
else. It is written to a temporary file and renamed over the previous one, so a
``kill -9`` leaves either the old or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from semtool import store
from semtool.errors import UserError

FORMAT = "semtool-checkpoint-1"


def checkpoint_path(output: str | os.PathLike) -> Path:
    """``<folder>/.<model name>.ckpt``, beside the model file it will become."""
    out = Path(output)
    return out.parent / f".{out.name}.ckpt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with store.atomic_path(path, force=True, checkpoint=True) as tmp:  # replaced every epoch
        torch.save({"format": FORMAT, **state}, str(tmp))


def load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a foreign or damaged file
        raise UserError(f"{path}: not a readable semtool checkpoint ({type(exc).__name__}); use --force to start over") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"{path}: not a semtool checkpoint; use --force to start over")
    return state
