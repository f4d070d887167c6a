"""Choosing the torch device from ``--device``: :func:`semtool._runtime.resolve_device`."""

from __future__ import annotations

from semtool._runtime import resolve_device

__all__ = ["resolve_device"]
